"""Tampered releases (issue 7, items 2 and 3): the manifest seals itself and covers every file,
validate names what is wrong, publish uploads exactly the listed files, and build/rebuild never
call a corrupt release unchanged.

The embedded demo is built once per module through the CLI; each case tampers with its own copy.
CLI repros run ``python -m pipelines.cli`` in a subprocess, so "one line on stderr" and the exit
code are what a user sees.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from schemas.ids import file_sha256
from schemas.release import DIGEST_KEY, integrity_checks, manifest_digest, manifest_text

PROJECT = Path(__file__).resolve().parent.parent
BENCH = "biasbench-demo"
SHARD = "data/qa_gender/test-00000-of-00001.parquet"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile-release")
    assert main(["build", "--out", str(out)]) == 0
    return out / BENCH / "0.1.0"


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
    assert code == 0 and out.splitlines()[-1].endswith("checks passed") and "FAIL" not in out


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
    api.list_repo_refs.return_value = mock.Mock(tags=[])
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
    for op in operations:
        if op.path_in_repo == "manifest.json":
            assert json.loads(op.path_or_fileobj) == manifest
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
