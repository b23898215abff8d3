"""Probe sentences for the grammar check: each template rendered once per kind of filler, not per row.

What the grammar of a rendered row depends on, beyond its template, is a
few facts about each filler: its pronoun set (verb agreement: "they
listen"), whether it is a plural noun phrase, which article a word before it
takes (``schemas.articles``) and whether its own text holds an article that
does not match the next word ("a F2M person"). Those facts are the filler's
*class* (``entry_class``), less what a template cannot show: the pronoun
set where the referent has no pronoun, verb or choice slot, the article
where no "a"/"an" precedes the filler. A release's rows are grouped by
template × the class of each referent's filler; each group is one :class:`Probe`: the
template's text fields rendered with the first row's fillers, and how many
rows of each config the group holds. The parser then reads a few probes per
template (``pipelines.grammar``), and a defect found in a probe is counted
against every row of its group.

Fillers are chosen exactly as the shards choose them (``block_selection``,
``bind_referents``), so the counts are the release's rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from schemas.articles import indefinite_article
from schemas.records import TASK_FIELDS, LexiconEntry
from schemas.slots import parse_slots
from transforms.plan import block_selection
from transforms.lexicon_context import LexiconContext, filler_where
from transforms.expand import bind_referents
from transforms.render import LexiconColumns, render_text

_ARTICLE_BEFORE = re.compile(r"(?:^|\s)[Aa]n?\s+$")
_BASE = 1 << 20  # class codes per referent: 3 referents fit in an int64
_FIRST_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
_ARTICLE_PAIR = re.compile(r"(?:^|(?<=\s))([Aa]n?)\s+[\"'“‘(\[]*([A-Za-z0-9][^\s]*)")


@dataclass
class Probe:
    """One template field rendered for one class of fillers, and the rows that read the same way."""

    template_id: str
    field: str
    classes: tuple[str, ...]  # per referent, in the template's referent order
    text: str
    rows: dict[str, int] = field(default_factory=dict)  # config -> rows of this template × class showing the text
    # config -> rows this probe adds to the rows checked (None: ``rows``, once per template × classes)
    group_rows: dict[str, int] | None = None


def article_mismatches(text: str, overrides: Mapping[str, str] | None = None, article_of=None) -> list[str]:
    """The "a X"/"an X" pairs of ``text`` whose article is not the one X takes."""
    article_of = article_of or (lambda word: indefinite_article(word, overrides))
    return [f"{m.group(1)} {m.group(2)}" for m in _ARTICLE_PAIR.finditer(text)
            if article_of(m.group(2)) != m.group(1).lower()]


def entry_class(entry: LexiconEntry, overrides: Mapping[str, str] | None = None, article_of=None) -> str:
    """The facts about a filler the grammar of a row depends on, as a label ("they/an", "she/a/a F2M").

    ``article_of(word)``: ``indefinite_article`` with the overrides, memoised by the caller if it likes.
    """
    article_of = article_of or (lambda word: indefinite_article(word, overrides))
    first = _FIRST_WORD.search(entry.value)
    lead = article_of(first.group(0)) if first else "a"  # what with_article would write
    parts = [entry.pronoun_set, lead]
    if entry.features.get("number") == "plural":
        parts.append("plural")
    own = {entry.value, entry.plural or "", f"{entry.article or lead} {entry.value}"}
    parts += sorted({pair for text in own for pair in article_mismatches(text, overrides, article_of)})
    return "/".join(parts)


class _Classes:
    """Each entry's class as a small integer code, computed once per entry (groups share entries)."""

    def __init__(self, overrides: Mapping[str, str] | None):
        self.overrides = overrides
        self.labels: list[str] = []
        self._code: dict[str, int] = {}
        self._entry: dict[int, tuple[LexiconEntry, int]] = {}
        self._columns: dict[int, tuple[LexiconColumns, np.ndarray]] = {}
        self._articles: dict[str, str] = {}
        self._projections: dict[tuple[bool, bool], list[int]] = {}

    def _article_of(self, word: str) -> str:
        got = self._articles.get(word)
        if got is None:
            got = self._articles[word] = indefinite_article(word, self.overrides)
        return got

    def codes(self, columns: LexiconColumns) -> np.ndarray:
        got = self._columns.get(id(columns))
        if got is None:
            codes = np.fromiter((self._entry_code(e) for e in columns.entries), dtype=np.int64,
                                count=len(columns.entries))
            got = self._columns[id(columns)] = (columns, codes)  # the columns kept alive: ids stay unique
        return got[1]

    def _entry_code(self, entry: LexiconEntry) -> int:
        got = self._entry.get(id(entry))
        if got is None:
            label = entry_class(entry, self.overrides, self._article_of)
            got = self._entry[id(entry)] = (entry, self._intern(label))  # the entry kept alive: ids stay unique
        return got[1]

    def project(self, codes: np.ndarray, uses: tuple[bool, bool]) -> np.ndarray:
        """Codes of the classes with the parts a template cannot show replaced by "*": the pronoun set when
        it has no pronoun, verb or choice slot for the referent, the article when nothing precedes the filler."""
        if all(uses):
            return codes
        table = self._projections.setdefault(uses, [])
        for label in self.labels[len(table):]:
            parts = label.split("/")
            parts[0] = parts[0] if uses[0] else "*"
            parts[1] = parts[1] if uses[1] else "*"
            table.append(self._intern("/".join(parts)))
        return np.asarray(table, dtype=np.int64)[codes]

    def _intern(self, label: str) -> int:
        code = self._code.get(label)
        if code is None:
            code = self._code[label] = len(self.labels)
            self.labels.append(label)
        return code


def _uses(template) -> dict[str, tuple[bool, bool]]:
    """Per referent: whether its pronoun set shows (pronoun, verb or choice slots), and whether the article
    a word before it takes shows (an article slot, or "a"/"an" written just before the filler)."""
    out: dict[str, list[bool]] = {}
    for name in TASK_FIELDS[template.task]:
        before = ""
        for piece in parse_slots(template.fields[name], template_id=template.template_id, field=name).pieces:
            if isinstance(piece, str):
                before = piece
                continue
            flags = out.setdefault(piece.referent, [False, False])
            flags[0] |= piece.kind in ("pronoun", "verb", "choice")
            flags[1] |= piece.kind == "article" or (piece.kind in ("filler", "attr")
                                                    and _ARTICLE_BEFORE.search(before) is not None)
            before = ""
    return {ref: (flags[0], flags[1]) for ref, flags in out.items()}


def grammar_probes(tasks: Sequence, ctx: LexiconContext) -> list[Probe]:
    """The probes of a planned release (``transforms.plan.plan_release``'s shard tasks), in template order
    of first appearance, then class order; one per template text field × filler classes."""
    classes = _Classes(ctx.article_overrides)
    groups: dict[tuple[str, tuple[int, ...]], list] = {}  # (template, class codes) -> [template, bindings, rows]
    uses: dict[str, dict[str, tuple[bool, bool]]] = {}
    for task in tasks:
        layout = task.layout
        for block in task.blocks:
            template = block.template
            primary = ctx.group(layout.lexicon, layout.axis, block.lexicon_group, filler_where(template))
            if not primary.entries:
                continue
            selection = np.asarray(block_selection(block, task.strategy, task.seed, len(primary.entries)),
                                   dtype=np.int64)
            if len(selection) == 0:
                continue
            bound = bind_referents(template, layout, ctx, primary, selection, block.group)
            refs = list(template.referents)
            shows = uses.get(template.template_id)
            if shows is None:
                shows = uses[template.template_id] = _uses(template)
            row_codes = [classes.project(classes.codes(bound[r][0]), shows.get(r, (True, True)))[bound[r][1]]
                         for r in refs]
            combined = row_codes[0]
            for more in row_codes[1:]:  # one integer per row: class codes are far below the base
                combined = combined * _BASE + more
            _, first, counts = np.unique(combined, return_index=True, return_counts=True)
            for i, n in zip(first, counts):
                key = (template.template_id, tuple(int(c[i]) for c in row_codes))
                group = groups.get(key)
                if group is None:
                    bindings = {r: bound[r][0].entries[int(bound[r][1][i])] for r in refs}
                    group = groups[key] = [template, bindings, {}]
                group[2][layout.name] = group[2].get(layout.name, 0) + int(n)
    probes = []
    for (template_id, codes), (template, bindings, rows) in groups.items():
        labels = tuple(classes.labels[c] for c in codes)
        for name in TASK_FIELDS[template.task]:
            text = render_text(template.fields[name], bindings, template_id=template_id, field=name,
                               article_overrides=ctx.article_overrides)
            probes.append(Probe(template_id, name, labels, text, dict(rows)))
    return probes
