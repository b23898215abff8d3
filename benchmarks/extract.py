"""Extraction benchmarks over CALM's source corpora, one part at a time.

    .venv/bin/python benchmarks/extract.py --part prefilter [--calm-dir ../shared/data/calm] [--limit 2000]
        [--sources snli,rte,...]
    .venv/bin/python benchmarks/extract.py --part gold [--calm-dir ../shared/data/calm]
    .venv/bin/python benchmarks/extract.py --part heldout [--calm-dir ../shared/data/calm]

``prefilter``: per source, the first ``--limit`` records extracted twice in the same process with
the spaCy model already loaded, in batches of 256 as the Beam DoFn does: once with spaCy on every
record (the baseline), once behind the prefilter (``transforms.people.cues``). Prints source
records per second of each and the ratio, and checks that the prefilter lost no candidate the
baseline found (the template ids must be equal); exits 1 if one is lost.

``gold``: precision and recall of extraction on the hand-checked gold set
(``tests/data/extract_gold.jsonl``), per source (``pipelines.extract_eval``).

``heldout``: the share of CALM's own templates (``templates/*.json``, sources that ingest) whose
passage is among the records extraction keeps, matched on the passage's text outside the slots.

``dedup`` (near-duplicate removal time) is added by the ingest/dedup work.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT]
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

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


def _extract(records, ex, nlp):
    from transforms.extract import extract_batch

    out = []
    for i in range(0, len(records), BATCH):
        out += extract_batch(records[i:i + BATCH], ex, nlp)
    return out


def part_prefilter(spec, args) -> int:
    from dataclasses import replace

    from schemas.records import Template
    from transforms.extract import load_nlp

    nlp = load_nlp()
    wanted = args.sources.split(",") if args.sources else None
    lost_any = False
    totals = {"records": 0, "ner": 0.0, "pre": 0.0}
    print(f"{'source':22} {'records':>7} {'passed':>7} {'NER-all rec/s':>13} {'prefilter rec/s':>15} {'ratio':>6} "
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
        base = _extract(records, everyone, nlp)
        t_ner = time.perf_counter() - t0
        t0 = time.perf_counter()
        pre = _extract(records, ex, nlp)
        t_pre = time.perf_counter() - t0
        from transforms.extract import PREFILTERED
        passed = sum(1 for o in pre if getattr(o, "reason", None) != PREFILTERED)
        found = {o.template_id for o in base if isinstance(o, Template)}
        kept = {o.template_id for o in pre if isinstance(o, Template)}
        lost = found - kept
        lost_any |= bool(lost)
        n = len(records)
        totals["records"] += n
        totals["ner"] += t_ner
        totals["pre"] += t_pre
        print(f"{ex.source:22} {n:7d} {passed:7d} {n / t_ner:13.0f} {n / t_pre:15.0f} {t_ner / t_pre:6.1f} "
              f"{len(kept):5d} {len(lost):4d}")
    if totals["records"]:
        n = totals["records"]
        print(f"{'all':22} {n:7d} {'':7} {n / totals['ner']:13.0f} {n / totals['pre']:15.0f} "
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

    passages = calm_passages(os.path.join(args.calm_dir, "templates"))
    results = heldout_share(spec, passages, load_nlp())
    print(format_heldout(results))
    return 0


PARTS = {"prefilter": part_prefilter, "gold": part_gold, "heldout": part_heldout}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=sorted(PARTS), required=True)
    ap.add_argument("--calm-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "calm"))
    ap.add_argument("--limit", type=int, default=2000, help="records per source (prefilter)")
    ap.add_argument("--sources", default="", help="comma-separated source names (prefilter); default all")
    args = ap.parse_args(argv)
    from pipelines.spec import load_spec

    spec = load_spec(SPEC, data_dir=args.calm_dir)
    return PARTS[args.part](spec, args)


if __name__ == "__main__":
    sys.exit(main())
