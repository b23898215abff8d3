"""Hostile specs, tampered releases and unkind signals (issue 7), each run as a user would.

Every case runs the real CLI in a child process (``python -m pipelines.cli``),
so stderr is exactly what a user sees: one line, and the documented exit code.
Every case also lists the folder around ``--out`` before and after, so a write
outside it fails the test, and hashes the releases built earlier, which must
not change.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipelines.spec import default_spec_path
from pipelines.staging import host_tag

PROJECT = Path(__file__).resolve().parent.parent
DEMO_DIR = Path(default_spec_path()).parent


def cli_env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), GX_ANALYTICS_ENABLED="false", HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")
    env.pop("BIASBENCH_DEBUG", None)
    env.update(extra)
    return env


def cli(*argv, cwd=None, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, argv)], cwd=cwd, env=cli_env(**env),
                          capture_output=True, text=True, timeout=600)


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("biasbench: "), lines[0]
    return lines[0]


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with the sha256 of each file ('' for folders)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return out


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """``<ws>/spec.yaml`` (a copy of the demo spec, two configs), its data, and a good release R in ``<ws>/out``."""
    ws = tmp_path_factory.mktemp("hostile")
    shutil.copytree(DEMO_DIR / "data", ws / "data")
    spec = yaml.safe_load(Path(default_spec_path()).read_text())
    spec["configs"] = spec["configs"][:2]
    (ws / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = cli("build", ws / "spec.yaml", "--out", ws / "out")
    assert result.returncode == 0, result.stderr
    return ws


def write_spec(ws: Path, name: str, mutate) -> Path:
    spec = yaml.safe_load((ws / "spec.yaml").read_text())
    mutate(spec)
    path = ws / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def assert_refused_cleanly(ws: Path, argv, code: int, *fragments) -> str:
    """Run ``argv``; exit ``code``, one line with the fragments, nothing new around ``--out``."""
    before = tree(ws)
    result = cli(*argv)
    assert result.returncode == code, result.stderr
    line = one_line(result)
    for fragment in fragments:
        assert fragment in line, line
    after = tree(ws)
    assert after == before, sorted(set(after) ^ set(before))
    return line


# --- 1. names that become paths -------------------------------------------------------------------

@pytest.mark.parametrize("mutate, fragments", [
    (lambda s: s.update(benchmark="../../escape"), ["key '<top>'", "benchmark '../../escape'"]),
    (lambda s: s.update(benchmark="/tmp/escape"), ["benchmark '/tmp/escape'"]),
    (lambda s: s["configs"][0].update(name="../../../../cfgescape"), ["configs[0]", "config '../../../../cfgescape'"]),
    (lambda s: s["configs"][0].update(name="qa/gender"), ["configs[0]", "config 'qa/gender'"]),
    (lambda s: s["configs"][0].update(split="../test"), ["configs[0]", "split '../test'"]),
    (lambda s: s.update(version="banana"), ["version 'banana' is not semver"]),
], ids=["benchmark-dotdot", "benchmark-absolute", "config-dotdot", "config-slash", "split", "spec-version"])
def test_names_that_would_leave_out_are_refused(workspace, mutate, fragments):
    spec = write_spec(workspace, "bad-name.yaml", mutate)
    try:
        line = assert_refused_cleanly(workspace, ["build", spec, "--out", workspace / "out"], 2, *fragments)
        assert "bad-name.yaml" in line
    finally:
        spec.unlink()
    assert not Path("/tmp/escape").exists()


@pytest.mark.parametrize("version", ["banana", "../../x", "1.0", "01.2.3"])
def test_version_flag_must_be_semver(workspace, version):
    assert_refused_cleanly(workspace, ["build", workspace / "spec.yaml", "--out", workspace / "out",
                                       "--version", version], 2, f"version {version!r} is not semver")


# --- 4. permissions ------------------------------------------------------------------------------

def test_release_folders_follow_the_umask(workspace):
    release = workspace / "out" / "biasbench-demo" / "0.1.0"
    expected = 0o777 & ~_umask()
    for path in [release, *[p for p in release.rglob("*") if p.is_dir()]]:
        assert path.stat().st_mode & 0o777 == expected, path
    for path in [p for p in release.rglob("*") if p.is_file()]:
        assert path.stat().st_mode & 0o777 == 0o666 & ~_umask(), path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- 6. signals, stale staging --------------------------------------------------------------------

def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _interrupt_at(ws: Path, marker: str, signum: int, *extra) -> tuple[subprocess.CompletedProcess, list]:
    """Start a build, send ``signum`` once stderr shows ``marker``; return the result and the children seen."""
    out = ws / f"out-{signal.Signals(signum).name}-{marker.strip('[]')}"
    before = {p.name for p in ws.iterdir()}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "build", str(ws / "spec.yaml"), "--out", str(out),
                             "--progress", "on", *extra], env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen, children = [], []
    deadline = time.monotonic() + 300
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            children = _descendants(proc.pid)
            proc.send_signal(signum)
            break
        assert time.monotonic() < deadline, "".join(seen)
    else:
        pytest.fail(f"the build ended before {marker}: {''.join(seen)}")
    rest_out, rest_err = proc.communicate(timeout=120)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, rest_out, rest_err)
    assert {p.name for p in ws.iterdir()} - before <= {out.name}
    return result, children


def _assert_stopped_cleanly(result, children, signum, out: Path):
    assert result.returncode == 128 + signum, result.stderr
    line = one_line(result)
    assert f"interrupted by {signal.Signals(signum).name}" in line
    assert not list(out.rglob(".staging-*")), list(out.rglob("*"))
    assert not [p for p in out.rglob("manifest.json")]
    deadline = time.monotonic() + 10
    while any(p.is_running() and p.status() != "zombie" for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in children if p.is_running() and p.status() != "zombie"]
    assert not left, [p.cmdline() for p in left]


@pytest.mark.parametrize("marker, signum, extra", [
    ("[pipeline]", signal.SIGTERM, ()),
    ("[plan]", signal.SIGINT, ("--workers", "2")),
    ("[validate]", signal.SIGTERM, ()),
], ids=["sigterm-phase1", "sigint-phase2-two-workers", "sigterm-validation"])
def test_signal_stops_the_build_cleanly(workspace, marker, signum, extra):
    release = workspace / "out" / "biasbench-demo" / "0.1.0"
    before = tree(release)
    result, children = _interrupt_at(workspace, marker, signum, *extra)
    out = workspace / f"out-{signal.Signals(signum).name}-{marker.strip('[]')}"
    _assert_stopped_cleanly(result, children, signum, out)
    assert tree(release) == before
    shutil.rmtree(out, ignore_errors=True)


def test_stale_staging_is_removed_by_the_next_build(workspace, tmp_path):
    out = tmp_path / "out"
    parent = out / "biasbench-demo"
    parent.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = parent / f".staging-0.1.0-{host_tag()}-p{dead.pid}-abc123"
    (stale / "data").mkdir(parents=True)
    (stale / "data" / "half.parquet").write_bytes(b"PAR1")
    live = parent / f".staging-0.1.0-{host_tag()}-p{os.getpid()}-def456"  # a build still running
    live.mkdir()
    foreign = parent / ".staging-0.1.0-00000000-p1-old999"  # another host's, two days old
    foreign.mkdir()
    old = time.time() - 2 * 24 * 3600
    os.utime(foreign, (old, old))
    result = cli("build", workspace / "spec.yaml", "--out", out, "--version", "0.1.1")
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and not foreign.exists()
    assert live.exists()
    assert sorted(p.name for p in parent.iterdir()) == [live.name, "0.1.1"]


# --- 8. error output ------------------------------------------------------------------------------

def test_input_error_inside_a_beam_stage_is_one_line(workspace):
    bad = workspace / "bad-data"
    shutil.copytree(workspace / "data", bad / "data")
    with open(bad / "data" / "demo" / "qa.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "broken", "passage": \n')
    try:
        line = assert_refused_cleanly(workspace, ["build", workspace / "spec.yaml", "--data-dir", bad,
                                                  "--out", workspace / "out2"], 2, "qa.jsonl, line", "not valid JSON")
        assert "while running" not in line and "Traceback" not in line
    finally:
        shutil.rmtree(bad)
        shutil.rmtree(workspace / "out2", ignore_errors=True)


def test_list_shaped_spec_names_the_file(workspace):
    path = workspace / "list.yaml"
    path.write_text("- benchmark: x\n- configs: []\n")
    try:
        assert_refused_cleanly(workspace, ["build", path, "--out", workspace / "out"], 2, "list.yaml",
                               "a spec is a YAML mapping")
    finally:
        path.unlink()


def test_validate_writes_nothing_to_stderr(workspace):
    result = cli("validate", workspace / "out" / "biasbench-demo" / "0.1.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
