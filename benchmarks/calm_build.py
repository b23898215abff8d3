"""Time the calm-v1 build against CALM's own expansion approach, and print the ratio.

Baseline: ``benchmarks/calm_baseline.py``, a faithful plain-Python re-run of CALM's six
expansion scripts (read templates and name tables, seed CPython's random, sample,
string-replace, write jsonl). Candidate: the whole biasbench build of
configs/calm-v1.yaml (Beam pipeline: import, filter, plan, expand, lint, Parquet,
then stats, Great Expectations validation, card, manifest), in the same process.

    .venv/bin/python benchmarks/calm_build.py [--data-dir ../shared/data/calm] [--repeat 3]

ratio = build seconds / baseline seconds (best of ``--repeat`` each); the target is <= 1.
Each variant runs in its own child process, so the peak RSS printed is that variant's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
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


def child(variant: str, data_dir: str, repeat: int) -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    work = tempfile.mkdtemp(prefix="calm-bench-")
    try:
        def baseline():
            out = os.path.join(work, "baseline")
            shutil.rmtree(out, ignore_errors=True)
            return calm_baseline.run(data_dir, out)

        def build():  # imports included: a user's `biasbench build` pays them
            from pipelines.build import build_release
            from pipelines.spec import load_spec

            out = os.path.join(work, "build")
            shutil.rmtree(out, ignore_errors=True)
            spec = load_spec(os.path.join(ROOT, "configs", "calm-v1.yaml"), data_dir=data_dir)
            return build_release(spec, out_dir=out)

        seconds, out = _best(baseline if variant == "baseline" else build, repeat)
        info = {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        if variant == "baseline":
            info["rows"] = out
        else:
            info["rows"] = sum(c["rows"] for c in out.configs.values())
            info["stages"] = out.seconds
        print(json.dumps(info))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "calm"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child")
    args = p.parse_args(argv)
    if not os.path.isdir(args.data_dir):
        print(f"skipped: {args.data_dir} is absent (CALM's published data)", file=sys.stderr)
        return 0
    if args.child:
        child(args.child, args.data_dir, args.repeat)
        return 0
    res = {}
    for v in ("baseline", "build"):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", v, "--data-dir", args.data_dir,
                               "--repeat", str(args.repeat)], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode:
            sys.stderr.write(proc.stderr[-3000:])
            return 1
        res[v] = json.loads(proc.stdout.strip().splitlines()[-1])
    base, build = res["baseline"], res["build"]
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in build["stages"].items())
    print(f"baseline (CALM's scripts, plain Python → jsonl): {base['rows']:,} rows in {base['seconds']:.2f}s, "
          f"peak {base['peak_mb']:.0f} MB")
    print(f"biasbench build calm-v1 (Beam → Parquet + lint + GX validation + stats + card + manifest, "
          f"imports included): {build['rows']:,} rows in {build['seconds']:.2f}s ({stages}), "
          f"peak {build['peak_mb']:.0f} MB")
    print(f"ratio build/baseline: {build['seconds'] / base['seconds']:.1f}x (target <= 1); "
          f"memory ratio {build['peak_mb'] / base['peak_mb']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
