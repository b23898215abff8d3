"""Filter and dedup template candidates.

``rejection_reason`` says why a template is not kept (or None); ``dedup_key`` is
the content key under which exact duplicates collapse. The PTransforms are thin
wrappers around them.

>>> from schemas.records import Template
>>> from schemas.spec import FilterSpec
>>> t = Template.create(task="sentiment", fields={"sentence": "{person} loved the  film."}, answer="positive")
>>> rejection_reason(t, FilterSpec()), rejection_reason(t, FilterSpec(min_chars=40))
(None, 'too short: 25 characters of text, at least 40 required')
>>> dedup_key(t) == dedup_key(Template.create(task="sentiment", fields={"sentence": "{person} Loved the film. "}))
True
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.ids import digest
from schemas.records import TASK_FIELDS, Template
from schemas.slots import SlotError, parse_slots

NAMESPACE = "biasbench.filter"
KEPT, REJECTED = "templates", "rejected"  # the output tags of FilterTemplates

_WS = re.compile(r"\s+")


def _as_template(t: Template | Mapping[str, Any]) -> Template:
    return t if isinstance(t, Template) else Template.from_dict(t)


def text_length(t: Template) -> int:
    """Characters in the task's text fields together, slots counted as written."""
    return sum(len(v) for v in t.fields.values())


def rejection(template: Template | Mapping[str, Any], spec) -> tuple[str, str] | None:
    """``(reason, message)`` when ``spec`` (a FilterSpec) drops the template, or None when it is kept.

    ``reason`` is the spec key or rule that dropped it (``exclude_sources``, ``min_chars``, ``max_chars``,
    ``max_referents``, ``bad_slot``, ``missing_fields``, ``no_referent``, ``unknown_task``): what the
    build's summary and the release's rejected.json count by. Checks, in order: excluded source, the
    task's text fields present, every slot parses (named with the template id and field), length
    bounds, at least one referent, at most ``max_referents``.
    """
    t = _as_template(template)
    if t.source_dataset in spec.exclude_sources:
        return "exclude_sources", f"source {t.source_dataset!r} is excluded"
    wanted = TASK_FIELDS.get(t.task)
    if wanted is None:
        return "unknown_task", f"unknown task {t.task!r}"
    missing = [f for f in wanted if not str(t.fields.get(f, "")).strip()]
    if missing:
        return "missing_fields", f"text field(s) {', '.join(missing)} missing or empty"
    referents: dict[str, None] = {}
    for name, text in t.slot_texts():
        try:
            for slot in parse_slots(text, template_id=t.template_id, field=name).slots:
                referents.setdefault(slot.referent, None)
        except SlotError as e:
            return "bad_slot", f"bad slot: {e}"
    n = text_length(t)
    if n < spec.min_chars:
        return "min_chars", f"too short: {n} characters of text, at least {spec.min_chars} required"
    if n > spec.max_chars:
        return "max_chars", f"too long: {n} characters of text, at most {spec.max_chars} allowed"
    if not referents:
        return "no_referent", "no referent slot"
    if len(referents) > spec.max_referents:
        return "max_referents", (f"{len(referents)} referents ({', '.join(referents)}), "
                                 f"at most {spec.max_referents} allowed")
    return None


def split_by_filters(templates: Iterable[Template], spec) -> tuple[list[Template], list[tuple[Template, str]]]:
    """The templates ``spec`` (a FilterSpec) keeps, in order, and each one it drops with the reason key of
    :func:`rejection`: ``FilterTemplates`` for a driver holding candidates in memory (``biasbench extract``
    shows only candidates a build would keep)."""
    kept, dropped = [], []
    for t in templates:
        found = rejection(t, spec)
        if found is None:
            kept.append(t)
        else:
            dropped.append((t, found[0]))
    return kept, dropped


def rejection_reason(template: Template | Mapping[str, Any], spec) -> str | None:
    """Why ``spec`` (a FilterSpec) drops the template (the message of :func:`rejection`), or None when kept."""
    found = rejection(template, spec)
    return None if found is None else found[1]


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def dedup_key(template: Template | Mapping[str, Any]) -> str:
    """Content key of exact dedup: the task and its text fields, lower-cased and whitespace-folded.

    The gold answer is not part of the key: two copies of one text with different
    answers are a conflict, and keeping one of them (deterministically) is the fix.
    """
    t = _as_template(template)
    return digest(t.task, sorted((k, _norm(v)) for k, v in t.fields.items()), size=16)


def order_key(template: Mapping[str, Any]) -> tuple[int, str]:
    """Which of several duplicates survives: the smallest (ordinal, template_id)."""
    return int(template.get("ordinal", 0)), str(template["template_id"])


class _FilterFn(beam.DoFn):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec

    def process(self, template: dict):
        found = rejection(template, self.spec)
        if found is None:
            Metrics.counter(NAMESPACE, "kept").inc()
            yield template
        else:
            Metrics.counter(NAMESPACE, "rejected").inc()
            yield beam.pvalue.TaggedOutput(REJECTED, {
                "stage": "filter", "reason": found[0], "detail": found[1], "id": template["template_id"],
                "template_id": template["template_id"], "source_dataset": template.get("source_dataset", ""),
                "source_record_id": template.get("source_record_id", "")})


class FilterTemplates(beam.PTransform):
    """``PCollection[Template dict]`` -> tagged outputs ``templates`` (kept) and ``rejected``.

    ``out = templates | FilterTemplates(spec.filters)``, then ``out.templates``
    and ``out.rejected``.

    A rejection is ``{stage: "filter", reason, detail, id, template_id, source_dataset, source_record_id}``
    (``reason`` the key of :func:`rejection`, ``detail`` its message, ``id`` the template id).
    """

    def __init__(self, filter_spec):
        super().__init__()
        self.spec = filter_spec

    def expand(self, templates):
        return templates | "Filter" >> beam.ParDo(_FilterFn(self.spec)).with_outputs(REJECTED, main=KEPT)


class _EarliestFn(beam.CombineFn):
    """Keep the duplicate with the smallest (ordinal, template_id), and the ids of the others.

    Associative and commutative, so the survivor is the same whatever the runner's
    bundling or combiner lifting.
    """

    def create_accumulator(self):
        return None, ()

    def add_input(self, acc, template):
        return self.merge_accumulators([acc, (template, ())])

    def merge_accumulators(self, accs: Iterable):
        best, dropped = None, []
        for cand, others in accs:
            dropped.extend(others)
            if cand is None:
                continue
            if best is None or order_key(cand) < order_key(best):
                if best is not None:
                    dropped.append(best["template_id"])
                best = cand
            else:
                dropped.append(cand["template_id"])
        return best, tuple(sorted(dropped))

    def extract_output(self, acc):
        return acc


def _keyed(template: dict) -> tuple[str, dict]:
    return dedup_key(template), template


DROPPED = "dropped"  # DedupTemplates(report_dropped=True)'s second output


def _keep(acc) -> dict:
    best, dropped = acc
    if dropped:
        Metrics.counter(NAMESPACE, "duplicates_dropped").inc(len(dropped))
        shown = ", ".join(dropped[:5]) + (" …" if len(dropped) > 5 else "")
        best = {**best, "provenance": [*best.get("provenance", []), f"dedup:exact dropped {len(dropped)} ({shown})"]}
    return best


def _keep_and_report(acc):
    """The survivor, and one ``{stage: "dedup", reason: "exact", id, kept}`` per dropped duplicate."""
    best = _keep(acc)
    yield best
    for template_id in acc[1]:
        yield beam.pvalue.TaggedOutput(DROPPED, {"stage": "dedup", "reason": "exact", "id": template_id,
                                                 "kept": best["template_id"]})


class DedupTemplates(beam.PTransform):
    """``PCollection[Template dict] -> PCollection[Template dict]`` without exact duplicates.

    Duplicates share :func:`dedup_key`; the survivor is the one with the smallest
    (ordinal, template_id) and gains a provenance line naming the dropped ids.
    ``mode="none"`` passes everything through (``FilterSpec.dedup``). With ``report_dropped``
    the result has two outputs, ``templates`` (the survivors) and ``dropped`` (one record per
    dropped duplicate: ``{stage: "dedup", reason: "exact", id, kept}``).
    """

    def __init__(self, mode: str = "exact", report_dropped: bool = False):
        super().__init__()
        if mode not in ("exact", "none"):
            raise ValueError(f"dedup mode {mode!r} is not 'exact' or 'none'")
        self.mode = mode
        self.report_dropped = report_dropped

    def expand(self, templates):
        if self.mode == "none":
            if self.report_dropped:
                return {KEPT: templates, DROPPED: templates.pipeline | "NoneDropped" >> beam.Create([])}
            return templates
        grouped = (templates
                   | "KeyByContent" >> beam.Map(_keyed)
                   | "Earliest" >> beam.CombinePerKey(_EarliestFn()))
        if self.report_dropped:
            return grouped | "Survivor" >> beam.FlatMapTuple(lambda _key, acc: _keep_and_report(acc)).with_outputs(
                DROPPED, main=KEPT)
        return grouped | "Survivor" >> beam.MapTuple(lambda _key, acc: _keep(acc))
