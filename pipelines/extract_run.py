"""``biasbench extract SPEC --data-dir DIR --out DIR``: candidates for a curator to read.

Phase one is a Beam pipeline (ingest → extract → each source's candidate filters); the driver then
removes exact duplicates (near duplicates through the dedup hook, ``NEAR_DUPLICATES``), renders
every candidate for he, she and they and refuses those the grammar check or the lint flags, and
writes into ``--out``:

``candidates.parquet``  the kept templates (the release's template schema), deterministic
``review.md``           one block per candidate: the source record, the slotted template, its
                        he/she/they renderings, why it was kept, the duplicates it beat, and the
                        curator's decision when the spec already has one
``report.json``         records and candidates per source, and every rejection counted as
                        ``{source, stage, reason, count}`` (stages: prefilter, extract, filter:<rule>,
                        render, dedup)

The curator answers in the spec's ``curation:`` (accept, reject, edits by template id); ``build``
applies it. Files are written under a temporary name and renamed into place one by one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import apache_beam as beam

from schemas.quarantine import MAX_RECORD_BYTES
from schemas.records import SourceRecord, Template, templates_table

#: the near-duplicate hook: ``fn(templates) -> {kept template id: [ids of the near duplicates it beat]}``,
#: set by the dedup stage when it is installed; None: exact duplicates only
NEAR_DUPLICATES: Callable[[Sequence[Template]], Mapping[str, list[str]]] | None = None

CANDIDATES_FILE, REVIEW_FILE, REPORT_FILE = "candidates.parquet", "review.md", "report.json"
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\([^()]*\)|\d+")


def reason_kind(reason: str) -> str:
    """A rejection reason with its particulars (names, numbers) blanked, for counting."""
    return _QUOTED.sub("…", reason)


@dataclass
class ExtractResult:
    out_dir: str
    candidates: int
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    rejections: list[dict] = field(default_factory=list)


def _key(source: str, stage: str, reason: str) -> str:
    return json.dumps([source, stage, reason])


def _extract_stage(reason: str) -> str:
    from transforms.prefilter import is_prefiltered

    return "prefilter" if is_prefiltered(reason) else "extract"


def candidate_graph(p, spec, dump: Callable[[str, object], None]) -> None:
    from pipelines.graph import filter_candidates
    from transforms.candidate_filters import KEPT, REJECTED as FILTERED
    from transforms.extract import QUARANTINED, REJECTED, TEMPLATES, ExtractTemplates
    from transforms.ingest import RECORDS, IngestSources

    sources = [(replace(s, options={MAX_RECORD_BYTES: spec.filters.max_record_bytes, **s.options}),
                spec.resolve(s.path)) for s in spec.sources]
    ingested = p | "Ingest" >> IngestSources(sources)
    extracted = ingested[RECORDS] | "Extract" >> ExtractTemplates(spec.extract, max_chars=spec.filters.max_chars,
                                                                        seed=spec.seed)
    filtered = filter_candidates(extracted[TEMPLATES], spec)
    ext_counts = (extracted[REJECTED]
                  | "ExtractReasons" >> beam.Map(lambda r: _key(r["source_dataset"], _extract_stage(r["reason"]),
                                                                reason_kind(r["reason"]))))
    flt_counts = (filtered[FILTERED]
                  | "FilterReasons" >> beam.Map(lambda r: _key(r["template"]["source_dataset"], r["stage"],
                                                               reason_kind(r["reason"]))))
    _ = ((ext_counts, flt_counts) | "Reasons" >> beam.Flatten() | "Count" >> beam.combiners.Count.PerElement()
         | "AllCounts" >> beam.combiners.ToList() | "DumpCounts" >> beam.Map(lambda c: dump("counts", sorted(c))))
    _ = (filtered[KEPT] | "AllKept" >> beam.combiners.ToList()
         | "DumpKept" >> beam.Map(lambda ts: dump("kept", sorted(ts, key=lambda t: (t["source_dataset"], t["ordinal"],
                                                                                     t["template_id"])))))
    _ = ((ingested[QUARANTINED], extracted[QUARANTINED]) | "AllQuarantined" >> beam.Flatten()
         | "CollectQuarantined" >> beam.combiners.ToList() | "DumpQuarantined" >> beam.Map(lambda q: dump("quarantined", q)))


def _dedup(templates: list[Template]) -> tuple[list[Template], dict[str, list[str]], list[Template]]:
    """Exact duplicates by normalised text (the first in source order stays), then the near-duplicate hook."""
    from transforms.filter import dedup_key

    kept, beat, dropped = [], defaultdict(list), []
    first: dict[str, Template] = {}
    for t in templates:
        k = dedup_key(t)
        if k in first:
            beat[first[k].template_id].append(t.template_id)
            dropped.append(t)
        else:
            first[k] = t
            kept.append(t)
    if NEAR_DUPLICATES is not None:
        near = NEAR_DUPLICATES(kept)
        gone = {d for ds in near.values() for d in ds}
        dropped += [t for t in kept if t.template_id in gone]
        kept = [t for t in kept if t.template_id not in gone]
        for k, ds in near.items():
            beat[k].extend(ds)
    return kept, dict(beat), dropped


def _source_texts(spec, kept: Sequence[Template]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """The source texts of each kept candidate's record, read again (the candidates hold only the slotted text)."""
    from transforms.extract import record_texts
    from transforms.ingest import read_source

    wanted = defaultdict(set)
    for t in kept:
        wanted[t.source_dataset].add(t.source_record_id)
    out = {}
    sources = {s.name: s for s in spec.sources}
    for ex in spec.extract:
        if ex.source not in wanted:
            continue
        for r in read_source(sources[ex.source], spec.resolve(sources[ex.source].path)):
            if isinstance(r, SourceRecord) and r.record_id in wanted[ex.source]:
                texts = record_texts(r, ex)
                if not isinstance(texts, str):
                    out[(ex.source, r.record_id)] = [(r.location or "", "")] + texts.items()
    return out


def review_block(t: Template, source: list[tuple[str, str]], beat: list[str], curation) -> str:
    from pipelines.extract_check import renderings

    lines = [f"## {t.template_id}", "", f"- source: {t.source_dataset} {t.source_split} record {t.source_record_id}"
             + (f" ({source[0][0]})" if source and source[0][0] else "")]
    decision = ("accepted" if t.template_id in curation.accept else "rejected" if t.template_id in curation.reject
                else "edited" if t.template_id in curation.edits else "")
    if decision:
        lines.append(f"- curation: {decision}")
    lines += ["", "source record:", ""] + [f"    {k}: {v}" for k, v in source[1:]]
    lines += ["", "template:", ""] + [f"    {k}: {v}" for k, v in t.slot_texts() if v]
    lines += [""]
    for pset, key, text in renderings(t)[:len(t.slot_texts()) * 3]:
        if text:
            lines.append(f"    {pset:4} {key}: {text}")
    why = [p for p in t.provenance if not p.startswith("extract:")]
    lines += ["", f"why kept: {'; '.join(why)}; passed every filter and the he/she/they grammar check",
              f"near duplicates it beat: {', '.join(beat) if beat else 'none'}", ""]
    return "\n".join(lines)


def _write(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file would be (mkstemp makes it private)
    os.replace(tmp, path)


def run_extract(spec, out_dir: str, runner: str = "direct", workers: int = 1, dask_address: str | None = None,
                beam_args: Sequence[str] = ()) -> ExtractResult:
    import pickle

    from pipelines.build import pipeline_options
    from pipelines.extract_check import render_findings
    from transforms.extract import load_nlp
    from transforms.write import write_table

    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".extract-") as staging:
        def dump(name, value):
            with open(os.path.join(staging, name + ".pickle"), "wb") as f:
                pickle.dump(value, f)

        with pipeline_options(runner, workers, dask_address, beam_args) as (make_runner, options):
            with beam.Pipeline(runner=make_runner(), options=options) as p:
                candidate_graph(p, spec, dump)

        def take(name, default):
            path = os.path.join(staging, name + ".pickle")
            if not os.path.exists(path):
                return default
            with open(path, "rb") as f:
                return pickle.load(f)

        kept = [Template.from_dict(t) for t in take("kept", [])]
        counts = Counter({k: n for k, n in take("counts", [])})
        quarantined = take("quarantined", [])
        kept, beat, duplicates = _dedup(kept)
        for t in duplicates:
            counts[_key(t.source_dataset, "dedup", "a duplicate of a kept candidate")] += 1
        findings = render_findings(kept, load_nlp()) if kept else {}
        for t in kept:
            if t.template_id in findings:
                counts[_key(t.source_dataset, "render", reason_kind(findings[t.template_id][0].split(": ", 1)[1]))] += 1
        kept = [t for t in kept if t.template_id not in findings]
        per_source: dict[str, dict[str, int]] = defaultdict(lambda: {"records": 0, "candidates": 0})
        for t in kept:
            per_source[t.source_dataset]["candidates"] += 1
            per_source[t.source_dataset]["records"] += 1
        for k, n in counts.items():
            source, stage, _ = json.loads(k)
            if stage in ("prefilter", "extract"):
                per_source[source]["records"] += n
            elif stage.startswith("filter:") or stage in ("dedup", "render"):
                per_source[source]["records"] += n
        rejections = [dict(zip(("source", "stage", "reason"), json.loads(k)), count=n) for k, n in sorted(counts.items())]
        report = {"benchmark": spec.benchmark, "spec_hash": spec.spec_hash, "candidates": len(kept),
                  "per_source": dict(sorted(per_source.items())), "rejections": rejections,
                  "quarantined": len(quarantined),
                  "near_duplicates": "hook installed" if NEAR_DUPLICATES else "exact duplicates only (no near-duplicate hook)"}
        texts = _source_texts(spec, kept)
        review = [f"# Review: {spec.benchmark} — {len(kept)} candidates", "",
                  "Accept, reject or edit by template id under `curation:` in the spec "
                  "(accept: [...], reject: [...], edits: {id: {field: text}}), then `biasbench build`.", ""]
        review += [review_block(t, texts.get((t.source_dataset, t.source_record_id), []), beat.get(t.template_id, []),
                                spec.curation) for t in kept]
        write_table(os.path.join(staging, CANDIDATES_FILE), templates_table(kept))
        os.replace(os.path.join(staging, CANDIDATES_FILE), os.path.join(out_dir, CANDIDATES_FILE))
        _write(os.path.join(out_dir, REVIEW_FILE), "\n".join(review).encode("utf-8"))
        _write(os.path.join(out_dir, REPORT_FILE), (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
    return ExtractResult(out_dir, len(kept), dict(per_source), rejections)


def summary_text(result: ExtractResult) -> str:
    lines = [f"{'source':22} {'records':>8} {'candidates':>10}"]
    for name, c in sorted(result.per_source.items()):
        lines.append(f"{name:22} {c['records']:8,} {c['candidates']:10,}")
    by_stage = Counter()
    for r in result.rejections:
        by_stage[r["stage"]] += r["count"]
    lines.append("rejected: " + ", ".join(f"{s} {n:,}" for s, n in sorted(by_stage.items())))
    return "\n".join(lines)
