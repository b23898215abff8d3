"""Filters over extracted candidates, composed in the order a spec lists them (``extract[].filters``).

Each rule is a plain function ``(template, params) -> reason | None`` checked per candidate, except
``quota``, which needs the whole source's candidates: it keeps the ``max`` with the smallest stable
hash of (spec seed, source, record id), so the choice does not depend on arrival order, runner or
worker count. ``sample`` keeps a candidate when that hash falls under ``rate``.

=====================  =====================================================================
``words``              ``min``/``max`` words over the task's text fields (CALM: 5–60 and so on)
``context_chars``      at most ``max`` characters in ``field`` (default ``context``)
``person_in``          every field in ``fields`` has a slot of the person (CALM's NLI rule:
                       the name in both premise and hypothesis)
``metadata_in``        the record's ``field`` (a ``metadata_fields`` value) is one of ``values``
                       (relation types of the relation-extraction corpus)
``no_celebrities``     no slotted person is on the list at ``path`` (CALM's list of
                       controversial celebrities: a CSV with a ``NAME`` column; resolved by the
                       pipeline against the data folder)
``answer_in_context``  the answer occurs in ``field`` (default ``context``): extractive QA
``sample``             kept when hash(seed, source, record id) < ``rate``; when it opens the
                       filters of every extract entry of a source, it is applied to the
                       source's records before extraction (:class:`SampleRecords`)
``quota``              at most ``max`` per source (extraction reads the source's records in
                       this order and stops once the quota fills: ``transforms.quota_order``)
=====================  =====================================================================

>>> from schemas.records import Template
>>> t = Template.create(task="qa", fields={"context": "{person} went to the garden.", "question": "Where is {person}?"},
...                     answer="garden", source_dataset="babi", source_record_id="1")
>>> check(t, {"rule": "words", "min": 3, "max": 8}, seed=1), check(t, {"rule": "answer_in_context"}, seed=1)
('too many words: 9, at most 8', None)
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.ids import digest
from schemas.records import Template

NAMESPACE = "biasbench.candidates"
KEPT, REJECTED = "kept", "rejected"
_SLOT = re.compile(r"\{\{|\}\}|\{[^{}]*\}")
_LABEL = re.compile(r"^person\d* is '(.*)'$")

Check = Callable[[Template, Mapping[str, Any], int], "str | None"]
RULES: dict[str, Check] = {}


def rule(name: str):
    def deco(fn: Check) -> Check:
        RULES[name] = fn
        return fn
    return deco


def _words(text: str) -> int:
    return len(_SLOT.sub(" X ", text).split())


@rule("words")
def _words_rule(t: Template, p, seed) -> str | None:
    n = sum(_words(v) for v in t.fields.values())
    if "min" in p and n < int(p["min"]):
        return f"too few words: {n}, at least {p['min']}"
    if "max" in p and n > int(p["max"]):
        return f"too many words: {n}, at most {p['max']}"
    return None


@rule("context_chars")
def _context_chars(t: Template, p, seed) -> str | None:
    name = p.get("field", "context")
    n = len(t.fields.get(name, ""))
    return f"{name} too long: {n} characters, at most {p['max']}" if n > int(p["max"]) else None


@rule("person_in")
def _person_in(t: Template, p, seed) -> str | None:
    missing = [f for f in p["fields"] if "{person" not in t.fields.get(f, "")]
    return f"no person slot in {', '.join(missing)}" if missing else None


@rule("metadata_in")
def _metadata_in(t: Template, p, seed) -> str | None:
    value = t.metadata.get(p["field"], "")
    return None if value in p["values"] else f"{p['field']} {value!r} is not one of the kept values"


@lru_cache(maxsize=8)
def celebrity_names(path: str) -> tuple[frozenset[str], frozenset[str]]:
    """Full names on the list (lower case), and their surnames."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        names = {row["NAME"].strip().lower() for row in csv.DictReader(f) if row.get("NAME", "").strip()}
    return frozenset(names), frozenset(n.split()[-1] for n in names if len(n.split()) > 1)


def person_labels(t: Template) -> list[str]:
    """The slotted people as the source wrote them (from the extractor's provenance)."""
    return [m.group(1) for m in map(_LABEL.match, t.provenance) if m]


@rule("no_celebrities")
def _no_celebrities(t: Template, p, seed) -> str | None:
    full, surnames = celebrity_names(p["path"])
    for label in person_labels(t):
        low = " ".join(label.replace(".", "").lower().split())
        if low in full or (len(low.split()) >= 1 and low.split()[-1] in surnames and
                           any(low in n or n.endswith(" " + low) for n in full)):
            return f"a famous person ({label})"
    return None


@rule("answer_in_context")
def _answer_in_context(t: Template, p, seed) -> str | None:
    name = p.get("field", "context")
    if t.answer and t.answer.lower() in t.fields.get(name, "").lower():
        return None
    return f"the answer is not in the {name}"


def sample_key(t: Template, seed: int) -> str:
    """The stable hash that orders a source's candidates for ``quota`` (``sample`` compares it with its rate)."""
    return digest([seed, t.source_dataset, t.source_record_id], size=8)


def in_sample(source: str, record_id: str, rate: float, seed: int) -> bool:
    """Whether a record of ``source`` falls in the stable-hash sample of ``rate``."""
    return int(digest([seed, source, record_id], size=8), 16) / 16 ** 16 < rate


def _not_sampled(rate: float) -> str:
    return f"not in the {rate:g} sample"


@rule("sample")
def _sample(t: Template, p, seed) -> str | None:
    rate = float(p["rate"])
    return None if in_sample(t.source_dataset, t.source_record_id, rate, seed) else _not_sampled(rate)


def record_sample_rates(extract_specs) -> dict[str, float]:
    """Source -> the rate at which its records can be sampled before extraction: sources whose every
    extract entry opens its filters with ``sample``. That rule reads only (seed, source, record id),
    so a record outside the largest of these samples can yield no candidate any entry keeps; dropping
    it before the parse changes no result and saves the parse."""
    rates: dict[str, list] = {}
    for ex in extract_specs:
        first = ex.filters[0] if ex.filters else {}
        rates.setdefault(ex.source, []).append(float(first["rate"]) if first.get("rule") == "sample" else None)
    return {s: max(r) for s, r in sorted(rates.items()) if None not in r}


def _sample_record(record: dict, rates: Mapping[str, float], seed: int):
    rate = rates.get(record["source_dataset"])
    if rate is None or in_sample(record["source_dataset"], record["record_id"], rate, seed):
        yield record
    else:
        Metrics.counter(NAMESPACE, "rejected.filter:sample").inc()
        yield beam.pvalue.TaggedOutput(REJECTED, {"source_dataset": record["source_dataset"],
                                                  "record_id": record["record_id"], "stage": "filter:sample",
                                                  "reason": _not_sampled(rate)})


class SampleRecords(beam.PTransform):
    """SourceRecord dicts -> tagged ``kept`` records and ``rejected`` ({source_dataset, record_id, stage,
    reason}): the leading ``sample`` filters of the extract entries (:func:`record_sample_rates`) applied
    to records, before extraction parses them."""

    def __init__(self, extract_specs, seed: int):
        super().__init__()
        self.rates, self.seed = record_sample_rates(extract_specs), seed

    def expand(self, records):
        if not self.rates:
            return {KEPT: records, REJECTED: records | "NoneSampledOut" >> beam.Filter(lambda _: False)}
        out = records | "SampleRecords" >> beam.FlatMap(_sample_record, self.rates, self.seed).with_outputs(
            REJECTED, main=KEPT)
        return {KEPT: out[KEPT], REJECTED: out[REJECTED]}


def check(t: Template, params: Mapping[str, Any], seed: int) -> str | None:
    """Why one per-candidate rule drops ``t``, or None."""
    return RULES[params["rule"]](t, params, seed)


def check_rules(filters: Sequence[Mapping[str, Any]]) -> None:
    """A spec's filter list, checked when the pipeline is built: unknown rules and missing parameters."""
    need = {"words": (), "context_chars": ("max",), "person_in": ("fields",), "metadata_in": ("field", "values"),
            "no_celebrities": ("path",), "answer_in_context": (), "sample": ("rate",), "quota": ("max",)}
    for f in filters:
        name = f.get("rule")
        if name not in need:
            raise ValueError(f"unknown candidate filter {name!r}; known: {', '.join(sorted(need))}")
        missing = [k for k in need[name] if k not in f]
        if missing:
            raise ValueError(f"candidate filter {name!r} needs {', '.join(missing)}")


def apply_filters(templates: Iterable[Template], filters: Sequence[Mapping[str, Any]],
                  seed: int) -> tuple[list[Template], list[tuple[Template, str, str]]]:
    """Kept candidates, and ``(template, stage, reason)`` for each dropped one; the plain-Python twin of
    :class:`FilterCandidates` (a quota applies to the candidates the filters before it kept)."""
    kept = list(templates)
    dropped: list[tuple[Template, str, str]] = []
    for f in filters:
        stage = f"filter:{f['rule']}"
        if f["rule"] == "quota":
            by_source: dict[str, list[Template]] = {}
            for t in kept:
                by_source.setdefault(t.source_dataset, []).append(t)
            keep_ids = set()
            for ts in by_source.values():
                ts.sort(key=lambda t: (sample_key(t, seed), t.template_id))
                keep_ids |= {id(t) for t in ts[:int(f["max"])]}
            dropped += [(t, stage, f"over the quota of {f['max']}") for t in kept if id(t) not in keep_ids]
            kept = [t for t in kept if id(t) in keep_ids]
            continue
        still = []
        for t in kept:
            why = check(t, f, seed)
            if why is None:
                still.append(t)
            else:
                dropped.append((t, stage, why))
        kept = still
    return kept, dropped


class _CheckFn(beam.DoFn):
    def __init__(self, filters, seed):
        self.filters, self.seed = list(filters), seed

    def process(self, t: dict):
        template = Template.from_dict(t)
        for f in self.filters:
            why = check(template, f, self.seed)
            if why is not None:
                Metrics.counter(NAMESPACE, f"rejected.filter:{f['rule']}").inc()
                yield beam.pvalue.TaggedOutput(REJECTED, {"template": t, "stage": f"filter:{f['rule']}",
                                                          "reason": why})
                return
        yield t


def _quota(kv, n: int, seed: int):
    _, ts = kv
    ranked = sorted(ts, key=lambda t: (sample_key(Template.from_dict(t), seed), t["template_id"]))
    for i, t in enumerate(ranked):
        if i < n:
            yield t
        else:
            yield beam.pvalue.TaggedOutput(REJECTED, {"template": t, "stage": "filter:quota",
                                                      "reason": f"over the quota of {n}"})


class FilterCandidates(beam.PTransform):
    """Template dicts of one source -> tagged ``kept`` and ``rejected`` ({template, stage, reason}),
    the spec's filters applied in order (consecutive per-candidate rules in one ParDo; a quota
    groups the source's candidates)."""

    def __init__(self, filters: Sequence[Mapping[str, Any]], seed: int):
        super().__init__()
        check_rules(filters)
        self.filters, self.seed = list(filters), seed

    def expand(self, templates):
        rejected = []
        current = templates
        run: list = []
        steps = [*self.filters, None]
        for i, f in enumerate(steps):
            if f is not None and f["rule"] != "quota":
                run.append(f)
                continue
            if run:
                out = current | f"Check{i}" >> beam.ParDo(_CheckFn(run, self.seed)).with_outputs(REJECTED, main=KEPT)
                current, run = out[KEPT], []
                rejected.append(out[REJECTED])
            if f is not None:
                out = (current | f"Key{i}" >> beam.Map(lambda t: (t["source_dataset"], t))
                       | f"Group{i}" >> beam.GroupByKey()
                       | f"Quota{i}" >> beam.FlatMap(_quota, int(f["max"]), self.seed).with_outputs(REJECTED, main=KEPT))
                current = out[KEPT]
                rejected.append(out[REJECTED])
        all_rejected = (rejected | "AllRejected" >> beam.Flatten()) if rejected else \
            (templates.pipeline | "NoRejected" >> beam.Create([]))
        return {KEPT: current, REJECTED: all_rejected}
