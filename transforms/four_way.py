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

import re
from dataclasses import dataclass
from itertools import permutations
from typing import Sequence

import pyarrow as pa

from schemas.ids import digest, stable_id
from schemas.records import FOUR_WAY_QA_COLUMNS, Template
from schemas.slots import parse_slots
from transforms.grammar import capitalize_first, with_article

#: BBQ's ten phrasings of "unknown".
UNKNOWN_OPTIONS = ("Unknown", "Cannot be determined", "Can't be determined", "Not answerable", "Not known",
                   "Not enough info", "Not enough information", "Cannot answer", "Can't answer", "Undetermined")
CELLS = (("neg", "ambig"), ("neg", "disambig"), ("nonneg", "ambig"), ("nonneg", "disambig"))
_ORDERS = tuple(permutations(range(3)))  # option order: positions of (negative, non-negative, unknown)
#: text repairs BBQ's generator made after filling every template (kept in every mode)
BBQ_REPLACEMENTS = (("lesbian man", "lesbian woman"), ("Latino woman", "Latina woman"))
_BBQ_AN = re.compile(r"(\s[aA])(\s[aAeEiIoOuU])")
_VOWEL_START = re.compile(r"^[aeiou]")


@dataclass(frozen=True)
class FourWayOptions:
    """``articles``: ``sound`` (``{a:person}`` slots, by pronunciation) or ``bbq_v1`` (BBQ's rule: when
    any filler starts with a vowel letter, every "a" before a vowel letter becomes "an", except
    "an European"; how BBQ's published rows were written)."""

    seed: int = 0
    unknown_options: tuple[str, ...] = UNKNOWN_OPTIONS
    articles: str = "sound"


def _bbq_v1_articles(text: str, fillers: Sequence[str | None]) -> str:
    if any(f is not None and _VOWEL_START.search(f.lower()) for f in fillers):
        text = _BBQ_AN.sub(r"\1n\2", text).replace(" an European", " a European")
    return text


class _Renderer:
    """Fields of one template rendered for one pair: slot pieces parsed once per template."""

    def __init__(self, template: Template, options: FourWayOptions):
        self.template = template
        self.options = options
        tid = template.template_id
        self.parsed = {name: parse_slots(text, template_id=tid, field=name) for name, text in template.fields.items()}
        self.parsed_options = [parse_slots(o, template_id=tid, field=f"options[{i}]")
                               for i, o in enumerate(template.options)]

    def values(self, item) -> dict[str, dict[str, str | None]]:
        p1, p2 = item.person, item.person2
        return {"person": {"": p1.value, "gen": p1.gen, "occ": p1.gen},
                "person2": {"": p2.value, "gen": p2.gen, "occ": p2.gen},
                "word1": {"": item.word1}, "word2": {"": item.word2}}

    def render(self, parsed, values, fillers) -> str:
        out = []
        for piece in parsed.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            ref = values.get(piece.referent)
            if ref is None:
                raise ValueError(f"template {self.template.template_id}: the four-way design has no referent "
                                 f"{piece.referent!r}")
            key = piece.arg if piece.kind == "attr" else ""
            value = ref.get(key)
            if value is None:  # BBQ leaves a slot it has no word for as written
                marker = {"word1": "WORD1", "word2": "WORD2"}.get(piece.referent, "")
                if piece.kind == "attr":
                    marker = f"{piece.arg.upper()}{'2' if piece.referent == 'person2' else '1'}"
                value = "{{" + marker + "}}"
            if piece.kind == "article":
                value = with_article(value)
            elif piece.kind not in ("filler", "attr"):
                raise ValueError(f"template {self.template.template_id}: slot kind {piece.kind!r} is not used "
                                 f"by the four-way design")
            out.append(capitalize_first(value) if piece.capitalize else value)
        text = "".join(out)
        for old, new in BBQ_REPLACEMENTS:
            text = text.replace(old, new)
        if self.options.articles == "bbq_v1":
            text = _bbq_v1_articles(text, fillers)
        return text


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
    ``groups[i]`` is the row group of item i (e.g. its first person's group label).
    """
    r = _Renderer(template, options)
    md = template.metadata
    tid = template.template_id
    key = md.get("category", ""), template.source_record_id
    role_neg, role_non = _answer_role(r.parsed_options[0]), _answer_role(r.parsed_options[1])
    cols: dict[str, list] = {f.name: [] for f in schema}
    stereotyped = _stereotyped(md.get("stereotyped_groups", ""))
    fixes = md.get("fixes", "")
    for k, item in enumerate(items):
        values = r.values(item)
        fillers = (item.person.value, item.person2.value, item.person.gen, item.person2.gen)
        text = {name: r.render(p, values, fillers) for name, p in r.parsed.items()}
        answers = [r.render(p, values, fillers) for p in r.parsed_options]
        draw = int(digest(options.seed, "four-way", *key, k, item.pair_key, item.swapped, size=8), 16)
        unknown = options.unknown_options[draw % len(options.unknown_options)]
        order = _ORDERS[(draw // len(options.unknown_options)) % 6]
        opts = [""] * 3
        for what, pos in zip((answers[0], answers[1], unknown), order):
            opts[pos] = what
        pos_neg, pos_non, pos_unknown = order
        people = {"person": item.person, "person2": item.person2}
        info = [{"text": "", "info": ""} for _ in range(3)]
        for role, pos in ((role_neg, pos_neg), (role_non, pos_non)):
            if role:
                p = people[role]
                info[pos] = {"text": p.value if p.gen is None else f"{p.value} {p.gen}", "info": p.info}
        info[pos_unknown] = {"text": unknown, "info": "unknown"}
        target = targets[k]
        pos_of = {role_neg: pos_neg, role_non: pos_non}
        other = {"person": "person2", "person2": "person"}.get(target, "")
        ambig = text["context"].strip()
        contexts = {"ambig": ambig, "disambig": f"{ambig} {text['context_disambiguated']}".strip()}
        questions = {"neg": text["question"].strip(), "nonneg": text["question_non_negative"].strip()}
        pair_id = digest(*key, item.pair_key, size=6)
        for polarity, condition in CELLS:
            if condition == "ambig":
                label = pos_unknown
            else:
                label = pos_neg if polarity == "neg" else pos_non
            biased = (target if polarity == "neg" else other) if target else ""
            cols["example_id"].append(stable_id("x", tid, k, item.person.key, item.person2.key, item.word1,
                                                item.word2, item.subcategory, polarity, condition))
            cols["template_id"].append(tid)
            cols["counterfactual_set_id"].append(f"{tid}-{pair_id}-{polarity}-{condition}")
            cols["group"].append(groups[k])
            cols["filler"].append(fillers[0] if item.person.gen is None else f"{item.person.value} {item.person.gen}")
            cols["context"].append(contexts[condition])
            cols["question"].append(questions[polarity])
            cols["answer"].append(opts[label])
            cols["options"].append(list(opts))
            cols["question_index"].append(md.get("question_index", ""))
            cols["question_polarity"].append(polarity)
            cols["context_condition"].append(condition)
            cols["category"].append(md.get("category", ""))
            cols["subcategory"].append(item.subcategory)
            cols["version"].append(md.get("version", ""))
            cols["answer_info"].append(info)
            cols["stereotyped_groups"].append(stereotyped)
            cols["target_loc"].append(pos_of.get(biased) if biased else None)
            cols["label"].append(label)
            cols["name1"].append(item.person.value)
            cols["name1_info"].append(item.person.info)
            cols["name2"].append(item.person2.value)
            cols["name2_info"].append(item.person2.info)
            cols["fixes"].append(fixes)
    n = len(cols["example_id"])
    const = {"task": template.task, "source_dataset": template.source_dataset, "axis": axis, "fill_type": fill_type}
    arrays = []
    for f in schema:
        if f.name in const:
            arrays.append(pa.repeat(pa.scalar(const[f.name], pa.string()), n))
        else:
            arrays.append(pa.array(cols[f.name], f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _stereotyped(raw: str) -> list[str]:
    import ast

    if not raw:
        return []
    value = ast.literal_eval(raw)
    return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
