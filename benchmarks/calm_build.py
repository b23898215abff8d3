"""Time the calm-v1 build against CALM's own expansion approach, and print the ratio.

Baseline: ``benchmarks/calm_baseline.py``, a faithful plain-Python re-run of CALM's six
expansion scripts (read templates and name tables, seed CPython's random, sample,
string-replace, write jsonl). Candidate: the whole biasbench build of
configs/calm-v1.yaml (Beam pipeline: import, filter, plan, expand, lint, Parquet,
then stats, Great Expectations validation, card, manifest), in the same process.

    .venv/bin/python benchmarks/calm_build.py [--data-dir ../shared/data/calm] [--repeat 3]

ratio = build seconds / baseline seconds (best of ``--repeat`` each); the target is <= 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.dirname(os.path.abspath(__file__))]

import calm_baseline  # noqa: E402


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "calm"))
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    if not os.path.isdir(args.data_dir):
        print(f"skipped: {args.data_dir} is absent (CALM's published data)", file=sys.stderr)
        return 0
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from pipelines.build import build_release
    from pipelines.spec import load_spec

    work = tempfile.mkdtemp(prefix="calm-bench-")
    try:
        def baseline():
            out = os.path.join(work, "baseline")
            shutil.rmtree(out, ignore_errors=True)
            return calm_baseline.run(args.data_dir, out)

        def build():
            out = os.path.join(work, "build")
            shutil.rmtree(out, ignore_errors=True)
            spec = load_spec(os.path.join(ROOT, "configs", "calm-v1.yaml"), data_dir=args.data_dir)
            return build_release(spec, out_dir=out)

        base_s, rows = _best(baseline, args.repeat)
        build_s, result = _best(build, args.repeat)
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.seconds.items())
        print(f"baseline (CALM's scripts, plain Python → jsonl): {rows:,} rows in {base_s:.2f}s")
        print(f"biasbench build calm-v1 (Beam → Parquet + validation + card): "
              f"{sum(c['rows'] for c in result.configs.values()):,} rows in {build_s:.2f}s ({stages})")
        print(f"ratio build/baseline: {build_s / base_s:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
