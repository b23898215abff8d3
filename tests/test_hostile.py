"""Hostile specs, tampered releases, oversized and out-of-bounds inputs, unkind signals (issue 7).

Each case is run as a user would: the real CLI in a child process (``python -m
pipelines.cli``) wherever stderr and the exit code matter, so "one line on
stderr" is what a user sees. Cases list the folder around ``--out`` before and
after, so a write outside it fails the test, and hash the releases built
earlier, which must not change. Sections follow the issue's items:

1. names that become paths; 2–3. releases that verify themselves (tampering,
   publish, build/rebuild over a corrupt release); 4. permissions; 5. size limits
   before parsing; 6. signals and stale staging; 7. confined reads; 8. error output.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.cli import main
from pipelines.spec import default_spec_path, load_spec
from pipelines.staging import host_tag
from schemas.errors import SpecError
from schemas.ids import file_sha256
from schemas.quarantine import DEFAULT_MAX_RECORD_BYTES, Quarantined
from schemas.records import SourceRecord
from schemas.release import DIGEST_KEY, integrity_checks, manifest_digest, manifest_text
from transforms.ingest import read_source

PROJECT = Path(__file__).resolve().parent.parent
DEMO_DIR = Path(default_spec_path()).parent

# one worker runs this module: the `workspace` build (a CLI build, module scope) is made once, not once per worker
pytestmark = pytest.mark.xdist_group("hostile")


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
    # a broken line is quarantined by default (tests/test_malformed.py); malformed: error makes it an input error
    spec = yaml.safe_load((workspace / "spec.yaml").read_text())
    spec["sources"][0]["options"] = {"malformed": "error"}
    (bad / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    try:
        line = assert_refused_cleanly(workspace, ["build", bad / "spec.yaml", "--data-dir", bad,
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


# === 2-3. tampered releases =======================================================================

BENCH = "biasbench-demo"
SHARD = "data/qa_gender/test-00000-of-00001.parquet"


@pytest.fixture
def built(default_release) -> Path:
    """The good release: the session's build of the embedded default (read only; ``release`` is a copy)."""
    assert default_release.parts[-2:] == (BENCH, "0.1.0")
    return default_release


@pytest.fixture
def release(built, tmp_path) -> Path:
    """A fresh copy of the good release at ``tmp_path/out/biasbench-demo/0.1.0``."""
    copy = tmp_path / "out" / BENCH / "0.1.0"
    shutil.copytree(built, copy)
    return copy


def run_cli(*argv: str) -> tuple[int, str, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "GX_ANALYTICS_ENABLED": "false", "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    env.pop("BIASBENCH_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], capture_output=True, text=True, env=env,
                       cwd=str(PROJECT), timeout=600)
    return p.returncode, p.stdout, p.stderr.splitlines()


def snapshot(root: Path) -> dict[str, str]:
    """Every path under root (dotfiles and directories included) with its sha256 or kind."""
    out = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(base, name)
            rel = str(path.relative_to(root))
            out[rel] = (f"link:{os.readlink(path)}" if path.is_symlink() else "dir" if path.is_dir()
                        else file_sha256(str(path)))
    return out


def manifest_of(release: Path) -> dict:
    return json.loads((release / "manifest.json").read_text())


def reseal(release: Path, manifest: dict) -> None:
    """Write a manifest with a valid seal: what a tamperer who knows the format would do."""
    (release / "manifest.json").write_text(manifest_text(manifest))


def refresh_entry(manifest: dict, release: Path, rel: str) -> None:
    """Make the manifest's entry for ``rel`` match the file as it is now."""
    path = release / rel
    entry = next(e for e in manifest["files"] if e["path"] == rel)
    entry.update(bytes=path.stat().st_size, sha256=file_sha256(str(path)),
                 rows=pq.ParquetFile(path).metadata.num_rows if rel.endswith(".parquet") else 0)


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def refused(code: int, err: list[str], *needles: str) -> None:
    assert code == 3, err
    assert len(err) == 1 and err[0].startswith("biasbench: "), err
    for needle in needles:
        assert needle in err[0], (needle, err)


# --- the seal --------------------------------------------------------------------------------

def test_built_manifest_is_sealed_and_lists_every_file(built):
    manifest = manifest_of(built)
    assert manifest[DIGEST_KEY] == manifest_digest(manifest)
    on_disk = {k for k, v in snapshot(built).items() if v != "dir"} - {"manifest.json"}
    assert {e["path"] for e in manifest["files"]} == on_disk
    assert not [c for c in integrity_checks(str(built), manifest) if c.problems]
    code, out, err = run_cli("validate", str(built))
    assert code == 0 and re.match(r"(\d+)/\1 checks passed", out) and "FAIL" not in out


def test_edited_version_fails_validate_and_publish(release):
    before = snapshot(release.parent.parent.parent)
    text = (release / "manifest.json").read_text()
    (release / "manifest.json").write_text(text.replace('"version": "0.1.0"', '"version": "9.9.9"'))
    code, out, err = run_cli("validate", str(release))
    refused(code, err, "manifest_digest manifest.json")
    assert "FAIL manifest_digest manifest.json: changed after it was sealed" in out
    code, out, err = run_cli("publish", str(release), "--repo-id", "org/demo", "--dry-run")
    refused(code, err, "refusing to publish", "manifest_digest")
    assert "9.9.9" not in out and out == ""
    after = snapshot(release.parent.parent.parent)
    assert after == {**before, f"out/{BENCH}/0.1.0/manifest.json": after[f"out/{BENCH}/0.1.0/manifest.json"]}


def test_resealed_version_that_disagrees_with_the_release_fails(release):
    manifest = manifest_of(release)
    manifest["version"] = "9.9.9"
    reseal(release, manifest)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, "manifest_version manifest.json", "validation.json says '0.1.0'")
    code, out, err = run_cli("publish", str(release), "--repo-id", "org/demo", "--dry-run")
    refused(code, err, "manifest_version")
    assert "v9.9.9" not in out


# --- files that should not be there, or are not there -----------------------------------------

def test_extra_files_fail_validate_and_publish(release):
    (release / "loader.py").write_text("import os\n")
    (release / ".env").write_text("HF_TOKEN=hf_secret\n")
    (release / "data" / "qa_gender" / ".cache").write_bytes(b"x")
    before = snapshot(release.parent.parent.parent)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, ".env", "loader.py", "data/qa_gender/.cache")
    for rel in (".env", "loader.py", "data/qa_gender/.cache"):
        assert f"FAIL no_unlisted_files {rel}: not listed in the manifest" in out
    code, out, err = run_cli("publish", str(release), "--repo-id", "org/demo", "--dry-run")
    refused(code, err, "refusing to publish", ".env", "loader.py")
    assert snapshot(release.parent.parent.parent) == before


def test_missing_file_fails_validate_and_build(release):
    (release / "lexicons.parquet").unlink()
    out_dir = release.parent.parent
    before = snapshot(out_dir.parent)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, "file_integrity lexicons.parquet (missing)")
    assert "FAIL file_integrity lexicons.parquet: missing" in out
    code, out, err = run_cli("build", "--out", str(out_dir))
    refused(code, err, f"{release} is corrupt: lexicons.parquet missing; run biasbench validate")
    assert snapshot(out_dir.parent) == before


def test_symlinked_file_is_reported_not_followed(release, tmp_path):
    outside = tmp_path / "outside.parquet"
    shutil.copy(release / SHARD, outside)  # same bytes: only the link itself is wrong
    (release / SHARD).unlink()
    os.symlink(outside, release / SHARD)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, SHARD, "symlink")
    assert f"FAIL file_integrity {SHARD}: symlink" in out


def test_symlinked_directory_is_reported_not_followed(release, tmp_path):
    outside = tmp_path / "outside-dir"
    shutil.move(release / "data" / "qa_gender", outside)
    os.symlink(outside, release / "data" / "qa_gender")
    code, out, err = run_cli("validate", str(release))
    refused(code, err, "data/qa_gender (symlink to a directory)")
    assert f"FAIL file_integrity {SHARD}: passes through data/qa_gender (symlink to a directory)" in out
    assert "FAIL no_unlisted_files data/qa_gender: symlink to a directory" in out
    code, out, err = run_cli("build", "--out", str(release.parent.parent))
    refused(code, err, f"{release} is corrupt: {SHARD} passes through data/qa_gender")


# --- paths outside the release ------------------------------------------------------------------

def test_manifest_entry_outside_the_release_is_never_opened(release, tmp_path, monkeypatch, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of any release\n")
    secret_sha = file_sha256(str(secret))
    relative = os.path.relpath(secret, release)  # ../../../secret.txt
    assert relative.startswith("..")
    manifest = manifest_of(release)
    for path in (relative, str(secret), "../../../../../../etc/hostname"):
        manifest["files"].append({"path": path, "rows": 0, "bytes": secret.stat().st_size, "sha256": secret_sha})
    reseal(release, manifest)

    code, out, err = run_cli("validate", str(release))
    refused(code, err, relative, str(secret), "../../../../../../etc/hostname")
    assert f"FAIL file_integrity {relative}: path leaves the release ('..'); not opened" in out
    assert f"FAIL file_integrity {secret}: absolute path, outside the release; not opened" in out
    assert secret_sha not in out + "".join(err)

    opened = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(os.path.realpath(file) if isinstance(file, (str, os.PathLike)) else file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    code = main(["validate", str(release)])
    capsys.readouterr()
    assert code == 3
    assert opened and str(secret.resolve()) not in opened and "/etc/hostname" not in opened


# --- corrupt content under an intact manifest --------------------------------------------------

def test_flipped_byte_fails_build_and_rebuild_leaving_everything_untouched(release, built):
    flip_byte(release / SHARD)
    out_dir = release.parent.parent
    older = out_dir / BENCH / "0.0.9"  # an earlier, intact release beside the corrupt one
    shutil.copytree(built, older)
    manifest = manifest_of(older)
    manifest["version"] = "0.0.9"
    reseal(older, manifest)
    before = snapshot(out_dir.parent)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, f"file_integrity {SHARD} (sha256 differs)")
    assert f"FAIL file_integrity {SHARD}: sha256 differs" in out
    code, out, err = run_cli("build", "--out", str(out_dir))
    refused(code, err, f"{release} is corrupt: {SHARD} sha256 differs; run biasbench validate")
    assert out == "" and not any("nothing changed" in line for line in err)
    code, out, err = run_cli("rebuild", "default", "--out", str(out_dir))
    refused(code, err, f"{release} is corrupt: {SHARD} sha256 differs; run biasbench validate")
    assert out == "" and not any("up to date" in line for line in err)
    assert snapshot(out_dir.parent) == before


def test_release_holding_another_version_is_corrupt_for_build(release):
    manifest = manifest_of(release)
    manifest["version"] = "0.0.1"
    reseal(release, manifest)
    code, out, err = run_cli("build", "--out", str(release.parent.parent))
    refused(code, err, "is corrupt: manifest.json says version '0.0.1'")


def test_rows_mismatch_fails(release):
    manifest = manifest_of(release)
    manifest["configs"]["qa_gender"]["rows"] += 1
    reseal(release, manifest)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, "manifest_rows")
    assert "FAIL manifest_rows qa_gender manifest.json: configs.qa_gender.rows says" in out


def test_schema_mismatch_fails(release):
    table = pq.read_table(release / SHARD)
    i = table.schema.get_field_index("question")
    table = table.set_column(i, pa.field("question", pa.large_string()), table.column(i).cast(pa.large_string()))
    pq.write_table(table, release / SHARD, compression="zstd")
    manifest = manifest_of(release)
    refresh_entry(manifest, release, SHARD)
    reseal(release, manifest)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, "manifest_schema", SHARD)
    assert f"FAIL manifest_schema qa_gender {SHARD}: column question is large_string but the manifest records string" in out


def test_card_that_disagrees_with_the_manifest_fails(release):
    card = (release / "README.md").read_text()
    assert "path: data/qa_gender/*.parquet" in card
    (release / "README.md").write_text(card.replace("path: data/qa_gender/*.parquet", "path: data/qa_race/*.parquet"))
    manifest = manifest_of(release)
    refresh_entry(manifest, release, "README.md")
    reseal(release, manifest)
    code, out, err = run_cli("validate", str(release))
    refused(code, err, "card_configs", "README.md")
    assert "FAIL card_configs qa_gender README.md: config qa_gender: data_files select" in out


# --- publish uploads exactly the manifest's files -------------------------------------------

def _fake_hub():
    from huggingface_hub import HfApi

    api = mock.create_autospec(HfApi, instance=True)
    api.list_repo_refs.return_value = mock.Mock(tags=[], branches=[])
    api.create_commit.return_value = mock.Mock(oid="c0ffee", commit_url="https://hub.example/commit/c0ffee")
    return api


def test_publish_uploads_exactly_the_listed_files(release):
    from pipelines.publish import publish_release

    (release / "stats.html").write_text("<p>swapped after the build</p>")  # a change, then an honest re-seal
    manifest = manifest_of(release)
    refresh_entry(manifest, release, "stats.html")
    reseal(release, manifest)
    manifest = manifest_of(release)
    api = _fake_hub()
    plan = publish_release(str(release), "org/demo", dry_run=False, api=api)
    listed = {e["path"] for e in manifest["files"]} | {"manifest.json"}
    api.upload_folder.assert_not_called()
    api.create_commit.assert_called_once()
    args, kwargs = api.create_commit.call_args
    assert args[0] == "org/demo" and kwargs["repo_type"] == "dataset"
    operations = args[1]
    assert sorted(op.path_in_repo for op in operations) == sorted(listed)
    from pipelines.card import card_for_repo

    card = card_for_repo((release / "README.md").read_text(encoding="utf-8"), "org/demo").encode("utf-8")
    for op in operations:
        if op.path_in_repo == "manifest.json":  # the local manifest, but listing the card written for the repo
            uploaded = json.loads(op.path_or_fileobj)
            strip = lambda m: {**{k: v for k, v in m.items() if k != DIGEST_KEY},
                               "files": [e for e in m["files"] if e["path"] != "README.md"]}
            assert strip(uploaded) == strip(manifest) and uploaded[DIGEST_KEY] == manifest_digest(uploaded)
            (entry,) = [e for e in uploaded["files"] if e["path"] == "README.md"]
            assert entry["sha256"] == hashlib.sha256(card).hexdigest() and entry["bytes"] == len(card)
        elif op.path_in_repo == "README.md":
            assert op.path_or_fileobj == card and b'load_dataset("org/demo"' in card
        else:
            assert op.path_or_fileobj == os.path.normpath(release / op.path_in_repo)
            entry = next(e for e in manifest["files"] if e["path"] == op.path_in_repo)
            assert op.upload_info.sha256.hex() == entry["sha256"]
    api.create_tag.assert_called_once()
    assert api.create_tag.call_args.kwargs["tag"] == "v0.1.0" and api.create_tag.call_args.kwargs["revision"] == "c0ffee"
    assert {f["path"] for f in plan["files"]} == listed
    dry = publish_release(str(release), "org/demo", dry_run=True)
    assert [f["path"] for f in dry["files"]] == [f["path"] for f in plan["files"]]


def test_publish_refuses_a_release_with_extra_files_before_any_hub_call(release):
    from pipelines.publish import publish_release
    from schemas.errors import ValidationFailed

    (release / ".env").write_text("HF_TOKEN=hf_secret\n")
    api = _fake_hub()
    with pytest.raises(ValidationFailed, match=r"refusing to publish.*no_unlisted_files \.env"):
        publish_release(str(release), "org/demo", dry_run=False, api=api)
    assert api.mock_calls == []


def test_publish_refuses_a_file_swapped_after_validation(release, monkeypatch):
    """The upload hashes each file once more: a swap between validation and upload is caught."""
    import pipelines.publish as publish
    from schemas.errors import ValidationFailed
    from validation import gate

    real = gate.validate_release

    def validate_then_swap(release_dir, manifest=None):
        report = real(release_dir, manifest=manifest)
        flip_byte(Path(release_dir) / SHARD)
        return report

    monkeypatch.setattr(gate, "validate_release", validate_then_swap)
    api = _fake_hub()
    with pytest.raises(ValidationFailed, match=f"{SHARD} changed after validation"):
        publish.publish_release(str(release), "org/demo", dry_run=False, api=api)
    api.create_commit.assert_not_called()


def test_intact_release_still_builds_as_unchanged(release):
    out_dir = release.parent.parent
    before = snapshot(out_dir.parent)
    code, out, err = run_cli("build", "--out", str(out_dir))
    assert code == 0 and any("already holds this exact release; nothing changed" in line for line in err)
    assert snapshot(out_dir.parent) == before


# === 5 and 7. oversized records, confined reads =====================================================

DEMO_SPEC = Path(default_spec_path())


def demo_copy(root: Path, mutate=None) -> Path:
    """configs/default.yaml and its data folder copied under ``root``; ``mutate(spec dict)`` edits the spec."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEMO_SPEC.parent / "data", root / "data", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    spec = yaml.safe_load(DEMO_SPEC.read_text())
    if mutate:
        mutate(spec)
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def build(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def parquet_hashes(release: Path) -> dict[str, str]:
    manifest = json.loads((release / "manifest.json").read_text())
    return {f["path"]: f["sha256"] for f in manifest["files"] if f["path"].endswith(".parquet")}


def quarantine_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("[quarantine]")]


# --- 5. an oversized record never reaches spaCy -------------------------------------------------------

def test_a_900000_character_passage_is_quarantined_and_the_rest_builds_as_usual(default_release, tmp_path, capsys):
    spec = demo_copy(tmp_path / "demo")
    qa = spec.parent / "data/demo/qa.jsonl"
    line = len(qa.read_text().splitlines()) + 1  # appended: every other record keeps its line
    passage = ("Mary walked to the market and bought bread for her neighbours. " * 15_000)[:900_000]
    with qa.open("a") as f:
        f.write(json.dumps({"id": "qa-huge", "passage": passage, "question": "Who walked?", "answer": "Mary"}) + "\n")

    code, out, err = build(["build", str(spec), "--out", str(tmp_path / "out"), "--progress", "on"], capsys)
    assert code == 0, err
    release = Path(out.strip().splitlines()[-1])
    report = json.loads((release / "quarantine.json").read_text())
    assert report == {"counts": {"max_chars": 1}, "by_source": {"demo_qa": 1}, "listed": 1, "records": [
        {"source": "demo_qa", "file": "data/demo/qa.jsonl", "line": line, "record_id": "qa-huge",
         "reason": "max_chars", "size": 900_000 + len("Who walked?"), "limit": 4000}]}
    [progress] = quarantine_lines(err)
    assert "data/demo/qa.jsonl, line" in progress and f"line {line}:" in progress and "900,011 characters" in progress
    assert "quarantined: max_chars=1" in err
    # nothing else changed: the same templates, the same rows
    assert (release / "templates.parquet").read_bytes() == (default_release / "templates.parquet").read_bytes()
    assert parquet_hashes(release) == parquet_hashes(default_release)
    # the release lists its quarantine file like every other file
    manifest = json.loads((release / "manifest.json").read_text())
    assert "quarantine.json" in {f["path"] for f in manifest["files"]}
    assert not (default_release / "quarantine.json").exists()


def test_a_50_mb_line_is_quarantined_by_its_raw_size(tmp_path, capsys):
    spec = demo_copy(tmp_path / "demo")
    nli = spec.parent / "data/demo/nli.jsonl"
    line = len(nli.read_text().splitlines()) + 1
    big = '{"id": "nli-big", "premise": "' + "Mary left. " * (50 * 1024 * 1024 // 11) + '", "hypothesis": "x"}'
    with nli.open("a") as f:
        f.write(big + "\n")

    code, out, err = build(["build", str(spec), "--out", str(tmp_path / "out"), "--progress", "on"], capsys)
    assert code == 0, err
    assert "E088" not in err
    report = json.loads((Path(out.strip().splitlines()[-1]) / "quarantine.json").read_text())
    assert report["records"] == [{"source": "demo_nli", "file": "data/demo/nli.jsonl", "line": line,
                                  "reason": "max_record_bytes", "size": len(big), "limit": DEFAULT_MAX_RECORD_BYTES}]
    [progress] = quarantine_lines(err)
    assert f"data/demo/nli.jsonl, line {line}: {len(big):,} bytes" in progress


def lines_file(path: Path, lines: list[str], end: str = "\n") -> str:
    path.write_bytes("".join(x + end for x in lines).encode())
    return str(path)


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_jsonl_lines_at_and_over_the_byte_limit(tmp_path, end):
    from schemas.spec import SourceSpec

    at = json.dumps({"id": "at", "t": "a" * 80})
    limit = len(at)
    over = json.dumps({"id": "ov", "t": "é" * 80}, ensure_ascii=False)  # as many characters, but more bytes
    assert len(over) == limit < len(over.encode())
    huge = json.dumps({"id": "huge", "t": "b" * 300_000})  # read past in chunks
    path = lines_file(tmp_path / "s.jsonl", [at, over, huge, '{"id": "after"}'], end)
    out = list(read_source(SourceSpec("s", "jsonl", "s.jsonl", id_field="id", options={"max_record_bytes": limit}),
                           path))
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["at", "after"]
    assert [q for q in out if isinstance(q, Quarantined)] == [
        Quarantined("s", "line", 2, "max_record_bytes", len(over.encode()), limit, file="s.jsonl"),
        Quarantined("s", "line", 3, "max_record_bytes", len(huge), limit, file="s.jsonl")]


def test_text_csv_and_json_records_over_the_limit(tmp_path):
    from schemas.spec import SourceSpec

    opts = {"max_record_bytes": 100}
    text = lines_file(tmp_path / "t.txt", ["short", "x" * 101, "", "last"])
    out = list(read_source(SourceSpec("t", "text", "t.txt", options=opts), text))
    assert [getattr(r, "fields", None) for r in out] == [{"text": "short"}, None, {"text": "last"}]
    assert out[1] == Quarantined("t", "line", 2, "max_record_bytes", 101, 100, file="t.txt")

    csv = lines_file(tmp_path / "c.csv", ["id,text", "a,fine", f'b,"{"y" * 120}"', "c,ok"])
    out = list(read_source(SourceSpec("c", "csv", "c.csv", id_field="id", options=opts), csv))
    assert out[1] == Quarantined("c", "line", 3, "max_record_bytes", 121, 100, record_id="b", file="c.csv")
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["a", "c"]

    doc = tmp_path / "d.json"
    doc.write_text(json.dumps({"data": [{"q": "fine", "items": [1, 2]}, {"q": "z" * 200, "items": [3]}]}))
    out = list(read_source(SourceSpec("d", "json", "d.json", records="data",
                                      options={**opts, "explode": "items"}), str(doc)))
    # the parent is measured before it is exploded, and its quarantine entry passes through explode
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["0.0", "0.1"]
    assert out[2] == Quarantined("d", "record", 1, "max_record_bytes", 201, 100, record_id="1", file="d.json")


def test_a_zero_limit_reads_everything_and_a_bad_one_is_a_spec_error(tmp_path):
    from schemas.spec import SourceSpec

    path = lines_file(tmp_path / "s.jsonl", [json.dumps({"t": "w" * (DEFAULT_MAX_RECORD_BYTES + 10)})])
    [default] = read_source(SourceSpec("s", "jsonl", "s.jsonl"), path)
    assert isinstance(default, Quarantined) and default.limit == DEFAULT_MAX_RECORD_BYTES
    [record] = read_source(SourceSpec("s", "jsonl", "s.jsonl", options={"max_record_bytes": 0}), path)
    assert isinstance(record, SourceRecord)
    with pytest.raises(SpecError, match="option max_record_bytes"):
        read_source(SourceSpec("s", "jsonl", "s.jsonl", options={"max_record_bytes": "1MB"}), path)
    spec = demo_copy(tmp_path / "demo", lambda s: s["filters"].update(max_record_bytes=-1))
    with pytest.raises(SpecError, match="filters.*max_record_bytes"):
        load_spec(str(spec))


def test_extraction_quarantines_an_over_long_record_before_parsing():
    from schemas.spec import ExtractSpec
    from transforms.extract import extract_batch, load_nlp

    spec = ExtractSpec(source="demo", task="sentiment", fields={"sentence": "text"}, answer="label")
    recs = [{"source_dataset": "demo", "source_split": "test", "record_id": rid, "location": f"s.jsonl, line {n}",
             "source_license": "", "fields": {"text": text, "label": "positive"}}
            for n, (rid, text) in enumerate([("a", "Mary was glad she came."), ("b", "Tom sang. " * 20)], 1)]
    kept, quarantined = extract_batch(recs, spec, load_nlp(), max_chars=100)
    assert kept.fields["sentence"] == "{person} was glad {person.subj} came."
    assert quarantined == Quarantined("demo", "line", 2, "max_chars", len(("Tom sang. " * 20).strip()), 100,
                                      record_id="b")


# --- 7. --confine-inputs ------------------------------------------------------------------------------

def cli_child(argv: list[str]) -> subprocess.CompletedProcess:
    """The real command in a child process: its whole stderr is what a user sees."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], capture_output=True, text=True, env=env,
                          cwd=PROJECT, timeout=300)


def with_sentiment_path(path: str, **top):
    def mutate(spec):
        spec["sources"][2]["path"] = path
        spec.update(top)
    return mutate


def assert_refused_at_load(spec: Path, argv: list[str], key: str, path: str):
    out = spec.parent / "out"
    before = sorted(os.listdir(spec.parent))
    done = cli_child([*argv[:1], str(spec), *argv[1:], "--out", str(out)])
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert str(spec) in lines[0] and f"'{key}'" in lines[0] and repr(path) in lines[0], lines[0]
    assert sorted(os.listdir(spec.parent)) == before and not out.exists()


@pytest.mark.parametrize("path", ["../../secret.txt", "/etc/passwd"])
def test_confine_inputs_refuses_paths_outside_in_one_line(tmp_path, path):
    (tmp_path / "secret.txt").write_text('{"sentence": "Mary is the admin password."}\n')
    spec = demo_copy(tmp_path / "a" / "b", with_sentiment_path(path))
    assert_refused_at_load(spec, ["build", "--confine-inputs"], "sources[2].path", path)


def test_the_spec_key_confines_too_and_rebuild_honours_the_flag(tmp_path):
    spec = demo_copy(tmp_path / "a", with_sentiment_path("/etc/passwd", confine_inputs=True))
    assert_refused_at_load(spec, ["build"], "sources[2].path", "/etc/passwd")
    lexicon = demo_copy(tmp_path / "b", lambda s: s["lexicons"][0].update(path="../a/data/lexicons/first_names.jsonl"))
    assert_refused_at_load(lexicon, ["rebuild", "--confine-inputs"], "lexicons[0].path",
                           "../a/data/lexicons/first_names.jsonl")


def test_symlinks_zip_archives_urls_and_the_data_dir_under_confinement(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.jsonl").write_text("{}\n")
    with zipfile.ZipFile(outside / "corpus.zip", "w") as zf:
        zf.writestr("s.jsonl", "{}\n")
    spec = demo_copy(tmp_path / "demo")
    data = spec.parent / "data"
    os.symlink(outside / "s.jsonl", data / "link.jsonl")
    (data / "linked").mkdir()
    os.symlink(outside, data / "linked" / "dir")

    def load_with_source(written, data_dir=None):
        spec.write_text(yaml.safe_dump({**yaml.safe_load(DEMO_SPEC.read_text()), "confine_inputs": True,
                                        "sources": [{"name": "s", "format": "jsonl", "path": written}],
                                        "extract": []}))
        return load_spec(str(spec), data_dir=data_dir)

    def refused(written, match):
        with pytest.raises(SpecError, match=match) as e:
            load_with_source(written)
        assert str(spec) in str(e.value) and "'sources[0].path'" in str(e.value)

    out = re.escape(str(outside))
    refused("data/link.jsonl", f"resolves to {out}/s.jsonl, outside")
    refused("data/linked", f"holds a symlink leading outside .*linked/dir -> {out}")
    refused(f"{outside}/corpus.zip!s.jsonl", f"resolves to {out}/corpus.zip, outside")
    refused("gs://bucket/s.jsonl", "is a URL")

    shutil.copy(outside / "corpus.zip", data / "corpus.zip")
    assert load_with_source("data/corpus.zip!s.jsonl").sources[0].path == "data/corpus.zip!s.jsonl"
    assert load_with_source(str(data / "demo" / "qa.jsonl")).sources  # absolute, but inside the spec's folder
    # with --data-dir, relative paths resolve there (the lexicon) and the spec's folder stays allowed (the source)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(data / "lexicons", elsewhere / "data" / "lexicons")
    loaded = load_with_source(str(data / "demo" / "qa.jsonl"), data_dir=str(elsewhere))
    assert loaded.resolve(loaded.lexicons[0].path).startswith(str(elsewhere))


def test_without_confinement_paths_outside_are_read_as_before(tmp_path, capsys):
    shutil.copy(DEMO_SPEC.parent / "data/demo/sentiment.jsonl", tmp_path / "secret.jsonl")
    spec = demo_copy(tmp_path / "a" / "b", with_sentiment_path("../../secret.jsonl"))
    assert load_spec(str(spec)).resolve("../../secret.jsonl") == str(tmp_path / "secret.jsonl")
    code, out, err = build(["build", str(spec), "--out", str(tmp_path / "out"), "--progress", "on"], capsys)
    assert code == 0, err
    import datasets

    rows = datasets.load_dataset(out.strip().splitlines()[-1], "sentiment_gender", split="test")
    assert rows.num_rows > 0
