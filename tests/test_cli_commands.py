"""The release commands through the CLI: validate, stats, diff, rebuild, publish --dry-run."""

import json
import shutil
from pathlib import Path

import yaml

from pipelines.cli import main
from pipelines.spec import default_spec_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_passes_then_catches_a_tampered_file(default_release, tmp_path, capsys):
    code, out, _ = run(["validate", str(default_release)], capsys)
    assert code == 0 and out.strip().splitlines()[-1].endswith("checks passed")
    assert "as sealed in stats.json" in out and "rows_sha256" not in out
    code, full, _ = run(["validate", "--full", str(default_release)], capsys)
    assert code == 0 and "recomputed from the rows" in full and "ok   rows_sha256" in full
    copy = tmp_path / "copy"
    shutil.copytree(default_release, copy)
    shard = next((copy / "data" / "qa_gender").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[:-10] + b"0123456789")
    code, out, _ = run(["validate", str(copy)], capsys)
    assert code == 3 and "FAIL" in out


def test_stats_prints_groups_and_json(default_release, capsys):
    code, out, _ = run(["stats", str(default_release)], capsys)
    assert code == 0 and "qa_gender" in out and "non-binary=" in out
    code, out, _ = run(["stats", str(default_release), "--json"], capsys)
    assert code == 0 and "qa_gender" in json.loads(out)["configs"]


def test_diff_of_a_release_with_itself_is_empty(default_release, capsys):
    code, out, _ = run(["diff", str(default_release), str(default_release)], capsys)
    assert code == 0 and "none" in out.lower()


def test_publish_dry_run_plans_without_network(default_release, capsys):
    code, out, _ = run(["publish", str(default_release), "--repo-id", "org/demo", "--dry-run"], capsys)
    assert code == 0 and "would publish" in out and "tag v0.1.0" in out and "manifest.json" in out


def test_publish_offline_fails_in_one_line(default_release, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = run(["publish", str(default_release), "--repo-id", "org/demo"], capsys)
    assert code == 2 and len([line for line in err.splitlines() if line.startswith("biasbench:")]) == 1


def test_rebuild_cuts_a_version_only_when_inputs_change(default_release, tmp_path, capsys):
    out_dir = tmp_path / "out"
    shutil.copytree(default_release, out_dir / "biasbench-demo" / "0.1.0")
    code, out, err = run(["rebuild", "default", "--out", str(out_dir)], capsys)
    assert code == 0 and "up to date" in err and out.strip().endswith("0.1.0")
    spec = yaml.safe_load(Path(default_spec_path()).read_text())
    spec["configs"] = spec["configs"][:1]  # a changed spec: one config left
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(spec))
    code, out, err = run(["rebuild", str(changed), "--out", str(out_dir),
                          "--data-dir", str(Path(default_spec_path()).parent)], capsys)
    assert code == 0, err
    assert out.strip().endswith("0.2.0") and (out_dir / "biasbench-demo" / "0.2.0" / "manifest.json").exists()
    assert "nli_gender" in err  # the diff against 0.1.0 names the configs that went away
