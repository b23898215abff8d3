"""The lexicons as expansion reads them: entries by (lexicon, axis, group), Arrow columns per group.

Planning asks how many entries a group has (and which, under a template's
``filler_where``); rendering asks for the group's Arrow columns. One context
serves both, so its look-ups are made once and travel with the shard tasks.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping, Sequence

from schemas.errors import SpecError
from schemas.records import LexiconEntry, Template
from transforms.render import LexiconColumns


class LexiconContext:
    """Lexicon entries grouped for expansion, with Arrow renderings cached per group.

    Entries of a (lexicon, axis, group) keep their lexicon file order: that order
    is what ``take N, never sampled`` and sequential sampling index into.
    """

    def __init__(self, lexicons: Mapping[str, Sequence[LexiconEntry]], article_overrides=None):
        self.lexicons = {name: list(entries) for name, entries in lexicons.items()}
        self.article_overrides = dict(article_overrides or {})
        # caches, filled on first use; planning fills the entry look-ups, rendering the Arrow columns, and
        # the shard workers receive both with the context (so the planner's work is not repeated there)
        self._groups: dict[tuple, LexiconColumns] = {}  # (lexicon, axis, group, where) -> rendered columns
        self._entries: dict[tuple, list[LexiconEntry]] = {}  # (lexicon, axis, group, where) -> entries
        self._by_key: dict[str, dict[tuple, list[LexiconEntry]]] = {}  # lexicon -> _index
        self._feature_names: dict[str, frozenset[str]] = {}  # lexicon -> feature names of its entries
        self._checked_where: set[tuple[str, str]] = set()  # (lexicon, filler_where) found to name real values
        self.run_unions: dict[tuple, object] = {}  # (lexicon, axis, groups, where) -> transforms.runs._Union
        self.pairings: dict[tuple, object] = {}  # (lexicon, names lexicon, seed) -> a four-way design's pairing

    def group(self, lexicon: str, axis: str | None, group: str | None, where: str = "") -> LexiconColumns:
        key = (lexicon, axis, group, where)
        cols = self._groups.get(key)
        if cols is None:  # may be empty under a ``filler_where``: the block is then skipped
            cols = LexiconColumns(self.entries(lexicon, axis, group, where), self.article_overrides)
            self._groups[key] = cols
        return cols

    def entries(self, lexicon: str, axis: str | None, group: str | None, where: str = "") -> list[LexiconEntry]:
        """The group's entries in lexicon order; with ``where`` (a template's ``filler_where``), those matching it.

        Planning needs only these (how many fillers a block has); the Arrow columns of a group
        (``group``) are built when a block of it is rendered.
        """
        cache = self._entries
        key = (lexicon, axis, group, where)
        out = cache.get(key)
        if out is None:
            if where:
                conditions = parse_filler_where(where)
                out = [e for e in self.entries(lexicon, axis, group) if entry_matches(e, conditions)]
            else:
                if lexicon not in self.lexicons:
                    raise KeyError(f"lexicon {lexicon!r} is not loaded")
                out = self._index(lexicon).get((axis, group), [])
                if not out:
                    what = f"axis {axis!r}, group {group!r}" if group is not None else "any group"
                    raise ValueError(f"lexicon {lexicon!r} has no entries for {what}")
            cache[key] = out
        return out

    def _index(self, lexicon: str) -> dict[tuple, list[LexiconEntry]]:
        """Entries of a lexicon by (axis, group), (axis, None), (None, group), (None, None); file order kept.

        Built in one pass per lexicon, so looking up G groups costs O(entries), not O(G x entries).
        """
        cache = self._by_key
        index = cache.get(lexicon)
        if index is None:
            index = {}
            for e in self.lexicons[lexicon]:
                for key in ((e.axis, e.group), (e.axis, None), (None, e.group), (None, None)):
                    index.setdefault(key, []).append(e)
            cache[lexicon] = index
        return index

    def check_filler_where(self, lexicon: str, where: str, template_id: str) -> None:
        """Refuse a ``filler_where`` naming a feature no entry of ``lexicon`` has, or a value none has:
        a typo (``kind=nounn``) would otherwise leave the template with no filler and the config short."""
        if (lexicon, where) in self._checked_where:
            return
        entries = self.lexicons.get(lexicon, ())
        for name, _negate, values in parse_filler_where(where):
            present = {str(e.features[name]) if name in e.features else str(getattr(e, name))
                       for e in entries if name in e.features or hasattr(e, name)}
            where_key = f"template {template_id}: metadata key '{FILLER_WHERE}' ({where!r})"
            if not present:
                raise SpecError(f"{where_key}: no entry of lexicon {lexicon!r} has a feature {name!r}")
            unknown = sorted(values - present)
            if unknown:
                shown = ", ".join(sorted(present)[:8]) + (" …" if len(present) > 8 else "")
                raise SpecError(f"{where_key}: no entry of lexicon {lexicon!r} has {name}={unknown[0]!r} "
                                f"(its values: {shown})")
        self._checked_where.add((lexicon, where))

    def feature_names(self, lexicon: str) -> set[str]:
        cache = self._feature_names  # once per lexicon, not once per template
        if lexicon not in cache:
            cache[lexicon] = frozenset(k for e in self.lexicons.get(lexicon, ()) for k in e.features)
        return set(cache[lexicon])


#: Template metadata restricting which entries of a group may fill the template, e.g.
#: ``noun!=(none)`` or ``noun_phrase_type=descriptor_noun|noun; preference!=dispreferred``:
#: conditions separated by ";", each ``feature=v1|v2`` (one of) or ``feature!=v1|v2`` (none of),
#: on an entry's features or its own fields (pronoun_set, preference, country …).
FILLER_WHERE = "filler_where"


def filler_where(template: Template) -> str:
    return template.metadata.get(FILLER_WHERE, "") if template.metadata else ""


@lru_cache(maxsize=1024)
def parse_filler_where(where: str) -> tuple[tuple[str, bool, frozenset], ...]:
    out = []
    for cond in filter(None, (c.strip() for c in where.split(";"))):
        negate = "!=" in cond
        name, _, values = cond.partition("!=" if negate else "=")
        if not name.strip() or not _:
            raise ValueError(f"{FILLER_WHERE} {where!r}: condition {cond!r} is not feature=v1|v2 or feature!=v1|v2")
        out.append((name.strip(), negate, frozenset(v.strip() for v in values.split("|"))))
    return tuple(out)


def entry_matches(entry: LexiconEntry, conditions) -> bool:
    for name, negate, values in conditions:
        value = entry.features.get(name) if name in entry.features else getattr(entry, name, "")
        if (str(value) in values) == negate:
            return False
    return True
