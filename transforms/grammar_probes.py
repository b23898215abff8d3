"""Probe sentences for the grammar check: each template rendered once per kind of filler, not per row.

What the grammar of a rendered row depends on, beyond its template, is a
few facts about each filler: its pronoun set (verb agreement: "they
listen"), whether it is a plural noun phrase, which article a word before it
takes (``schemas.articles``) and whether its own text holds an article that
does not match the next word ("a F2M person"). Those facts are the filler's
*class* (``entry_class``). A release's rows are grouped by template × the
class of each referent's filler; each group is one :class:`Probe`: the
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
from transforms.expand import LexiconContext, bind_referents, block_selection, filler_where
from transforms.grammar import with_article
from transforms.render import LexiconColumns, render_text

_ARTICLE_PAIR = re.compile(r"(?:^|(?<=\s))([Aa]n?)\s+[\"'“‘(\[]*([A-Za-z0-9][^\s]*)")


@dataclass
class Probe:
    """One template field rendered for one class of fillers, and the rows that read the same way."""

    template_id: str
    field: str
    classes: tuple[str, ...]  # per referent, in the template's referent order
    text: str
    rows: dict[str, int] = field(default_factory=dict)  # config -> rows of this template × class


def article_mismatches(text: str, overrides: Mapping[str, str] | None = None) -> list[str]:
    """The "a X"/"an X" pairs of ``text`` whose article is not the one X takes."""
    return [f"{m.group(1)} {m.group(2)}" for m in _ARTICLE_PAIR.finditer(text)
            if indefinite_article(m.group(2), overrides) != m.group(1).lower()]


def entry_class(entry: LexiconEntry, overrides: Mapping[str, str] | None = None) -> str:
    """The facts about a filler the grammar of a row depends on, as a label ("they/an", "she/a/a F2M")."""
    parts = [entry.pronoun_set, indefinite_article(entry.value, overrides)]
    if entry.features.get("number") == "plural":
        parts.append("plural")
    own = {entry.value, entry.plural or "", with_article(entry.value, overrides, entry.article)}
    parts += sorted({pair for text in own for pair in article_mismatches(text, overrides)})
    return "/".join(parts)


class _Classes:
    """Per LexiconColumns, each entry's class as a small integer code, computed once."""

    def __init__(self, overrides: Mapping[str, str] | None):
        self.overrides = overrides
        self.labels: list[str] = []
        self._code: dict[str, int] = {}
        self._columns: dict[int, tuple[LexiconColumns, np.ndarray]] = {}

    def codes(self, columns: LexiconColumns) -> np.ndarray:
        got = self._columns.get(id(columns))
        if got is None:
            codes = np.fromiter((self._intern(entry_class(e, self.overrides)) for e in columns.entries),
                                dtype=np.int64, count=len(columns.entries))
            got = self._columns[id(columns)] = (columns, codes)  # the columns kept alive: ids stay unique
        return got[1]

    def _intern(self, label: str) -> int:
        code = self._code.get(label)
        if code is None:
            code = self._code[label] = len(self.labels)
            self.labels.append(label)
        return code


def grammar_probes(tasks: Sequence, ctx: LexiconContext) -> list[Probe]:
    """The probes of a planned release (``transforms.plan.plan_release``'s shard tasks), in template order
    of first appearance, then class order; one per template text field × filler classes."""
    classes = _Classes(ctx.article_overrides)
    groups: dict[tuple[str, tuple[int, ...]], list] = {}  # (template, class codes) -> [template, bindings, rows]
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
            row_codes = np.stack([classes.codes(bound[r][0])[bound[r][1]] for r in refs], axis=1)
            distinct, first, counts = np.unique(row_codes, axis=0, return_index=True, return_counts=True)
            for codes, i, n in zip(distinct, first, counts):
                key = (template.template_id, tuple(int(c) for c in codes))
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
