"""Quota order: extract a source's records in the order its quota ranks them, and stop once it fills.

A ``quota`` candidate filter (``transforms.candidate_filters``) keeps the ``max`` candidates of a
source with the smallest stable hash of (spec seed, source, record id) among those the filters before
it kept. That hash is known before a record is parsed, and those filters judge one candidate at a
time, so a record whose key lies past the ``max``-th such candidate's key cannot yield a kept
candidate. Extraction therefore reads the source's key space in **rounds**, each a range of keys
``[lo, hi)`` starting where the last one ended, and stops once the candidates found so far that pass
every filter before the quota reach ``max``:

- round 1 takes ``1.1 * max / records`` of the key space (as if every record yielded a candidate);
- each later round aims at where the quota should fill at the yield seen so far (``lo * max / found``,
  with a margin of ``1 / sqrt(found)`` for the estimate's noise; eight times further when none was found);
- the last of ``ROUNDS`` takes every key left.

The quota itself then runs as before over every candidate extracted, so the kept candidates are the
same, ties included: the ranges cover a prefix of the key space that holds at least ``max`` passing
candidates, hence every record whose key is at most the ``max``-th one's. Records past the last range
are never parsed; they are reported as dropped by ``filter:quota`` with :data:`UNREACHED` as reason.

Only records every extract entry of the source can parse go through the rounds: one that an entry
quarantines (``max_chars``) or cannot read is extracted as before (no parse is wasted on it), so the
quarantine output does not change. Within a round, records are extracted in parallel batches; the
rounds follow each other (each reads the count of the one before as a side input), so no worker needs
a whole source in memory, and the result does not depend on the runner or the number of workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas import progress
from schemas.ids import digest
from schemas.records import SourceRecord, Template
from transforms.candidate_filters import check
from transforms.extract import QUARANTINED, REJECTED, TEMPLATES, ExtractTemplates, RecordTexts, prepare_record
from transforms.parse_cache import DEFAULT_MAX_BYTES

NAMESPACE = "biasbench.quota_order"
#: the output tag of the records never reached (``{source_dataset, record_id, stage, reason}``)
UNREACHED_TAG = "unreached"
ROUNDS = 5
KEY_SPACE = 16 ** 16  # the quota's key: 8 bytes of blake2b, read as an integer


def unreached_reason(quota: int) -> str:
    return f"past the quota of {quota} when it filled (not extracted)"


@dataclass(frozen=True)
class QuotaPlan:
    """A source's first quota and the per-candidate filters before it."""

    source: str
    quota: int
    before: tuple[Mapping[str, Any], ...]


def quota_plans(filters_by_source: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, QuotaPlan]:
    """Source -> its plan, for the sources whose candidate filters hold a quota."""
    plans = {}
    for source, filters in sorted(filters_by_source.items()):
        rules = [f["rule"] for f in filters]
        if "quota" in rules:
            i = rules.index("quota")
            plans[source] = QuotaPlan(source, int(filters[i]["max"]), tuple(filters[:i]))
    return plans


def record_key(seed: int, source: str, record_id: str) -> int:
    """The quota's rank of a record's candidates (``candidate_filters.sample_key``, as an integer)."""
    return int(digest([seed, source, record_id], size=8), 16)


def passes_before_quota(template: Template, plan: QuotaPlan, seed: int) -> bool:
    return all(check(template, f, seed) is None for f in plan.before)


def in_quota_order(record: SourceRecord, entries: Sequence, max_chars: int | None) -> bool:
    """Whether a record goes through the rounds: every extract entry of its source can parse it."""
    return all(isinstance(prepare_record(record, ex, max_chars), RecordTexts) for ex in entries)


def next_bound(lo: int, found: int, quota: int, records: int, last: bool) -> int:
    """Where the next round's key range ``[lo, hi)`` ends: ``lo`` when the quota has filled (or the key
    space is read), everything left in the last round, else an estimate of where the quota fills."""
    if found >= quota or lo >= KEY_SPACE or records <= 0:
        return lo
    if last:
        return KEY_SPACE
    if lo == 0:
        hi = KEY_SPACE * 1.1 * quota / records
    elif found == 0:
        hi = lo * 8
    else:
        hi = lo * quota / found * (1 + 1 / math.sqrt(found))
    return min(KEY_SPACE, max(lo + 1, int(hi)))


def extract_in_rounds(records: Sequence[SourceRecord], extract: Callable[[list], list], plan: QuotaPlan,
                      seed: int, rounds: int = ROUNDS) -> tuple[list, list[SourceRecord], list[tuple[int, int]]]:
    """The rounds in plain Python, for one source's records that :func:`in_quota_order` admits:
    ``extract(records) -> outputs`` (``extract_batch``'s) called once per round. Returns the outputs,
    the records never reached, and each round's ``(records read, candidates found)``."""
    keyed = [(record_key(seed, r.source_dataset, r.record_id), r) for r in records]
    lo, found, outputs, log = 0, 0, [], []
    for k in range(rounds):
        hi = next_bound(lo, found, plan.quota, len(keyed), k == rounds - 1)
        chosen = [r for key, r in keyed if lo <= key < hi]
        out = extract(chosen) if chosen else []
        new = sum(isinstance(o, Template) and passes_before_quota(o, plan, seed) for o in out)
        outputs += out
        found, lo = found + new, hi
        log.append((len(chosen), new))
    return outputs, [r for key, r in keyed if key >= lo], log


# --------------------------------------------------------------------------- Beam

def _route(record: dict, entries: Mapping[str, Sequence], plans: Mapping[str, QuotaPlan], max_chars: int | None):
    source = record["source_dataset"]
    if source in plans and in_quota_order(SourceRecord.from_dict(record), entries[source], max_chars):
        yield beam.pvalue.TaggedOutput("ordered", record)
    else:
        yield record


def _plan_round(state: Mapping[str, tuple[int, int]], records: Mapping[str, int], plans: Mapping[str, QuotaPlan],
                round_no: int, rounds: int) -> dict[str, tuple[int, int, int]]:
    """``{source: (lo, found)}`` so far -> ``{source: (lo, hi, found)}`` of this round."""
    out = {}
    for source, n in sorted(records.items()):
        lo, found = state.get(source, (0, 0))
        hi = next_bound(lo, found, plans[source].quota, n, round_no == rounds - 1)
        out[source] = (lo, hi, found)
        if hi > lo:
            progress.say(f"[extract] {source}: quota order round {round_no + 1}/{rounds}, {found:,} of "
                         f"{plans[source].quota:,} found; reading its records with a quota key under "
                         f"{hi / KEY_SPACE:.1%} of the key range ({n:,} records in all)")
    return out


def _in_round(record: dict, bounds: Mapping[str, tuple[int, int, int]], seed: int) -> bool:
    lo, hi, _ = bounds[record["source_dataset"]]
    return lo <= record_key(seed, record["source_dataset"], record["record_id"]) < hi


def _found_source(t: dict, plans: Mapping[str, QuotaPlan], seed: int):
    plan = plans.get(t["source_dataset"])
    if plan is not None and passes_before_quota(Template.from_dict(t), plan, seed):
        yield t["source_dataset"]


def _advance(bounds: Mapping[str, tuple[int, int, int]], found: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    return {s: (hi, before + found.get(s, 0)) for s, (_, hi, before) in bounds.items()}


def _unreached(record: dict, state: Mapping[str, tuple[int, int]], plans: Mapping[str, QuotaPlan], seed: int):
    source = record["source_dataset"]
    if record_key(seed, source, record["record_id"]) >= state[source][0]:
        Metrics.counter(NAMESPACE, f"unreached.{source}").inc()
        yield {"source_dataset": source, "record_id": record["record_id"], "stage": "filter:quota",
               "reason": unreached_reason(plans[source].quota)}


class ExtractInQuotaOrder(beam.PTransform):
    """SourceRecord dicts -> ``{templates, rejected, quarantined, unreached}``: :class:`ExtractTemplates`
    over every record, except that the records of a source with a quota (``filters_by_source``: the
    candidate filters each source's candidates get) are extracted in rounds of quota order and those
    past the last round are tagged ``unreached`` instead of extracted."""

    def __init__(self, extract_specs, filters_by_source: Mapping[str, Sequence[Mapping[str, Any]]], seed: int, *,
                 max_chars: int | None = None, rounds: int = ROUNDS, parse_cache_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__()
        self.specs, self.seed, self.max_chars, self.rounds = list(extract_specs), seed, max_chars, rounds
        self.parse_cache_bytes = parse_cache_bytes
        self.plans = quota_plans(filters_by_source)
        self.entries: dict[str, list] = {}
        for ex in self.specs:
            self.entries.setdefault(ex.source, []).append(ex)

    def _extract(self, records, label: str):
        return records | label >> ExtractTemplates(self.specs, max_chars=self.max_chars, seed=self.seed,
                                                   parse_cache_bytes=self.parse_cache_bytes)

    def expand(self, records):
        if not self.plans:
            out = self._extract(records, "Extract")
            return {TEMPLATES: out[TEMPLATES], REJECTED: out[REJECTED], QUARANTINED: out[QUARANTINED],
                    UNREACHED_TAG: records | "NoneUnreached" >> beam.Filter(lambda _: False)}
        routed = records | "Route" >> beam.FlatMap(_route, self.entries, self.plans, self.max_chars).with_outputs(
            "ordered", main="direct")
        outs = [self._extract(routed["direct"], "Extract")]
        ordered = routed["ordered"]
        sizes = beam.pvalue.AsDict(ordered | "OrderedSources" >> beam.Map(lambda r: r["source_dataset"])
                                   | "RecordsPerSource" >> beam.combiners.Count.PerElement())
        state = records.pipeline | "NothingRead" >> beam.Create([{}])
        for k in range(self.rounds):
            bounds = state | f"PlanRound{k}" >> beam.Map(_plan_round, sizes, self.plans, k, self.rounds)
            chosen = ordered | f"Round{k}" >> beam.Filter(_in_round, beam.pvalue.AsSingleton(bounds), self.seed)
            out = self._extract(chosen, f"ExtractRound{k}")
            outs.append(out)
            found = (out[TEMPLATES] | f"Found{k}" >> beam.FlatMap(_found_source, self.plans, self.seed)
                     | f"FoundPerSource{k}" >> beam.combiners.Count.PerElement())
            state = bounds | f"Advance{k}" >> beam.Map(_advance, beam.pvalue.AsDict(found))
        unreached = ordered | "Unreached" >> beam.FlatMap(_unreached, beam.pvalue.AsSingleton(state), self.plans,
                                                          self.seed)
        return {tag: [o[tag] for o in outs] | f"All{tag.capitalize()}" >> beam.Flatten()
                for tag in (TEMPLATES, REJECTED, QUARANTINED)} | {UNREACHED_TAG: unreached}

