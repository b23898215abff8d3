"""Scheduled rebuilds: the JSON outcome, change detection (files, object storage, rendering rules), the lock.

Every build here is a real one (both Beam pipelines, the gate, the manifest) of
``tests/small_specs.py``'s tiny spec, three templates × four names; the concurrent and killed
runs are separate ``python -m pipelines.cli`` processes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from pipelines.run_lock import LOCK_NAME
from tests.conftest import PROJECT
from tests.small_specs import edit_template, write_tiny_spec

pytestmark = pytest.mark.slow  # each test builds the tiny spec two or three times


def rebuild_json(capsys, spec: Path, out: Path, *extra: str) -> tuple[int, dict, str]:
    code = main(["rebuild", str(spec), "--out", str(out), "--json", *extra])
    stdout, stderr = capsys.readouterr()
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout  # one JSON object, nothing else on stdout
    return code, json.loads(lines[0]), stderr


def child_env() -> dict:
    return dict(os.environ, PYTHONPATH=str(PROJECT), GX_ANALYTICS_ENABLED="false")


def start_rebuild(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "rebuild", str(spec), "--out", str(out), "--json",
                             *extra], env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_unchanged_inputs_cut_no_version_and_one_template_cuts_a_minor_one(tmp_path, capsys):
    spec = write_tiny_spec(tmp_path / "spec")
    out = tmp_path / "out"
    code, first, _ = rebuild_json(capsys, spec, out)
    assert code == 0 and first["status"] == "new" and first["version"] == "0.1.0" and first["previous"] is None
    code, second, _ = rebuild_json(capsys, spec, out)
    assert code == 0 and second["status"] == "unchanged" and second["changed_inputs"] == []
    assert second["version"] == second["previous"] == "0.1.0" and second["release"] == str(out / "tiny" / "0.1.0")
    assert sorted(p.name for p in (out / "tiny").iterdir()) == ["0.1.0"]  # no version cut, no lock left

    edit_template(spec.parent, 1, "{person} hated the slow queue at the post office.")
    code, third, _ = rebuild_json(capsys, spec, out)
    assert code == 0 and third["status"] == "new" and third["version"] == "0.2.0" and third["previous"] == "0.1.0"
    assert third["changed_inputs"] == ["templates.jsonl"]
    diff = third["diff"]
    assert diff["bump"] == "minor" and diff["templates"]["added"] == 1 and diff["templates"]["removed"] == 1
    (new_template,) = diff["templates"]["examples"]["added"]
    (old_template,) = diff["templates"]["examples"]["removed"]
    rows = diff["rows"]["sentiment_gender"]
    # exactly that template's rows: its four rows are new, the old template's four are gone, nothing else moved
    new = pq.read_table(next((out / "tiny" / "0.2.0" / "data" / "sentiment_gender").glob("*.parquet")))
    old = pq.read_table(next((out / "tiny" / "0.1.0" / "data" / "sentiment_gender").glob("*.parquet")))
    of_new = pc.filter(new["example_id"], pc.equal(new["template_id"], new_template)).to_pylist()
    of_old = pc.filter(old["example_id"], pc.equal(old["template_id"], old_template)).to_pylist()
    assert rows["added"] == len(of_new) == 4 and sorted(rows["examples"]["added"]) == sorted(of_new)
    assert rows["removed"] == len(of_old) == 4 and sorted(rows["examples"]["removed"]) == sorted(of_old)
    assert rows["changed"] == 0 and rows["rows_new"] == rows["rows_old"] == 12


def test_new_rendering_rules_make_a_new_release(tmp_path, capsys, monkeypatch):
    from transforms import rules

    spec = write_tiny_spec(tmp_path / "spec")
    out = tmp_path / "out"
    assert rebuild_json(capsys, spec, out)[1]["status"] == "new"
    manifest = json.loads((out / "tiny" / "0.1.0" / "manifest.json").read_text())
    assert manifest["rules_version"] == rules.RULES_VERSION
    monkeypatch.setattr(rules, "RULES_VERSION", rules.RULES_VERSION + ".test")  # a biasbench whose rows differ
    code, outcome, _ = rebuild_json(capsys, spec, out)
    assert code == 0 and outcome["status"] == "new" and outcome["changed_inputs"] == ["(rendering rules)"]
    # the rows are the same, so the bump the diff implies is a patch
    assert outcome["version"] == "0.1.1" and outcome["diff"]["bump"] == "none"
    assert json.loads((out / "tiny" / "0.1.1" / "manifest.json").read_text())["rules_version"].endswith(".test")


def test_two_rebuilds_started_together_one_builds_the_other_exits_4(tmp_path):
    spec = write_tiny_spec(tmp_path / "spec")
    out = tmp_path / "out"
    runs = [start_rebuild(spec, out), start_rebuild(spec, out)]
    results = [(p.wait(timeout=900), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 4], results
    (winner,) = [r for r in results if r[0] == 0]
    (loser,) = [r for r in results if r[0] == 4]
    assert json.loads(winner[1])["status"] == "new"
    refused = json.loads(loser[1])
    holder = refused["lock_holder"]
    assert refused["status"] == "failed" and holder["host"] == socket.gethostname()
    assert holder["pid"] in {p.pid for p in runs} and holder["pid"] != runs[results.index(loser)].pid
    line = [ln for ln in loser[2].splitlines() if ln.startswith("biasbench:")]
    assert len(line) == 1 and "another run holds the lock" in line[0] and f"pid {holder['pid']}" in line[0]
    assert sorted(p.name for p in (out / "tiny").iterdir()) == ["0.1.0"]


def test_a_killed_holder_does_not_block_the_next_run(tmp_path, capsys):
    spec = write_tiny_spec(tmp_path / "spec")
    out = tmp_path / "out"
    lock = out / "tiny" / LOCK_NAME
    run = start_rebuild(spec, out, "--lock-ttl", "3")
    deadline = time.monotonic() + 300
    while not lock.exists():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGKILL)  # the run and its helpers, with no chance to clean up
    run.wait()
    assert lock.exists() and json.loads(lock.read_text())["pid"] == run.pid
    # this host's holder is gone: its lock is stale at once; the next run takes it over and builds
    code, outcome, _ = rebuild_json(capsys, spec, out)
    assert code == 0 and outcome["status"] == "new" and not lock.exists()

    # a holder on another machine cannot be checked: only its expiry frees the lock
    lock.write_text(json.dumps({"host": "other-host", "pid": 1, "pid_started": 0.0, "started": "2026-01-01T00:00:00Z",
                                "run_id": "x", "expires": time.time() + 4}))
    code, outcome, err = rebuild_json(capsys, spec, out)
    assert code == 4 and outcome["lock_holder"]["host"] == "other-host" and "host other-host" in err
    time.sleep(4.5)
    code, outcome, _ = rebuild_json(capsys, spec, out)
    assert code == 0 and outcome["status"] == "unchanged" and not lock.exists()


def test_a_run_stalled_past_its_lock_expiry_stops_before_committing(tmp_path):
    """A rebuild stopped (SIGSTOP) in the middle of its build until its lock expired and another run took it
    over: resumed, it builds on, then stops at the commit with exit 5, leaving no release and no debris."""
    from pipelines.run_lock import holding_lock

    spec = write_tiny_spec(tmp_path / "spec")
    out = tmp_path / "out"
    parent = out / "tiny"
    run = start_rebuild(spec, out, "--lock-ttl", "2")
    deadline = time.monotonic() + 300
    while not any(p.name.startswith(".staging-") for p in (parent.iterdir() if parent.is_dir() else ())):
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGSTOP)  # the run and its helpers: a hung machine
    try:
        time.sleep(max(0.0, json.loads((parent / LOCK_NAME).read_text())["expires"] - time.time()) + 0.5)
        with holding_lock(str(parent), ttl=600) as mine:  # the next run takes the expired lock over
            os.killpg(run.pid, signal.SIGCONT)
            stdout, stderr = run.communicate(timeout=900)
            assert run.returncode == 5, stderr
            outcome = json.loads(stdout)
            assert outcome["status"] == "failed" and outcome["lock_holder"]["run_id"] == mine.run_id
            [line] = [ln for ln in stderr.splitlines() if ln.startswith("biasbench:")]
            assert "this run lost the lock while it was stalled" in line and f"pid {os.getpid()}" in line
            assert sorted(p.name for p in parent.iterdir()) == [LOCK_NAME]  # no release, no staging folder
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert not parent.exists() or sorted(p.name for p in parent.iterdir()) == []


def test_a_changed_object_storage_input_is_detected(tmp_path, capsys, gcs_emulator):
    import yaml

    from schemas import storage
    from tests.gcs_emulator import emulator_variables
    from tests.small_specs import tiny_spec_dict, tiny_template_lines

    with emulator_variables(gcs_emulator) as gcs:
        bucket = gcs.create_bucket("inputs")
        url = f"{bucket}/tiny/templates.jsonl"
        storage.write_bytes(url, tiny_template_lines().encode())
        folder = tmp_path / "spec"
        write_tiny_spec(folder)
        spec = folder / "remote.yaml"
        spec.write_text(yaml.safe_dump(tiny_spec_dict(templates=url)))
        out = tmp_path / "out"
        assert rebuild_json(capsys, spec, out)[1]["status"] == "new"
        code, outcome, _ = rebuild_json(capsys, spec, out)
        assert code == 0 and outcome["status"] == "unchanged"
        texts = ["{person} loved the new film.", "{person} hated the long queue at the bank.",
                 "{person} enjoyed the long walk by the sea."]
        storage.write_bytes(url, tiny_template_lines(texts).encode())  # the object changes upstream
        code, outcome, _ = rebuild_json(capsys, spec, out)
        assert code == 0 and outcome["status"] == "new" and outcome["changed_inputs"] == [url]
        assert outcome["diff"]["templates"]["added"] == 1 and outcome["version"] == "0.2.0"


def test_publish_cut_short_converges_and_the_token_is_never_shown(tmp_path, capsys, monkeypatch):
    import pipelines.publish as publish
    from pipelines.interrupt import Interrupted
    from tests.hub_fake import FakeRepo

    sentinel = "hf_SENTINELrebuildToken0123456789abcdef"
    monkeypatch.setenv("HF_TOKEN", sentinel)
    repo = FakeRepo()
    monkeypatch.setattr(publish, "hub_api", lambda: repo.api)
    spec = write_tiny_spec(tmp_path / "spec")
    out = tmp_path / "out"
    seen = []

    # 1. SIGTERM arrives during the tag call: the release is built and committed, not tagged
    repo.fail["create_tag"] = [Interrupted(signal.SIGTERM)]
    code, outcome, err = rebuild_json(capsys, spec, out, "--publish", "org/tiny", "--progress", "on")
    seen += [json.dumps(outcome), err]
    assert code == 143 and outcome["status"] == "failed" and outcome["release"] == str(out / "tiny" / "0.1.0")
    assert len(repo.commits) == 1 and repo.tags == {}
    # 2. the Hub answers with an error that echoes the request's credentials
    repo.fail["create_tag"] = [RuntimeError(f"bad request: Authorization: Bearer {sentinel}")]
    code, outcome, err = rebuild_json(capsys, spec, out, "--publish", "org/tiny", "--progress", "on")
    seen += [json.dumps(outcome), err]
    assert code == 2 and outcome["status"] == "failed" and "hf_***" in outcome["error"] and "hf_***" in err
    # 3. the re-run converges: nothing to build, the same commit tagged, once
    code, outcome, err = rebuild_json(capsys, spec, out, "--publish", "org/tiny", "--progress", "on")
    seen += [json.dumps(outcome), err]
    assert code == 0 and outcome["status"] == "unchanged"
    (commit,) = repo.commits
    assert repo.tags == {"v0.1.0": commit} and repo.api.create_commit.call_count == 1
    assert outcome["published"] == {"repo_id": "org/tiny", "tag": "v0.1.0", "commit": commit,
                                    "url": "https://huggingface.co/datasets/org/tiny/tree/v0.1.0",
                                    "already_published": False}
    code, outcome, err = rebuild_json(capsys, spec, out, "--publish", "org/tiny")
    assert outcome["published"]["already_published"] and repo.api.create_tag.call_count == 3  # 2 cut short, 1 made
    seen += [json.dumps(outcome), err]
    assert not [text for text in seen if sentinel in text]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not [p for p in written if sentinel.encode() in p.read_bytes()]
    assert not [path for path, body in repo.commits[commit].items() if sentinel.encode() in body]  # uploaded
