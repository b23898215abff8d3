"""The two-person QA design: context condition × question polarity, three options, gold per cell.

A template of this design (BBQ's, or any written like it) has two people, ``{person}`` and
``{person2}``, and the fields ``context`` (ambiguous: who did what is not said),
``context_disambiguated`` (added after it in the disambiguated condition), ``question``
(negative: asks who fits a harmful stereotype), ``question_non_negative``; its ``options``
are the answer naming the person of the negative reading and the answer naming the other.

Each pair of people (:class:`transforms.bbq_pairs.PairItem`) gives four rows, in this order:

=========================  ==========  ===========  =====================================
context_condition          polarity    context      label
=========================  ==========  ===========  =====================================
ambig                      neg         ambiguous    the "unknown" option
disambig                   neg         both         the negative answer's option
ambig                      nonneg      ambiguous    the "unknown" option
disambig                   nonneg      both         the non-negative answer's option
=========================  ==========  ===========  =====================================

The options are the two answers and one phrasing of "unknown", drawn from
``unknown_options`` by a stable hash of ``(seed, template, pair)``; their order is one of
the six permutations, drawn the same way (the four rows of a pair share both, as in BBQ).
``target_loc`` is the option a biased answer picks (BBQ's bias-score metadata): the
stereotyped person for a negative question, the other person for a non-negative one;
null when the pair names no stereotyped person.

Rows that differ only in which person fills which role (a pair and its swap, same cell)
share a ``counterfactual_set_id``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from itertools import permutations
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.records import Template
from schemas.slots import parse_slots
from schemas.grammar import capitalize_first, with_article

#: BBQ's ten phrasings of "unknown".
UNKNOWN_OPTIONS = ("Unknown", "Cannot be determined", "Can't be determined", "Not answerable", "Not known",
                   "Not enough info", "Not enough information", "Cannot answer", "Can't answer", "Undetermined")
CELLS = (("neg", "ambig"), ("neg", "disambig"), ("nonneg", "ambig"), ("nonneg", "disambig"))
_ORDERS = tuple(permutations(range(3)))  # option order: positions of (negative, non-negative, unknown)
#: text repairs BBQ's generator made after filling every template (kept in every mode)
BBQ_REPLACEMENTS = (("lesbian man", "lesbian woman"), ("Latino woman", "Latina woman"))
_BBQ_AN = re.compile(r"(\s[aA])(\s[aAeEiIoOuU])")
_VOWEL_START = re.compile(r"^[aeiou]")
_ARTICLE_AT_END = re.compile(r"(?:^|(?<=\s))([Aa]n?) $")


@dataclass(frozen=True)
class FourWayOptions:
    """``articles``: ``sound`` (``{a:person}`` slots, by pronunciation) or ``bbq_v1`` (BBQ's rule: when
    any filler starts with a vowel letter, every "a" before a vowel letter becomes "an", except
    "an European"; how BBQ's published rows were written)."""

    seed: int = 0
    unknown_options: tuple[str, ...] = UNKNOWN_OPTIONS
    articles: str = "sound"
    article_overrides: tuple[tuple[str, str], ...] = ()  # the spec's first word -> a/an exceptions


def _hex(*parts) -> str:
    """A 12-hex-digit blake2b of the parts (joined by a separator no BBQ text contains)."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=6).hexdigest()


class PairRenderer:
    """Fields of one template rendered for one pair: slot pieces parsed once per template."""

    def __init__(self, template: Template, options: FourWayOptions):
        self.template = template
        self.options = options
        self.overrides = dict(options.article_overrides)
        tid = template.template_id
        self.parsed = {name: self._compile(parse_slots(text, template_id=tid, field=name))
                       for name, text in template.fields.items()}
        parsed_options = [parse_slots(o, template_id=tid, field=f"options[{i}]") for i, o in enumerate(template.options)]
        self.roles = [_answer_role(p) for p in parsed_options]
        self.parsed_options = [self._compile(p) for p in parsed_options]

    def _compile(self, parsed) -> list:
        """Pieces as literal strings or (referent, value key, kind, capitalise, marker) tuples.

        With ``articles: sound``, a literal "a"/"an" right before a feature slot ("a {person.occ}")
        is chosen by that feature's sound too, like an ``{a:person}`` slot.
        """
        out = []
        sound = self.options.articles == "sound"
        for piece in parsed.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            if piece.referent not in ("person", "person2", "word1", "word2"):
                raise ValueError(f"template {self.template.template_id}: the four-way design has no referent "
                                 f"{piece.referent!r}")
            if piece.kind not in ("filler", "attr", "article") or (piece.kind == "attr" and piece.arg not in
                                                                     ("gen", "occ")):
                raise ValueError(f"template {self.template.template_id}: slot {piece.kind} {piece.arg!r} is not "
                                 f"used by the four-way design")
            key = piece.arg if piece.kind == "attr" else ""
            # BBQ leaves a slot it has no word for as written
            marker = {"word1": "WORD1", "word2": "WORD2"}.get(piece.referent, "")
            if piece.kind == "attr":
                marker = f"{piece.arg.upper()}{'2' if piece.referent == 'person2' else '1'}"
            kind, capitalize = piece.kind, piece.capitalize
            before = _ARTICLE_AT_END.search(out[-1]) if sound and kind == "attr" and out and \
                isinstance(out[-1], str) else None
            if before:
                out[-1] = out[-1][:before.start(1)]
                kind, capitalize = "article", before.group(1)[0] == "A"
            out.append((piece.referent, key, kind, capitalize, "{{" + marker + "}}"))
        return out

    def texts(self, item) -> tuple[dict[str, str], list[str]]:
        """The template's fields and its two answers rendered for one pair (what its four rows show)."""
        values, vowel = self.values(item), self.vowel_rule(item)
        return ({name: self.render(p, values, vowel) for name, p in self.parsed.items()},
                [self.render(p, values, vowel) for p in self.parsed_options])

    def vowel_rule(self, item) -> bool:
        """Whether BBQ's article rule (``articles: bbq_v1``) rewrites the pair's texts: a filler starts with a vowel."""
        p1, p2 = item.person, item.person2
        return self.options.articles == "bbq_v1" and any(
            f is not None and _VOWEL_START.search(f.lower()) for f in (p1.value, p2.value, p1.gen, p2.gen))

    def values(self, item) -> dict[str, dict[str, str | None]]:
        p1, p2 = item.person, item.person2
        return {"person": {"": p1.value, "gen": p1.gen, "occ": p1.gen},
                "person2": {"": p2.value, "gen": p2.gen, "occ": p2.gen},
                "word1": {"": item.word1}, "word2": {"": item.word2}}

    def render(self, pieces, values, vowel: bool) -> str:
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            ref, key, kind, cap, marker = piece
            value = values[ref].get(key)
            if value is None:
                value = marker
            if kind == "article":
                value = with_article(value, self.overrides)
            out.append(capitalize_first(value) if cap else value)
        text = "".join(out)
        for old, new in BBQ_REPLACEMENTS:
            if old in text:
                text = text.replace(old, new)
        if vowel:  # BBQ v1's article rule
            text = _BBQ_AN.sub(r"\1n\2", text).replace(" an European", " a European")
        return text


def option_draw(options: FourWayOptions, key: tuple[str, str], k: int, item) -> tuple[str, tuple[int, int, int]]:
    """The "unknown" phrasing of item ``k`` of a template (``key``: its category and source record) and the
    option positions of (negative answer, non-negative answer, unknown)."""
    draw = int(_hex(options.seed, "four-way", *key, k, item.pair_key, item.swapped), 16)
    return (options.unknown_options[draw % len(options.unknown_options)],
            _ORDERS[(draw // len(options.unknown_options)) % 6])


def _answer_role(parsed) -> str:
    """Which person an answer names: the referent of its first person slot."""
    for slot in parsed.slots:
        if slot.referent in ("person", "person2"):
            return slot.referent
    return ""


def render_four_way(template: Template, items: Sequence, targets: Sequence[str], options: FourWayOptions,
                    *, axis: str, fill_type: str, schema: pa.Schema, groups: Sequence[str]) -> pa.RecordBatch:
    """The rows of one template: four per item, items in order.

    ``targets[i]`` is ``person``, ``person2`` or ``""``: who in item i belongs to a stereotyped group;
    ``groups[i]`` is the row group of item i (e.g. its first person's group label). Texts, options and
    draws are made once per item in Python; the four rows of each item are laid out with Arrow ``take``.
    """
    r = PairRenderer(template, options)
    md = template.metadata
    tid = template.template_id
    key = md.get("category", ""), template.source_record_id
    role_neg, role_non = r.roles
    m = len(items)
    ambig, disambig, q_neg, q_non, flat_options, infos = [], [], [], [], [], []
    pos = np.zeros((m, 4), dtype=np.int64)  # option index of: unknown, negative answer, non-negative answer, -
    biased = np.full((m, 2), -1, dtype=np.int64)  # option a biased answer picks: neg, nonneg question (-1: none)
    item_ids, pair_ids, fillers1 = [], [], []
    for k, item in enumerate(items):
        p1, p2 = item.person, item.person2
        text, answers = r.texts(item)
        unknown, (pos_neg, pos_non, pos_unknown) = option_draw(options, key, k, item)
        opts = [""] * 3
        opts[pos_neg], opts[pos_non], opts[pos_unknown] = answers[0], answers[1], unknown
        flat_options += opts
        pos[k] = (pos_unknown, pos_neg, pos_non, 0)
        people = {"person": p1, "person2": p2}
        info = [{"text": "", "info": ""} for _ in range(3)]
        for role, at in ((role_neg, pos_neg), (role_non, pos_non)):
            if role:
                p = people[role]
                info[at] = {"text": p.value if p.gen is None else f"{p.value} {p.gen}", "info": p.info}
        info[pos_unknown] = {"text": unknown, "info": "unknown"}
        infos.append(info)
        target = targets[k]
        if target:
            other = "person2" if target == "person" else "person"
            at_role = {role_neg: pos_neg, role_non: pos_non}
            biased[k] = (at_role.get(target, -1), at_role.get(other, -1))
        a = text["context"].strip()
        ambig.append(a)
        disambig.append(f"{a} {text['context_disambiguated']}".strip())
        q_neg.append(text["question"].strip())
        q_non.append(text["question_non_negative"].strip())
        pair_ids.append(_hex(*key, item.pair_key))
        item_ids.append(_hex(tid, k, p1.key, p2.key, item.word1, item.word2, item.subcategory))
        fillers1.append(p1.value if p1.gen is None else f"{p1.value} {p1.gen}")
    n = 4 * m
    idx = np.repeat(np.arange(m, dtype=np.int64), 4)
    cell = np.tile(np.arange(4, dtype=np.int64), m)  # CELLS order
    disambiguated, non_negative = cell % 2 == 1, cell >= 2
    label = np.where(~disambiguated, pos[idx, 0], np.where(non_negative, pos[idx, 2], pos[idx, 1]))
    target_loc = biased[idx, non_negative.astype(np.int64)]
    take = pa.array(idx)

    def per_item(values, type_=pa.string()) -> pa.Array:
        return pa.array(values, type_).take(take)

    def const(value, type_=pa.string()) -> pa.Array:
        return pa.repeat(pa.scalar(value, type_), n)

    cell_names = [f"{p}-{c}" for p, c in CELLS]
    suffix = pa.array(cell_names * m, pa.string())
    options_flat = pa.array(flat_options, pa.string())
    out = {
        "example_id": pc.binary_join_element_wise("x-", per_item(item_ids), "-", suffix, ""),
        "template_id": const(tid),
        "counterfactual_set_id": pc.binary_join_element_wise(tid + "-", per_item(pair_ids), "-", suffix, ""),
        "task": const(template.task), "source_dataset": const(template.source_dataset), "axis": const(axis),
        "group": per_item(list(groups)), "filler": per_item(fillers1),
        # people named by proper names signal their group implicitly
        "fill_type": const("implicit" if md.get("proper_nouns_only") == "TRUE" else fill_type),
        "context": pa.array(ambig + disambig, pa.string()).take(pa.array(idx + m * disambiguated)),
        "question": pa.array(q_neg + q_non, pa.string()).take(pa.array(idx + m * non_negative)),
        "answer": options_flat.take(pa.array(idx * 3 + label)),
        "options": pa.ListArray.from_arrays(pa.array(np.arange(0, 3 * m + 1, 3, dtype=np.int32)),
                                            options_flat).take(take),
        "question_index": const(md.get("question_index", "")),
        "question_polarity": pa.array(np.where(non_negative, "nonneg", "neg").tolist(), pa.string()),
        "context_condition": pa.array(np.where(disambiguated, "disambig", "ambig").tolist(), pa.string()),
        "category": const(md.get("category", "")),
        "subcategory": per_item([item.subcategory for item in items]),
        "version": const(md.get("version", "")),
        "answer_info": per_item(infos, schema.field("answer_info").type),
        "stereotyped_groups": pa.array([_stereotyped(md.get("stereotyped_groups", ""))],
                                       schema.field("stereotyped_groups").type).take(pa.array(np.zeros(n, np.int64))),
        "target_loc": pa.array(target_loc, pa.int64(), mask=target_loc < 0),
        "label": pa.array(label, pa.int64()),
        "name1": per_item([item.person.value for item in items]),
        "name1_info": per_item([item.person.info for item in items]),
        "name2": per_item([item.person2.value for item in items]),
        "name2_info": per_item([item.person2.info for item in items]),
        "fixes": pa.array(_fixes_per_cell(md.get("fixes", "")), pa.string()).take(pa.array(cell)),
    }
    return pa.RecordBatch.from_arrays([out[f.name] for f in schema], schema=schema)


def _fixes_per_cell(fixes: str) -> list[str]:
    """For each cell, the template fixes (``id@field;…``) its rows show: a fix of the disambiguating
    context shows only in disambiguated rows, of a question only under that question.

    >>> _fixes_per_cell("typo@context_disambiguated;other@options")
    ['other', 'typo;other', 'other', 'typo;other']
    """
    entries = [e.split("@") for e in fixes.split(";") if e]
    shown = {"context_disambiguated": lambda p, c: c == "disambig", "question": lambda p, c: p == "neg",
             "question_non_negative": lambda p, c: p == "nonneg"}
    return [";".join(fid for fid, field in entries if shown.get(field, lambda p, c: True)(pol, cond))
            for pol, cond in CELLS]


def _stereotyped(raw: str) -> list[str]:
    import ast

    if not raw:
        return []
    value = ast.literal_eval(raw)
    return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
