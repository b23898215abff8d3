"""Time the whole ``biasbench build configs/bbq-v1.yaml`` against BBQ's own generation algorithm.

Baselines (``benchmarks/bbq_baseline.py``, a plain-Python re-run of BBQ's two generation scripts
written for this benchmark, 58,492 rows to JSON Lines), each in its own process:

- ``pandas``: BBQ's data handling (a one-row DataFrame copied and filled column by column with
  ``.loc`` per pair), what makes BBQ's own two scripts take about 61 s on the development machine;
- ``plain``: the same algorithm over dicts read with ``csv`` (the floor of the algorithm).

Candidate: ``python -m pipelines.cli build configs/bbq-v1.yaml`` in a fresh process (Beam's two
pipelines, import, plan, four-way rendering, lint, Parquet, stats, Great Expectations, card,
manifest; interpreter start and imports included).

    .venv/bin/python benchmarks/bbq_build.py [--data-dir ../shared/data/bbq] [--repeat 3] \
        [--code before=../main --code after=.] [--skip-pandas]

Each variant: best wall time of ``--repeat`` runs, and the CPU time (user + system) of that run,
which a machine shared with other work disturbs less. The target is build / pandas baseline <= 0.1.
Every build is also shown against BBQ's two scripts as measured on the development machine (~61 s,
``BBQ_SCRIPTS_SECONDS``), for runs that skip the slow pandas baseline (``--skip-pandas``) on a loaded
machine, where it takes minutes. ``--code`` (repeatable) builds with other code trees as well.
``--hide-semantic`` builds as on a machine without the optional semantic extra: the stats' similarity
figures by TF-IDF instead of MiniLM (which, installed, costs minutes of CPU in every build).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: BBQ's own two generation scripts, run on the development machine (issue 12): about 61 s together
BBQ_SCRIPTS_SECONDS = 61.0


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process, run in its code tree (the last entry of ``env``'s
    PYTHONPATH: ``python -m`` puts the working directory first on sys.path)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=env["PYTHONPATH"].split(os.pathsep)[-1], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "bbq"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--code", action="append", default=[], metavar="LABEL=DIR",
                   help="a code tree to build with (repeatable); default: this one")
    p.add_argument("--skip-pandas", action="store_true", help="leave out the pandas baseline (minutes under load)")
    p.add_argument("--hide-semantic", action="store_true",
                   help="build as without the optional semantic extra (TF-IDF similarity, not MiniLM, in the stats)")
    args = p.parse_args(argv)
    if not os.path.isdir(os.path.join(args.data_dir, "templates")):
        print(f"skipped: {args.data_dir}/templates is absent (BBQ's templates and vocabulary)", file=sys.stderr)
        return 0
    env = {**os.environ, "PYTHONPATH": ROOT, "GX_ANALYTICS_ENABLED": "false"}
    codes = [tuple(c.split("=", 1)) for c in args.code] or [("build", ROOT)]
    work = tempfile.mkdtemp(prefix="bbq-bench-")
    variants = {
        "pandas": [sys.executable, os.path.join(ROOT, "benchmarks", "bbq_baseline.py"), args.data_dir,
                   os.path.join(work, "bbq.jsonl"), "--engine", "pandas"],
        "plain": [sys.executable, os.path.join(ROOT, "benchmarks", "bbq_baseline.py"), args.data_dir,
                  os.path.join(work, "bbq.jsonl"), "--engine", "plain"],
    }
    if args.skip_pandas:
        del variants["pandas"]
    builds = {label: [sys.executable, "-m", "pipelines.cli", "build", os.path.join(code, "configs", "bbq-v1.yaml"),
                      "--data-dir", args.data_dir, "--out", os.path.join(work, "out")] for label, code in codes}
    envs = {name: env for name in variants}
    envs.update({label: {**env, "PYTHONPATH": os.path.abspath(code)} for label, code in codes})
    if args.hide_semantic:  # a package that fails to import shadows sentence-transformers in the builds
        hidden = os.path.join(work, "hide", "sentence_transformers")
        os.makedirs(hidden)
        with open(os.path.join(hidden, "__init__.py"), "w") as f:
            f.write('raise ImportError("hidden by benchmarks/bbq_build.py --hide-semantic")\n')
        for label, _ in codes:
            envs[label]["PYTHONPATH"] = os.path.dirname(hidden) + os.pathsep + envs[label]["PYTHONPATH"]
    variants.update(builds)
    best: dict[str, tuple[float, float]] = {}
    try:
        for _ in range(args.repeat):  # rounds: every variant once per round, so load changes hit them alike
            for name, cmd in variants.items():
                shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
                run = _run(cmd, envs[name])
                if name not in best or run[0] < best[name][0]:
                    best[name] = run
    finally:
        shutil.rmtree(work, ignore_errors=True)
    labels = {"pandas": "baseline: BBQ's algorithm, BBQ's DataFrame handling → jsonl",
              "plain": "baseline: BBQ's algorithm over dicts (csv) → jsonl",
              **{label: f"biasbench build configs/bbq-v1.yaml [{label}] (whole CLI run)" for label in builds}}
    for name, (wall, cpu) in best.items():
        print(f"{labels[name]}: 58,492 rows, wall {wall:.2f}s, cpu {cpu:.2f}s")
    for label in builds:
        build = best[label]
        for base in ("pandas", "plain"):
            if base in best:
                wall_ratio, cpu_ratio = build[0] / best[base][0], build[1] / best[base][1]
                print(f"ratio [{label}]/{base} baseline: wall {wall_ratio:.2f}x, cpu {cpu_ratio:.2f}x"
                      + (" (target <= 0.1)" if base == "pandas" else ""))
        print(f"ratio [{label}]/BBQ's scripts as measured ({BBQ_SCRIPTS_SECONDS:.0f} s): wall "
              f"{build[0] / BBQ_SCRIPTS_SECONDS:.2f}x, cpu {build[1] / BBQ_SCRIPTS_SECONDS:.2f}x (target <= 0.1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
