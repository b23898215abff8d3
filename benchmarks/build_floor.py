"""Whole CLI builds and `biasbench validate` against the import floor of what they need.

For each benchmark (the demo, calm-v1, holistic-bias, bbq-v1) it runs, each in
its own child process and interleaved round by round:

- floor: a child that only imports what the build needs, then exits as the CLI does
  (without the interpreter's last garbage collections, ``_EXIT``): apache_beam and
  great_expectations always, and spaCy for every spec whose build parses (the
  demo extracts templates with it, and the grammar check of issue 9 parses the
  probes of every config it checks, four-way ones included, so every build here
  needs it). spaCy is imported as the build imports it (``transforms.nlp``:
  without torch, which thinc would otherwise import when it is installed and the
  small English pipelines never call), so the floor does not grow by torch's
  import when the ``semantic`` extra is installed;
- build: ``biasbench build SPEC --data-dir … --out TMP`` (the CLI, imports
  included), for every code tree named with ``--code`` (e.g. main's and this one);

then ``biasbench validate`` of the holistic-bias release each code tree built,
and of the one the ``--validate-baseline`` code tree built (the code before
issue 9: validate's "today"). It prints each build as a ratio to the floor
measured in the same run (target: <= 1.5), and each validate as a ratio to the
baseline's (target: <= 0.3; the first ``--code`` tree when there is no baseline).

    .venv/bin/python benchmarks/build_floor.py --code before=../main --code after=. \
        [--validate-baseline today=/tmp/gs/before] [--repeat 3] [--data DIR] [--only holistic-bias]

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
    "calm-v1": ("calm-v1", "calm", ("apache_beam", "great_expectations", "spacy")),
    "holistic-bias": ("holistic-bias", "holistic_bias/v1.1", ("apache_beam", "great_expectations", "spacy")),
    "bbq-v1": ("bbq-v1", "bbq", ("apache_beam", "great_expectations", "spacy")),
}


#: how the floor's child ends: as the CLI's process does (``pipelines.cli.run``), its objects left out of the
#: interpreter's last garbage collections. Ended normally, the floor's child spent 1.2-1.4 s after its
#: imports tearing them down; the floor is the imports' cost, not that.
_EXIT = "import gc; gc.disable(); gc.freeze()"

#: how a build imports a module, where that is not a plain import (transforms.nlp._import_spacy)
_IMPORT = {"spacy": "import sys; sys.modules['torch'] = None; import spacy; del sys.modules['torch']"}


def _timed(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, the child and every process it waited for) and peak RSS
    (MB, the largest single process) of one child process; raises with its stderr when it fails.

    The child runs in its code tree (``env``'s PYTHONPATH): ``python -m`` puts the working directory
    first on sys.path, so from anywhere else it would import the code found there instead."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=env["PYTHONPATH"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _only_release(parent: str) -> str:
    """The one version folder a build left under ``<out>/<benchmark>`` (its version depends on the code)."""
    (version,) = [v for v in os.listdir(parent) if not v.startswith(".")]
    return os.path.join(parent, version)


def _env(code: str) -> dict:
    """The children's environment. Bytecode caching is left on even where the caller's shell turns it off
    (``PYTHONDONTWRITEBYTECODE``): an installed biasbench, like the floor's site-packages, imports from
    cached bytecode; ``_compile`` writes each code tree's before the first timed run."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(code), GX_ANALYTICS_ENABLED="false", HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _compile(code: str) -> None:
    """Byte-compile a code tree's packages (untimed), as installing it would."""
    packages = [os.path.join(code, d) for d in ("schemas", "transforms", "validation", "pipelines")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *[p for p in packages if os.path.isdir(p)]],
                   env=_env(code), check=True, stdout=subprocess.DEVNULL)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", action="append", default=[], metavar="LABEL=DIR",
                   help="a code tree to run the CLI from (repeatable; the first is the validate baseline); "
                        "default: this one")
    p.add_argument("--validate-baseline", metavar="LABEL=DIR",
                   help="a code tree that builds holistic-bias once (untimed) and whose validate of it is the "
                        "baseline of the validate ratios (e.g. the code before issue 9)")
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
    baseline = tuple(args.validate_baseline.split("=", 1)) if args.validate_baseline else None
    validators = ([baseline] if baseline else []) + codes

    def keep(key, measured):
        old = best.get(key, measured)
        best[key] = (min(old[0], measured[0]), min(old[1], measured[1]), max(old[2], measured[2]))

    for _, code in ([baseline] if baseline else []) + codes:
        _compile(os.path.abspath(code))
    try:
        if baseline and "holistic-bias" in runnable:
            spec, data, _ = runnable["holistic-bias"]
            _timed([sys.executable, "-m", "pipelines.cli", "build", spec, "--data-dir", data, "--out",
                    os.path.join(work, baseline[0], "holistic-bias")], _env(baseline[1]))
        for round_ in range(args.repeat):
            for name, (spec, data, imports) in runnable.items():
                floor_cmd = [sys.executable, "-c", "; ".join([*(_IMPORT.get(m, f"import {m}") for m in imports),
                                                               _EXIT])]
                keep((name, "floor"), _timed(floor_cmd, _env(codes[-1][1])))
                for label, code in codes:
                    out = os.path.join(work, label, name)
                    shutil.rmtree(out, ignore_errors=True)
                    cmd = [sys.executable, "-m", "pipelines.cli", "build", spec, "--out", out]
                    if data:
                        cmd += ["--data-dir", data]
                    keep((name, label), _timed(cmd, _env(code)))
            if "holistic-bias" in runnable:
                for label, code in validators:
                    release = _only_release(os.path.join(work, label, "holistic-bias", "holistic-bias"))
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
        base = best[("validate", validators[0][0])]
        for label, _ in validators:
            line(f"validate holistic-bias [{label}]", ("validate", label), base, f"<= 0.3 x [{validators[0][0]}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
