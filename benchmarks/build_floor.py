"""Whole CLI builds and `biasbench validate` against the import floor of what they need.

For each benchmark (the demo, calm-v1, holistic-bias) it runs, each in its own
child process and interleaved round by round:

- floor: a child that only imports what the build needs (apache_beam and
  great_expectations; spaCy too when the spec extracts templates with it);
- build: ``biasbench build SPEC --data-dir … --out TMP`` (the CLI, imports
  included), for every code tree named with ``--code`` (e.g. main's and this one);

then ``biasbench validate`` of the holistic-bias release each code tree built.
It prints each build as a ratio to the floor measured in the same run (target:
<= 1.5), and each validate as a ratio to the first code tree's (target: <= 0.3).

    .venv/bin/python benchmarks/build_floor.py --code before=../main --code after=. [--repeat 3] [--data DIR]

Times are the best of ``--repeat`` rounds (the machine is shared: the minimum is
the least disturbed); peak RSS is each child's own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")

#: benchmark -> (spec, data dir under ../shared/data or None, imports of its floor)
BENCHMARKS = {
    "demo": ("default", None, ("apache_beam", "great_expectations", "spacy")),
    "calm-v1": ("calm-v1", "calm", ("apache_beam", "great_expectations")),
    "holistic-bias": ("holistic-bias", "holistic_bias/v1.1", ("apache_beam", "great_expectations")),
}


def _timed(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, the child and every process it waited for) and peak RSS
    (MB, the largest single process) of one child process; raises with its stderr when it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _env(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(code), GX_ANALYTICS_ENABLED="false", HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")
    return env


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", action="append", default=[], metavar="LABEL=DIR",
                   help="a code tree to run the CLI from (repeatable; the first is the validate baseline); "
                        "default: this one")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--data", default=DATA, help="the shared data folder (default: ../shared/data)")
    p.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="benchmarks to run (default: all)")
    args = p.parse_args(argv)
    codes = [tuple(c.split("=", 1)) for c in args.code] or [("this", ROOT)]
    wanted = args.only or list(BENCHMARKS)
    runnable = {}
    for name in wanted:
        spec, data, imports = BENCHMARKS[name]
        if data and not os.path.isdir(os.path.join(args.data, data)):
            print(f"skipped {name}: {os.path.join(args.data, data)} is absent", file=sys.stderr)
            continue
        runnable[name] = (spec, os.path.join(args.data, data) if data else None, imports)
    work = tempfile.mkdtemp(prefix="build-floor-")
    best: dict[tuple[str, str], tuple[float, float, float]] = {}

    def keep(key, measured):
        old = best.get(key, measured)
        best[key] = (min(old[0], measured[0]), min(old[1], measured[1]), max(old[2], measured[2]))

    try:
        for round_ in range(args.repeat):
            for name, (spec, data, imports) in runnable.items():
                floor_cmd = [sys.executable, "-c", "; ".join(f"import {m}" for m in imports)]
                keep((name, "floor"), _timed(floor_cmd, _env(codes[-1][1])))
                for label, code in codes:
                    out = os.path.join(work, label, name)
                    shutil.rmtree(out, ignore_errors=True)
                    cmd = [sys.executable, "-m", "pipelines.cli", "build", spec, "--out", out]
                    if data:
                        cmd += ["--data-dir", data]
                    keep((name, label), _timed(cmd, _env(code)))
            if "holistic-bias" in runnable:
                for label, code in codes:
                    release = os.path.join(work, label, "holistic-bias", "holistic-bias", "1.1.0")
                    keep(("validate", label), _timed([sys.executable, "-m", "pipelines.cli", "validate", release],
                                                     _env(code)))
            print(f"round {round_ + 1}/{args.repeat} done", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"best of {args.repeat} rounds (wall and CPU each); floor = a child importing only what the build needs; "
          "CPU = user + system of the child and the processes it waited for")
    head = f"{'run':<44}{'wall s':>8}{'ratio':>7}{'CPU s':>8}{'ratio':>7}{'peak MB':>9}  target"
    print(head + "\n" + "-" * len(head))

    def line(label, key, base, target=""):
        wall, cpu, mb = best[key]
        print(f"{label:<44}{wall:>8.2f}{wall / base[0]:>7.2f}{cpu:>8.2f}{cpu / base[1]:>7.2f}{mb:>9.0f}  {target}")

    for name, (spec, data, imports) in runnable.items():
        floor = best[(name, "floor")]
        line(f"floor {name} ({' + '.join(imports)})", (name, "floor"), floor)
        for label, _ in codes:
            line(f"build {name} [{label}]", (name, label), floor, "<= 1.5 x floor")
    if "holistic-bias" in runnable:
        base = best[("validate", codes[0][0])]
        for label, _ in codes:
            line(f"validate holistic-bias [{label}]", ("validate", label), base, f"<= 0.3 x [{codes[0][0]}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
