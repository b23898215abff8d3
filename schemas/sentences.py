"""Where sentences start in a text, and which of them start in lower case.

A sentence starts at the text's start and after ". ", "! " or "? " (closing
quotes or brackets may follow the stop, opening ones precede the first
word); a full stop that ends an abbreviation ("e.g.", "Mr.", "U.S.") does
not end a sentence. Shared by the CALM importer, which capitalises such
starts, the grammar check, which flags them, and the four-way probes, which
cut template fields into sentences at them.

>>> lowercase_sentence_starts("what? it rained. e.g. this. (so) Fine.")
[0, 6, 17, 29]
"""

from __future__ import annotations

import re

_START = re.compile(r"(?:^|(?<=[.!?])[\"'”’)\]]*\s+)[\"'“‘(\[]*(?=\S)")
_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:(?:[A-Za-z]\.){1,3}|(?:Mr|Mrs|Ms|Mx|Dr|St|Jr|Sr|Prof|etc|vs|No|Inc|Ltd|Co|approx)\.)$")


def sentence_starts(text: str) -> list[tuple[int, int]]:
    """(offset of the sentence, offset of its first letter) of every sentence: the sentence begins with
    its opening quotes or brackets, after the whitespace that ends the one before."""
    out = []
    for m in _START.finditer(text):
        start = m.end()
        if start < len(text) and not (m.start() > 0 and _ABBREVIATION.search(text[:m.start()]) is not None):
            lead = m.group(0)
            out.append((m.start() + len(lead) - len(lead.lstrip()), start))
    return out


def lowercase_sentence_starts(text: str) -> list[int]:
    """Offsets of the first letter of every sentence that starts with a lower-case letter."""
    return [start for _, start in sentence_starts(text) if text[start].islower()]
