"""Rendering slots: one scalar function, and its Arrow-vectorised twin.

``render_slot`` is the single source of truth for what a slot becomes for one
lexicon entry. Vectorised rendering precomputes it once per (slot, lexicon
entry) — lexicons are small — and then builds whole columns with ``take`` and
``binary_join_element_wise``, so rendering a block of rows costs a few Arrow
kernel calls instead of a Python loop per row.

>>> from schemas.records import LexiconEntry
>>> alex = LexiconEntry("names", "gender", "non-binary", "Alex", pronoun_set="they")
>>> render_text("{person.subj} {person:was} sure {person} {person:has} it.", {"person": alex})
'They were sure Alex has it.'
"""

from __future__ import annotations

from functools import cached_property
from typing import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from schemas.pronouns import PRONOUN_SETS
from schemas.records import LexiconEntry
from schemas.slots import ParsedText, Slot, SlotError, parse_slots
from schemas.grammar import agree_verb, capitalize_first, with_article


def pronoun_set_of(entry: LexiconEntry):
    try:
        return PRONOUN_SETS[entry.pronoun_set]
    except KeyError:
        raise KeyError(f"lexicon {entry.lexicon!r} entry {entry.value!r}: unknown pronoun set "
                       f"{entry.pronoun_set!r}; known: {sorted(PRONOUN_SETS)}") from None


def render_slot(slot: Slot, entry: LexiconEntry, article_overrides: Mapping[str, str] | None = None) -> str:
    """What ``slot`` renders to when its referent is filled by ``entry``."""
    kind = slot.kind
    if kind == "filler":
        text = entry.value
    elif kind == "article":
        text = with_article(entry.value, article_overrides, entry.article)
    elif kind == "pronoun":
        text = pronoun_set_of(entry).case(slot.arg)
    elif kind == "verb":
        plural_entry = entry.features.get("number") == "plural"
        if slot.subject == "plural":
            plural = True
        elif slot.subject == "filler":
            plural = plural_entry
        else:
            plural = pronoun_set_of(entry).plural_verbs or plural_entry
        text = agree_verb(slot.arg, plural=plural)
    elif kind == "choice":
        text = slot.arg.split("/")[pronoun_set_of(entry).choice_index]
    elif kind == "attr":
        if slot.arg == "plural":
            text = entry.plural or entry.value
        elif slot.arg in entry.features:
            text = entry.features[slot.arg]
        else:
            raise KeyError(f"lexicon {entry.lexicon!r} entry {entry.value!r} has no feature {slot.arg!r}")
    else:  # pragma: no cover - the parser only makes the kinds above
        raise ValueError(f"unknown slot kind {kind!r}")
    return capitalize_first(text) if slot.capitalize else text


def render_parsed(parsed: ParsedText, bindings: Mapping[str, LexiconEntry],
                  article_overrides: Mapping[str, str] | None = None) -> str:
    out = []
    for piece in parsed.pieces:
        if isinstance(piece, str):
            out.append(piece)
        else:
            out.append(render_slot(piece, bindings[piece.referent], article_overrides))
    return "".join(out)


def render_text(text: str, bindings: Mapping[str, LexiconEntry], *, template_id: str = "?",
                field: str = "?", article_overrides: Mapping[str, str] | None = None) -> str:
    """Render one field for one binding of referents to entries (the scalar path)."""
    parsed = parse_slots(text, template_id=template_id, field=field)
    for slot in parsed.slots:
        if slot.referent not in bindings:
            raise SlotError(template_id, field, f"referent {slot.referent!r} is not filled")
    return render_parsed(parsed, bindings, article_overrides)


class LexiconColumns:
    """A lexicon's entries with every slot rendering cached as an Arrow column.

    ``column(slot)`` has one string per entry, aligned with ``entries``.
    """

    def __init__(self, entries: Sequence[LexiconEntry], article_overrides: Mapping[str, str] | None = None):
        self.entries = list(entries)
        self.article_overrides = dict(article_overrides or {})
        self._cache: dict[tuple, pa.Array] = {}

    # built when first read: the grammar check's probes read a group's entries only (175 groups of
    # HolisticBias's, in the gate's process)
    @cached_property
    def values(self) -> pa.Array:
        return pa.array([e.value for e in self.entries], pa.string())

    @cached_property
    def entry_ids(self) -> pa.Array:
        return pa.array([e.entry_id for e in self.entries], pa.string())

    def feature_column(self, name: str) -> pa.Array:
        key = ("feature", name)
        if key not in self._cache:
            self._cache[key] = pa.array([e.features.get(name, "") for e in self.entries], pa.string())
        return self._cache[key]

    def column(self, slot: Slot) -> pa.Array:
        key = slot.key
        col = self._cache.get(key)
        if col is None:
            col = pa.array([render_slot(slot, e, self.article_overrides) for e in self.entries], pa.string())
            self._cache[key] = col
        return col


def render_column(parsed: ParsedText, indices: Mapping[str, pa.Array | None],
                  columns: Mapping[str, LexiconColumns], length: int) -> pa.Array:
    """Render one field for ``length`` rows at once.

    ``indices[ref]`` holds, per row, the position of the referent's entry in
    ``columns[ref].entries``; ``None`` means row i is entry i (every entry, in order).
    """
    parts: list = []
    for piece in parsed.pieces:
        if isinstance(piece, str):
            parts.append(piece)
        else:
            idx = indices[piece.referent]
            col = columns[piece.referent].column(piece)
            parts.append(col if idx is None else col.take(idx))
    if not any(isinstance(p, pa.Array) for p in parts):
        return pa.repeat(pa.scalar("".join(parts), pa.string()), length)
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "")
