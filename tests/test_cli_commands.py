"""The release commands through the CLI: validate, stats, diff, rebuild, publish --dry-run."""

import json
import os
import re
import shutil
import subprocess
import sys
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
    assert code == 0 and re.search(r"^(\d+)/\1 checks passed; by check: ", out, re.M)
    assert "as sealed in stats.json" in out and "rows_sha256" not in out
    code, full, _ = run(["validate", "--full", "--verbose", str(default_release)], capsys)
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
    """Up to date: no version. Configs removed: the diff implies major, so a --bump minor is refused and the
    default is 1.0.0, whose card adds it to the changelog; a later patch keeps that entry and adds its own."""
    out_dir = tmp_path / "out"
    shutil.copytree(default_release, out_dir / "biasbench-demo" / "0.1.0")
    code, out, err = run(["rebuild", "default", "--out", str(out_dir)], capsys)
    assert code == 0 and "up to date" in err and out.strip().endswith("0.1.0")
    spec = yaml.safe_load(Path(default_spec_path()).read_text())
    spec["configs"] = spec["configs"][:1]  # a changed spec: one config left
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(spec))
    data = ["--data-dir", str(Path(default_spec_path()).parent)]
    code, out, err = run(["rebuild", str(changed), "--out", str(out_dir), "--bump", "minor", *data], capsys)
    assert code == 2 and "--bump minor: the changes imply a major version" in err and "--force" in err
    assert sorted(p.name for p in (out_dir / "biasbench-demo").iterdir()) == ["0.1.0"]
    code, out, err = run(["rebuild", str(changed), "--out", str(out_dir), *data], capsys)
    assert code == 0, err
    assert out.strip().endswith("1.0.0") and (out_dir / "biasbench-demo" / "1.0.0" / "manifest.json").exists()
    assert "nli_gender" in err and "suggested bump: major" in err  # the diff names the configs that went away
    card = (out_dir / "biasbench-demo" / "1.0.0" / "README.md").read_text()
    assert "- 1.0.0: rebuilt from 0.1.0 (major; the diff implied major): configs removed: decision_gender" in card
    spec["description"] = "The same rows, described anew."  # the spec changed, its rows did not: a patch
    changed.write_text(yaml.safe_dump(spec))
    code, out, err = run(["rebuild", str(changed), "--out", str(out_dir), *data], capsys)
    assert code == 0 and out.strip().endswith("1.0.1"), err
    card = (out_dir / "biasbench-demo" / "1.0.1" / "README.md").read_text()
    log = card.split("## Changelog", 1)[1].split("\n## ", 1)[0]
    assert log.index("- 1.0.0: rebuilt from 0.1.0") < log.index(
        "- 1.0.1: rebuilt from 1.0.0 (patch; the diff implied none): rows +0 -0 ~0; spec changed")


def test_the_installed_command_exits_with_mains_code_and_output(default_release, tmp_path):
    """The console script runs ``pipelines.cli.run``: ``main``'s exit code and everything it printed, though
    the process leaves its objects out of the last garbage collections."""
    script = Path(sys.executable).with_name("biasbench")
    assert script.exists(), f"{script}: the package is not installed in this environment (make install)"
    env = dict(os.environ, GX_ANALYTICS_ENABLED="false")
    done = subprocess.run([str(script), "stats", str(default_release), "--json"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "qa_gender" in json.loads(done.stdout)["configs"]
    done = subprocess.run([str(script), "validate", str(tmp_path / "nowhere")], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 2 and done.stderr.startswith("biasbench: "), done.stderr


_FREEZE_PROBE = """
import gc, sys
import pipelines.build

def report(*args, **kwargs):  # stands in for the build: what matters is what the CLI did before it
    print("frozen", gc.get_freeze_count())
    raise SystemExit(0)

pipelines.build.build_release = report
import pipelines.cli as cli
sys.argv = ["biasbench", "build", sys.argv[1], "--out", sys.argv[2]]
cli.{entry}()
"""


def test_the_biasbench_process_freezes_what_its_imports_made_and_main_called_by_a_caller_does_not(tmp_path):
    def frozen(entry: str) -> int:
        done = subprocess.run([sys.executable, "-c", _FREEZE_PROBE.format(entry=entry), default_spec_path(),
                               str(tmp_path / entry)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
        found = re.search(r"^frozen (\d+)$", done.stdout, re.M)
        assert found, done.stdout + done.stderr
        return int(found.group(1))

    assert frozen("run") > 10_000  # Beam's, pyarrow's and the CLI's objects
    assert frozen("main") == 0
