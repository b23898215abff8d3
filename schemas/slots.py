"""The canonical slot syntax and its parser.

A template field is text with typed slots in braces:

=========================  ==================================================
``{person}``               the referent's filler (a name, a descriptor phrase)
``{person.subj}``          a pronoun case: subj, obj, poss, poss_pron, refl
``{person.plural}``        an attribute of the filler (``plural`` or a feature)
``{person:was}``           a verb agreeing with its subject: "they were", "Alex was"
``{person:boy/girl/kid}``  a word chosen by pronoun set (male/female/neutral)
``{a:person}``             the filler with "a"/"an" chosen by pronunciation
``{=person:he/she/they}``  ``=``: rendered verbatim, never capitalised
``{{`` ``}}``              literal braces
=========================  ==================================================

Every occurrence of one referent gets the same filler. A slot that opens a
sentence is rendered capitalised; templates never spell a slot twice.

>>> parsed = parse_slots("{person.subj} {person:was} late.", template_id="t-1", field="context")
>>> [(s.referent, s.kind, s.arg, s.capitalize) for s in parsed.slots]
[('person', 'pronoun', 'subj', True), ('person', 'verb', 'was', False)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cached_property, lru_cache
from typing import Union

from schemas.pronouns import PRONOUN_CASES

SLOT_KINDS = ("filler", "pronoun", "attr", "verb", "choice", "article")
BUILTIN_ATTRS = ("plural",)

_REF = r"[a-z][a-z0-9_]*"
_BODY = re.compile(
    rf"^(?:a:(?P<article>{_REF})"
    rf"|(?P<ref>{_REF})(?:\.(?P<attr>[a-z_][a-z0-9_]*)|:(?P<word>[A-Za-z'’\-]+(?:/[A-Za-z'’\- ]+)*))?)$"
)
# literal text after which a slot opens a sentence
_OPENERS = "\"'“‘(["
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+[\"'“‘(\[]*$")


class SlotError(ValueError):
    """A malformed template: names the template id and field, and what is wrong."""

    def __init__(self, template_id: str, field: str, message: str):
        self.template_id, self.field = template_id, field
        super().__init__(f"template {template_id}, field {field!r}: {message}")


@dataclass(frozen=True)
class Slot:
    referent: str
    kind: str  # one of SLOT_KINDS
    arg: str = ""  # pronoun case, attribute, verb, or "w1/w2/w3"
    capitalize: bool = False
    # verbs only: what their subject is: the pronoun ("they were"), the filler
    # itself ("Alex was", singular unless the entry is plural) or its plural form
    subject: str = ""

    @property
    def key(self) -> tuple[str, str, bool, str]:
        """What the rendered string depends on besides the filler."""
        return (self.kind, self.arg, self.capitalize, self.subject)


Piece = Union[str, Slot]


@dataclass(frozen=True)
class ParsedText:
    pieces: tuple[Piece, ...]

    @cached_property
    def slots(self) -> tuple[Slot, ...]:  # parsed texts are shared (``parse_slots`` caches them): kept once read
        return tuple(p for p in self.pieces if isinstance(p, Slot))


def _slot_from_body(body: str, template_id: str, field: str, capitalize: bool, extra_attrs) -> Slot:
    if body.startswith("="):  # {=person:he/she/they}: verbatim, never capitalised (exact re-creations)
        return _slot_from_body(body[1:], template_id, field, False, extra_attrs)
    m = _BODY.match(body.strip())
    if not m:
        raise SlotError(template_id, field, f"malformed slot {{{body}}}")
    if m["article"]:
        return Slot(m["article"], "article", "", capitalize)
    ref = m["ref"]
    if m["attr"]:
        attr = m["attr"]
        if attr in PRONOUN_CASES:
            return Slot(ref, "pronoun", attr, capitalize)
        builtin = PRONOUN_CASES + BUILTIN_ATTRS
        if attr in BUILTIN_ATTRS or (extra_attrs is None and not get_close_matches(attr, builtin, cutoff=0.75)) \
                or (extra_attrs is not None and attr in extra_attrs):
            # with the lexicon unknown (extra_attrs None) any feature name may follow; a near
            # miss of a built-in name is a typo caught now, not when the lexicon is loaded
            return Slot(ref, "attr", attr, capitalize)
        known = ", ".join(builtin + tuple(sorted(extra_attrs or ())))
        raise SlotError(template_id, field, f"unknown slot {{{body}}}: {attr!r} is not one of {known}")
    if m["word"]:
        word = m["word"]
        if "/" in word:
            if len(word.split("/")) != 3:
                raise SlotError(template_id, field, f"choice slot {{{body}}} needs male/female/neutral words")
            return Slot(ref, "choice", word, capitalize)
        return Slot(ref, "verb", word, capitalize)
    return Slot(ref, "filler", "", capitalize)


def _verb_subject(pieces: list, referent: str) -> str:
    """The nearest earlier slot of the same referent decides what the verb agrees with."""
    for piece in reversed(pieces):
        if isinstance(piece, Slot) and piece.referent == referent:
            if piece.kind == "pronoun" and piece.arg == "subj":
                return "pronoun"
            if piece.kind == "attr" and piece.arg == "plural":
                return "plural"
            if piece.kind in ("filler", "article"):
                return "filler"
    return "pronoun"


@lru_cache(maxsize=65536)
def _parse_cached(text: str, template_id: str, field: str, extra_attrs: frozenset | None) -> ParsedText:
    pieces: list[Piece] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            buf.append("{")
            i += 2
        elif ch == "}" and text.startswith("}}", i):
            buf.append("}")
            i += 2
        elif ch == "}":
            raise SlotError(template_id, field, f"unbalanced '}}' at character {i}")
        elif ch == "{":
            end = text.find("}", i + 1)
            nested = text.find("{", i + 1)
            if end < 0 or (0 <= nested < end):
                raise SlotError(template_id, field, f"unbalanced '{{' at character {i}")
            literal = "".join(buf)
            # a slot opens a sentence at the field start or after a sentence end
            at_start = _SENTENCE_END.search(literal) is not None or (
                not pieces and not literal.strip(_OPENERS + " "))
            if literal:
                pieces.append(literal)
            buf = []
            slot = _slot_from_body(text[i + 1:end], template_id, field, at_start, extra_attrs)
            if slot.kind == "verb":
                slot = Slot(slot.referent, "verb", slot.arg, slot.capitalize, _verb_subject(pieces, slot.referent))
            pieces.append(slot)
            i = end + 1
        else:
            buf.append(ch)
            i += 1
    if buf:
        pieces.append("".join(buf))
    return ParsedText(tuple(_bind_inverted_verbs(pieces)))


def _bind_inverted_verbs(pieces: list) -> list:
    """In a question the subject follows its verb ("Is she …?"): a verb slot directly
    before ``{ref.subj}`` agrees with that pronoun ("Are they …?")."""
    out = list(pieces)
    for i, piece in enumerate(out):
        if not (isinstance(piece, Slot) and piece.kind == "verb"):
            continue
        j = i + 1
        if j < len(out) and isinstance(out[j], str) and not out[j].strip():
            j += 1
        nxt = out[j] if j < len(out) else None
        if isinstance(nxt, Slot) and nxt.referent == piece.referent and nxt.kind == "pronoun" and nxt.arg == "subj":
            out[i] = Slot(piece.referent, "verb", piece.arg, piece.capitalize, "pronoun")
    return out


def parse_slots(text: str, *, template_id: str = "?", field: str = "?", extra_attrs=None) -> ParsedText:
    """Parse one field; raise :class:`SlotError` on an unknown slot or unbalanced brace.

    ``extra_attrs`` are the lexicon feature names a ``{ref.attr}`` slot may use. Left
    None (the lexicon not known yet), any name is accepted except a near miss of a
    built-in one (``{person.subjj}``); the expansion stage checks again with the
    lexicon's features.
    """
    return _parse_cached(text, template_id, field, None if extra_attrs is None else frozenset(extra_attrs))
