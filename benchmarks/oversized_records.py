"""Time the embedded default with an oversized record in a source against the plain default.

Variants, each a whole ``biasbench build`` of a copy of configs/default.yaml and its data
(imports, both Beam pipelines, Great Expectations, stats, card, manifest):

- ``demo``: the embedded default as shipped (the baseline);
- ``passage-900k``: plus a QA record whose passage holds 900,000 characters (under the
  1 MiB record limit, over ``max_chars``: quarantined before spaCy);
- ``line-50mb``: plus a 50 MB JSON Lines line (over ``max_record_bytes``: quarantined by
  its raw size, never decoded).

    .venv/bin/python benchmarks/oversized_records.py [--repeat 2]

Each variant runs in its own child process; its peak RSS is the larger of the build's
own process and the Great Expectations worker it starts, its CPU time theirs together
(a steadier figure than wall time on a shared machine). ratio = variant / demo.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

VARIANTS = ("demo", "passage-900k", "line-50mb")


def _prepare(variant: str, work: str) -> str:
    """A copy of the default spec and its data under ``work``, with the variant's oversized record."""
    configs = os.path.join(ROOT, "configs")
    shutil.copytree(os.path.join(configs, "data"), os.path.join(work, "data"))
    shutil.copy(os.path.join(configs, "default.yaml"), os.path.join(work, "spec.yaml"))
    if variant == "passage-900k":
        passage = ("Mary walked to the market and bought bread for her neighbours. " * 15_000)[:900_000]
        line = json.dumps({"id": "qa-huge", "passage": passage, "question": "Who walked?", "answer": "Mary"})
        target = "qa.jsonl"
    elif variant == "line-50mb":
        line = ('{"id": "nli-big", "premise": "' + "Mary left. " * (50 * 1024 * 1024 // 11)
                + '", "hypothesis": "Mary left.", "label": "neutral"}')
        target = "nli.jsonl"
    else:
        return os.path.join(work, "spec.yaml")
    with open(os.path.join(work, "data", "demo", target), "a", encoding="utf-8") as f:
        f.write(line + "\n")
    return os.path.join(work, "spec.yaml")


def child(variant: str, repeat: int) -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from pipelines.cli import main

    work = tempfile.mkdtemp(prefix="oversized-bench-")
    try:
        spec = _prepare(variant, work)
        best, quarantine = float("inf"), {}
        for i in range(repeat):
            out = os.path.join(work, f"out-{i}")
            t0 = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()) as stdout:
                code = main(["build", spec, "--out", out])
            best = min(best, time.perf_counter() - t0)
            if code:
                raise SystemExit(f"{variant}: build exited {code}")
            release = stdout.getvalue().strip().splitlines()[-1]
            path = os.path.join(release, "quarantine.json")
            quarantine = json.load(open(path, encoding="utf-8"))["counts"] if os.path.exists(path) else {}
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        cpu = sum(u.ru_utime + u.ru_stime for u in usage) / repeat
        peak = max(u.ru_maxrss for u in usage)
        print(json.dumps({"seconds": best, "cpu": cpu, "peak_mb": peak / 1024, "quarantined": quarantine}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--child", choices=VARIANTS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.repeat)
        return 0
    res = {}
    for v in VARIANTS:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", v, "--repeat", str(args.repeat)],
                              capture_output=True, text=True, cwd=ROOT)
        if proc.returncode:
            sys.stderr.write(proc.stderr[-3000:])
            return 1
        res[v] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = res["demo"]
    for v in VARIANTS:
        r = res[v]
        quarantined = " ".join(f"{k}={n}" for k, n in r["quarantined"].items()) or "none"
        print(f"{v:13s} {r['seconds']:6.1f}s wall  {r['cpu']:6.1f}s CPU  peak {r['peak_mb']:5.0f} MB  "
              f"quarantined: {quarantined:20s} wall x{r['seconds'] / base['seconds']:.2f}  "
              f"CPU x{r['cpu'] / base['cpu']:.2f}  memory x{r['peak_mb'] / base['peak_mb']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
