"""Where sentences start in a text, and which of them start in lower case.

A sentence starts at the text's start and after ". ", "! " or "? " (closing
quotes or brackets may follow the stop, opening ones precede the first
word); a full stop that ends an abbreviation ("e.g.", "Mr.", "U.S.") does
not end a sentence. Shared by the CALM importer, which capitalises such
starts, and the grammar check, which flags them.

>>> lowercase_sentence_starts("what? it rained. e.g. this. (so) Fine.")
[0, 6, 17, 29]
"""

from __future__ import annotations

import re

_START = re.compile(r"(?:^|(?<=[.!?])[\"'”’)\]]*\s+)[\"'“‘(\[]*(?=\S)")
_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:(?:[A-Za-z]\.){1,3}|(?:Mr|Mrs|Ms|Mx|Dr|St|Jr|Sr|Prof|etc|vs|No|Inc|Ltd|Co|approx)\.)$")


def lowercase_sentence_starts(text: str) -> list[int]:
    """Offsets of the first letter of every sentence that starts with a lower-case letter."""
    out = []
    for m in _START.finditer(text):
        start = m.end()
        after_abbreviation = m.start() > 0 and _ABBREVIATION.search(text[:m.start()]) is not None
        if start < len(text) and text[start].islower() and not after_abbreviation:
            out.append(start)
    return out
