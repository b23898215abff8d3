"""``biasbench extract SPEC --data-dir DIR --out DIR``: candidates for a curator to read.

Phase one is a Beam pipeline (ingest → extract → each source's candidate filters); the driver then
drops what the spec's ``filters`` drop (``min_chars``, ``max_referents`` …, as a build does), removes
exact duplicates (and near ones with ``filters.dedup: near``, as the build does), renders
every candidate for he, she and they and refuses those the grammar check or the lint flags, and
writes into ``--out``:

``candidates.parquet``  the kept templates (the release's template schema), deterministic
``review.md``           one block per candidate: the source record, the slotted template, its
                        he/she/they renderings, why it was kept, the duplicates it beat, and the
                        curator's decision when the spec already has one
``report.json``         per source what became of its records (``source_counts``: read,
                        quarantined, prefiltered, rejected by reason, dropped by each filter,
                        duplicates, render, kept), and every rejection counted as
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

from schemas.quarantine import MAX_CHARS, MAX_RECORD_BYTES
from schemas.records import SourceRecord, Template, templates_table

CANDIDATES_FILE, REVIEW_FILE, REPORT_FILE = "candidates.parquet", "review.md", "report.json"
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\([^()]*\)|\d+")


def reason_kind(reason: str) -> str:
    """A rejection reason with its particulars (names, numbers) blanked, for counting."""
    return _QUOTED.sub("…", reason)


@dataclass
class ExtractResult:
    out_dir: str
    candidates: int
    per_source: dict[str, dict] = field(default_factory=dict)
    rejections: list[dict] = field(default_factory=list)


def _key(source: str, stage: str, reason: str) -> str:
    return json.dumps([source, stage, reason])


def _extract_stage(reason: str) -> str:
    from transforms.prefilter import is_prefiltered

    return "prefilter" if is_prefiltered(reason) else "extract"


def candidate_graph(p, spec, dump: Callable[[str, object], None], quota_order: bool = True,
                    parse_cache: bool = True) -> None:
    from pipelines.graph import extract_records, filter_candidates
    from transforms.candidate_filters import KEPT, REJECTED as FILTERED, SampleRecords
    from transforms.extract import QUARANTINED, REJECTED, TEMPLATES
    from transforms.ingest import RECORDS, IngestSources, expand_paths
    from transforms.quota_order import UNREACHED_TAG as UNREACHED

    sources = [pair for s in spec.sources for pair in expand_paths(
        replace(s, options={MAX_RECORD_BYTES: spec.filters.max_record_bytes, **s.options}), spec.resolve(s.path))]
    ingested = p | "Ingest" >> IngestSources(sources)
    sampled = ingested[RECORDS] | SampleRecords(spec.extract, spec.seed)
    extracted = extract_records(sampled[KEPT], spec, quota_order, parse_cache)
    filtered = filter_candidates(extracted[TEMPLATES], spec)
    read_counts = (ingested[RECORDS] | "RecordSources" >> beam.Map(lambda r: _key(r["source_dataset"], "read", "")))
    # records a filter dropped unparsed: outside a leading sample, or past the point where the quota filled
    sample_counts = ((sampled[FILTERED], extracted[UNREACHED]) | "UnparsedDrops" >> beam.Flatten()
                     | "SampleReasons" >> beam.Map(lambda r: _key(r["source_dataset"], r["stage"], r["reason"])))
    ext_counts = (extracted[REJECTED]
                  | "ExtractReasons" >> beam.Map(lambda r: _key(r["source_dataset"], _extract_stage(r["reason"]),
                                                                reason_kind(r["reason"]))))
    flt_counts = (filtered[FILTERED]
                  | "FilterReasons" >> beam.Map(lambda r: _key(r["template"]["source_dataset"], r["stage"],
                                                               reason_kind(r["reason"]))))
    _ = ((read_counts, sample_counts, ext_counts, flt_counts) | "Reasons" >> beam.Flatten()
         | "Count" >> beam.combiners.Count.PerElement()
         | "AllCounts" >> beam.combiners.ToList() | "DumpCounts" >> beam.Map(lambda c: dump("counts", sorted(c))))
    _ = (filtered[KEPT] | "AllKept" >> beam.combiners.ToList()
         | "DumpKept" >> beam.Map(lambda ts: dump("kept", sorted(ts, key=lambda t: (t["source_dataset"], t["ordinal"],
                                                                                     t["template_id"])))))
    _ = ((ingested[QUARANTINED], extracted[QUARANTINED]) | "AllQuarantined" >> beam.Flatten()
         | "CollectQuarantined" >> beam.combiners.ToList() | "DumpQuarantined" >> beam.Map(lambda q: dump("quarantined", q)))


def source_counts(counts: Mapping[str, int], quarantined: Sequence[Mapping], kept: Sequence[Template],
                  sources: Sequence[str]) -> dict[str, dict]:
    """Per source, what became of its records: ``read`` (ingested, quarantined ones included),
    ``quarantined`` (malformed, oversized, over ``max_chars``), ``prefiltered``, ``rejected`` (by the
    extraction rule, by reason), ``filters`` (candidates each filter dropped; a leading ``sample``
    counts records, and so does ``quota`` for the records past the point where it filled, never parsed:
    ``transforms.quota_order``), ``duplicates`` (exact and near), ``render`` (the he/she/they check) and
    ``kept``.
    Every record read is counted once: read = quarantined + prefiltered + rejected + filters + duplicates
    + render + kept."""
    out = {s: {"read": 0, "quarantined": 0, "prefiltered": 0, "rejected": {}, "filters": {}, "duplicates": 0,
               "render": 0, "kept": 0} for s in sources}
    for q in quarantined:
        out[q["source"]]["quarantined"] += 1
        if q["reason"] != MAX_CHARS:
            out[q["source"]]["read"] += 1  # set aside by ingest, so not among the records it passed on
    for k, n in counts.items():
        source, stage, reason = json.loads(k)
        c = out[source]
        if stage == "read":
            c["read"] += n
        elif stage == "prefilter":
            c["prefiltered"] += n
        elif stage == "extract":
            c["rejected"][reason] = c["rejected"].get(reason, 0) + n
        elif stage.startswith("filter:"):
            rule = stage.split(":", 1)[1]
            c["filters"][rule] = c["filters"].get(rule, 0) + n
        elif stage == "dedup":
            c["duplicates"] += n
        elif stage == "render":
            c["render"] += n
    for t in kept:
        out[t.source_dataset]["kept"] += 1
    for c in out.values():
        c["rejected"] = dict(sorted(c["rejected"].items(), key=lambda kv: (-kv[1], kv[0])))
        c["filters"] = dict(sorted(c["filters"].items()))
    return out


def _dedup(templates: list[Template], spec) -> tuple[list[Template], dict[str, list[str]], list[tuple[Template, str]]]:
    """Exact duplicates by normalised text (the first in source order stays), then, with ``filters.dedup:
    near``, near duplicates within each task (``transforms.near_dedup``, the build's rule). Returns the
    kept, who beat whom, and each dropped candidate with its reason."""
    from transforms.filter import dedup_key

    kept, beat, dropped = [], defaultdict(list), []
    first: dict[str, Template] = {}
    for t in templates:
        k = dedup_key(t) if spec.filters.dedup != "none" else t.template_id
        if k in first:
            beat[first[k].template_id].append(t.template_id)
            dropped.append((t, "exact duplicate"))
        else:
            first[k] = t
            kept.append(t)
    if spec.filters.dedup == "near" and kept:
        from transforms.near_dedup import near_dedup, resolve_method

        method = resolve_method(spec.filters.near_method)
        gone: dict[str, str] = {}
        for task in sorted({t.task for t in kept}):
            _, pairs = near_dedup([t.to_dict() for t in kept if t.task == task], method, spec.filters.near_threshold,
                                  [s.name for s in spec.sources])
            for pair in pairs:
                beat[pair.kept].append(pair.dropped)
                gone[pair.dropped] = f"near duplicate ({method})"
        dropped += [(t, gone[t.template_id]) for t in kept if t.template_id in gone]
        kept = [t for t in kept if t.template_id not in gone]
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
                beam_args: Sequence[str] = (), quota_order: bool = True, parse_cache: bool = True) -> ExtractResult:
    """Phase one on ``runner``, then dedup, the render check and the files; ``quota_order=False`` parses every
    record of a source with a quota, ``parse_cache=False`` a shared passage once a batch rather than once a
    worker (the same candidates either way, slower: see ``transforms.quota_order``, ``transforms.parse_cache``)."""
    import pickle

    from pipelines.build import pipeline_options
    from pipelines.extract_check import render_findings
    from transforms.extract import load_nlp
    from transforms.filter import split_by_filters
    from transforms.write import write_table

    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".extract-") as staging:
        def dump(name, value):
            with open(os.path.join(staging, name + ".pickle"), "wb") as f:
                pickle.dump(value, f)

        with pipeline_options(runner, workers, dask_address, beam_args) as (make_runner, options):
            with beam.Pipeline(runner=make_runner(), options=options) as p:
                candidate_graph(p, spec, dump, quota_order, parse_cache)

        def take(name, default):
            path = os.path.join(staging, name + ".pickle")
            if not os.path.exists(path):
                return default
            with open(path, "rb") as f:
                return pickle.load(f)

        kept = [Template.from_dict(t) for t in take("kept", [])]
        counts = Counter({k: n for k, n in take("counts", [])})
        quarantined = take("quarantined", [])
        kept, dropped = split_by_filters(kept, spec.filters)  # the spec's filters, as a build applies them
        for t, rule in dropped:
            counts[_key(t.source_dataset, f"filter:{rule}", rule)] += 1
        kept, beat, duplicates = _dedup(kept, spec)
        for t, why in duplicates:
            counts[_key(t.source_dataset, "dedup", why)] += 1
        findings = render_findings(kept, load_nlp()) if kept else {}
        for t in kept:
            if t.template_id in findings:
                counts[_key(t.source_dataset, "render", reason_kind(findings[t.template_id][0].split(": ", 1)[1]))] += 1
        kept = [t for t in kept if t.template_id not in findings]
        per_source = source_counts(counts, quarantined, kept, [ex.source for ex in spec.extract])
        rejections = [dict(zip(("source", "stage", "reason"), json.loads(k)), count=n)
                      for k, n in sorted(counts.items()) if json.loads(k)[1] != "read"]
        report = {"benchmark": spec.benchmark, "spec_hash": spec.spec_hash, "candidates": len(kept),
                  "per_source": per_source, "rejections": rejections,
                  "quarantined": len(quarantined), "dedup": spec.filters.dedup}
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
    """One line per source: records read, what each stage took, candidates kept."""
    head = ("source", "read", "quarant.", "prefilt.", "rejected", "filters", "dupl.", "render", "kept")
    lines = ["{:22} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6}".format(*head)]
    for name, c in sorted(result.per_source.items()):
        lines.append(f"{name:22} {c['read']:8,} {c['quarantined']:8,} {c['prefiltered']:8,} "
                     f"{sum(c['rejected'].values()):8,} {sum(c['filters'].values()):8,} {c['duplicates']:6,} "
                     f"{c['render']:6,} {c['kept']:6,}")
    by_stage = Counter()
    for r in result.rejections:
        by_stage[r["stage"]] += r["count"]
    lines.append("rejected: " + ", ".join(f"{s} {n:,}" for s, n in sorted(by_stage.items())))
    return "\n".join(lines)
