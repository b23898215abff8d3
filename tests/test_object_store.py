"""Releases on an object store (a GCS emulator on loopback), and builds killed at any moment.

The CLI runs in child processes that inherit the emulator's variables, with
``--workers 2`` (separate worker processes): nothing may pass between the
driver and the workers through a local disk. A release on ``gs://`` must hold
the same bytes as a local build, and ``validate``, ``diff``, ``stats`` and
``rebuild`` must work on it. A build killed with SIGKILL in any phase leaves no
release and no manifest, earlier releases unchanged, and the rerun completes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.spec import default_spec_path
from tests.conftest import CALM_DIR, PROJECT
from tests.small_specs import write_small_spec

DEMO_DIR = Path(default_spec_path()).parent


def cli(*argv, check=True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), GX_ANALYTICS_ENABLED="false")
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, argv)], env=env,
                            capture_output=True, text=True, timeout=900)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def local_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def remote_files(root: str) -> dict[str, str]:
    from schemas import storage

    return {rel: hashlib.sha256(storage.read_bytes(storage.join(root, rel))).hexdigest()
            for rel in storage.list_files(root)}


@pytest.fixture(scope="module")
def small_spec(tmp_path_factory) -> Path:
    """The demo spec cut to two configs, beside a copy of its data."""
    ws = tmp_path_factory.mktemp("spec")
    shutil.copytree(DEMO_DIR / "data", ws / "data")
    spec = yaml.safe_load(Path(default_spec_path()).read_text())
    spec["configs"] = spec["configs"][:2]
    (ws / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return ws / "spec.yaml"


def test_demo_on_gcs_is_byte_identical_and_every_command_reads_it(gcs, default_release, tmp_path):
    bucket = gcs.create_bucket("demo-releases")
    out = f"{bucket}/releases"
    result = cli("build", "--out", out, "--workers", "2")
    release = result.stdout.strip().splitlines()[-1]
    assert release == f"{out}/biasbench-demo/0.1.0"
    assert remote_files(release) == local_files(default_release)
    assert not (Path.cwd() / "gs:").exists()
    # only the release: no staging, no hand-off files left in the bucket
    assert all(name.startswith("releases/biasbench-demo/0.1.0/") for name in gcs.list_objects("demo-releases"))

    assert "checks passed" in cli("validate", release).stdout
    assert "qa_gender" in cli("stats", release).stdout
    diff = cli("diff", default_release, release).stdout
    assert "qa_gender: 195 -> 195 rows; +0 -0 ~0" in diff and "suggested bump: none" in diff, diff
    rebuilt = cli("rebuild", default_spec_path(), "--out", out)
    assert rebuilt.stdout.strip().splitlines()[-1] == release
    assert "up to date" in rebuilt.stderr


def test_a_version_without_manifest_does_not_exist(gcs, small_spec, tmp_path):
    """Objects of a commit killed before its manifest: no command sees a release; the next build commits."""
    from schemas import storage

    bucket = gcs.create_bucket("debris")
    debris = f"{bucket}/releases/biasbench-demo/0.1.0"
    storage.write_bytes(f"{debris}/data/qa_gender/test-00000-of-00001.parquet", b"half a commit")
    assert cli("validate", debris, check=False).returncode == 2
    assert cli("stats", debris, check=False).returncode == 2
    result = cli("rebuild", small_spec, "--out", f"{bucket}/releases")  # no earlier release: builds 0.1.0
    assert result.stdout.strip().splitlines()[-1] == debris
    cli("validate", debris)
    assert b"half a commit" not in storage.read_bytes(f"{debris}/data/qa_gender/test-00000-of-00001.parquet")


# --- SIGKILL at any moment ------------------------------------------------------------------------

def _kill_at(spec: Path, out: str, marker: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), GX_ANALYTICS_ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "build", str(spec), "--out", out, "--version",
                             "0.2.0", "--progress", "on", "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver and every worker it started, with no warning
            break
    else:
        pytest.fail(f"the build ended before {marker!r}: {''.join(seen)}")
    proc.wait(timeout=60)


def _snapshot(out: str) -> dict[str, str]:
    return remote_files(out) if "://" in out else local_files(Path(out))


@pytest.mark.slow
@pytest.mark.parametrize("store", ["local", "gcs"])
def test_sigkill_in_any_phase_leaves_no_release_and_the_rerun_completes(gcs, tmp_path, store):
    # canonical templates (no spaCy to load): five whole builds, the kills included, stay quick
    small_spec = write_small_spec(tmp_path / "spec")
    out = str(tmp_path / "out") if store == "local" else f"{gcs.create_bucket('kill-test')}/out"
    cli("build", small_spec, "--out", out)  # an earlier release, 0.1.0
    earlier = {k: v for k, v in _snapshot(out).items() if "/0.1.0/" in f"/{k}"}
    for marker in ("[pipeline]", "[expand+write]", "[validate]"):
        _kill_at(small_spec, out, marker)
        files = _snapshot(out)
        assert not [k for k in files if "/0.2.0/" in f"/{k}" and k.endswith("manifest.json")], marker
        assert {k: v for k, v in files.items() if "/0.1.0/" in f"/{k}"} == earlier, marker
        assert cli("validate", f"{out}/small/0.2.0", check=False).returncode != 0
    result = cli("build", small_spec, "--out", out, "--version", "0.2.0")
    release = result.stdout.strip().splitlines()[-1]
    assert "checks passed" in cli("validate", release).stdout
    files = _snapshot(out)
    assert not [k for k in files if ".staging-" in k], "the rerun removes the killed runs' staging"
    assert {k: v for k, v in files.items() if "/0.1.0/" in f"/{k}"} == earlier
    # byte-identical to the release the killed runs would have made: 0.1.0 differs only in its version
    new = {k.split("/0.2.0/", 1)[1]: v for k, v in files.items() if "/0.2.0/" in f"/{k}"}
    old = {k.split("/0.1.0/", 1)[1]: v for k, v in earlier.items()}
    assert {k: v for k, v in new.items() if k.endswith(".parquet")} == \
        {k: v for k, v in old.items() if k.endswith(".parquet")}


@pytest.mark.slow
@pytest.mark.xdist_group("calm-v1")  # on the worker that builds calm-v1 for the session
def test_calm_v1_on_gcs_is_byte_identical_to_local(shipped_release, gcs):
    spec = PROJECT / "configs" / "calm-v1.yaml"
    local = shipped_release("calm-v1")  # the session's local build
    bucket = gcs.create_bucket("calm-v1")
    remote = cli("build", spec, "--data-dir", CALM_DIR, "--out", f"{bucket}/releases", "--workers", "2")
    release = remote.stdout.strip().splitlines()[-1]
    assert remote_files(release) == local_files(local)
    assert "checks passed" in cli("validate", release).stdout
    manifest = json.loads(Path(local, "manifest.json").read_text())
    assert sum(c["rows"] for c in manifest["configs"].values()) == 78_400
