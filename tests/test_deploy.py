"""The schedules in deploy/: each file is parsed and the exact command it holds is run against the tiny spec
of ``tests/small_specs.py`` with a local output folder. ``biasbench`` on PATH is this checkout's CLI (a shim
running ``python -m pipelines.cli``, what the package's console script runs)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT
from tests.small_specs import write_tiny_spec

pytestmark = pytest.mark.slow  # each test builds the tiny spec
DEPLOY = PROJECT / "deploy"
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


@pytest.fixture
def shim_path(tmp_path) -> str:
    """A PATH whose ``biasbench`` runs this checkout's CLI with this interpreter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "biasbench"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m pipelines.cli \"$@\"\n")
    shim.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def base_env(path: str) -> dict:
    return dict(os.environ, PATH=path, PYTHONPATH=str(PROJECT), GX_ANALYTICS_ENABLED="false", HF_HUB_OFFLINE="1")


def parse_crontab(text: str) -> tuple[dict[str, str], list[tuple[list[str], str]]]:
    variables, jobs = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if m:
            variables[m.group(1)] = m.group(2)
            continue
        fields = line.split(None, 5)
        jobs.append((fields[:5], fields[5]))
    return variables, jobs


def test_crontab_line_runs_and_logs_one_json_outcome_per_run(tmp_path, shim_path):
    variables, jobs = parse_crontab((DEPLOY / "crontab").read_text())
    ((schedule, command),) = jobs
    assert all(CRON_FIELD.match(f) for f in schedule), schedule
    assert "%" not in command  # cron turns % into newlines
    assert "rebuild" in command and "--json" in command and ">>" in command
    spec = write_tiny_spec(tmp_path / "spec")
    home = tmp_path / "home"
    home.mkdir()
    mine = {"BIASBENCH_HOME": str(home), "BIASBENCH": "biasbench", "SPEC": str(spec), "DATA_DIR": str(spec.parent),
            "OUT": str(tmp_path / "out")}
    assert set(variables) == set(mine)  # the command uses the file's variables, all of which are replaced here
    env = {**base_env(shim_path), **mine}
    for expected in ("new", "unchanged"):
        done = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (done.stdout, done.stderr, (home / "logs" / "rebuild.log").read_text())
    outcomes = [json.loads(line) for line in (home / "logs" / "rebuild.jsonl").read_text().splitlines()]
    assert [o["status"] for o in outcomes] == ["new", "unchanged"]
    log = (home / "logs" / "rebuild.log").read_text()
    assert "[pipeline]" in log and "[validate]" in log  # progress lines kept in the log (--progress on)
    assert (tmp_path / "out" / "tiny" / "0.1.0" / "manifest.json").exists()


def test_scheduled_workflow_restores_rebuilds_publishes_and_uploads(tmp_path, shim_path):
    workflow = yaml.safe_load((DEPLOY / "github" / "rebuild.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    (cron,) = [s["cron"] for s in triggers["schedule"]]
    assert all(CRON_FIELD.match(f) for f in cron.split())
    job = workflow["jobs"]["rebuild"]
    steps = {s.get("name", s.get("uses", "")): s for s in job["steps"]}
    cache = steps["Restore releases"]
    assert cache["uses"].startswith("actions/cache@") and cache["with"]["path"] == job["env"]["OUT"]
    run = steps["Rebuild and publish"]
    assert run["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    upload = steps["Upload the outcome and diff"]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    artifacts = upload["with"]["path"].split()
    assert artifacts == ["rebuild.json", "rebuild.log"]

    sentinel = "hf_SENTINELworkflowToken0123456789"
    spec = write_tiny_spec(tmp_path / "spec")
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    env = {**base_env(shim_path), **job["env"], "SPEC": str(spec), "DATA_DIR": str(spec.parent), "OUT": "releases",
           "HF_TOKEN": sentinel}
    done = subprocess.run(["bash", "-e", "-c", run["run"]], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=900)
    # no network in tests (HF_HUB_OFFLINE=1): the release is built, then publishing stops in one line, exit 2
    outcome = json.loads((workdir / "rebuild.json").read_text())
    assert done.returncode == 2 and outcome["status"] == "failed" and "offline" in outcome["error"]
    assert outcome["release"] == f"releases/{outcome['benchmark']}/0.1.0" and (workdir / outcome["release"]).is_dir()
    assert done.stdout.strip() == (workdir / "rebuild.json").read_text().strip()  # the step prints the outcome
    for name in artifacts:
        assert (workdir / name).is_file()
    texts = [done.stdout, done.stderr] + [p.read_bytes().decode("utf-8", "replace")
                                          for p in tmp_path.rglob("*") if p.is_file()]
    assert not [t for t in texts if sentinel in t]


def _load_entry_point(path: Path):
    spec = importlib.util.spec_from_file_location("flex_rebuild", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flex_template_entry_point_runs_the_rebuild(tmp_path):
    dockerfile = (DEPLOY / "dataflow" / "Dockerfile").read_text()
    env = dict(re.findall(r"^ENV (\w+)=(\S+)$", dockerfile, re.M))
    (copy_src, copy_dst), = re.findall(r"^COPY (\S+) (\S+)$", dockerfile, re.M)
    assert copy_src == "." and re.search(r"^ENTRYPOINT \[\"/opt/google/dataflow/python_template_launcher\"\]$",
                                         dockerfile, re.M)
    in_repo = lambda image_path: PROJECT / Path(image_path).relative_to(copy_dst)  # noqa: E731
    entry, setup_file = in_repo(env["FLEX_TEMPLATE_PYTHON_PY_FILE"]), in_repo(env["FLEX_TEMPLATE_PYTHON_SETUP_FILE"])
    assert entry.is_file() and setup_file == PROJECT / "setup.py"

    metadata = json.loads((DEPLOY / "dataflow" / "metadata.json").read_text())
    params = {p["name"]: p for p in metadata["parameters"]}
    spec = write_tiny_spec(tmp_path / "spec")
    values = {"spec": str(spec), "out": str(tmp_path / "out"), "data_dir": str(spec.parent), "publish": "org/tiny",
              "lock_ttl": "600", "runner": "direct"}
    assert set(values) == set(params)
    for name, value in values.items():
        assert all(re.match(rx, value) for rx in params[name].get("regexes", [])), (name, value)
    assert [p["name"] for p in params.values() if not p.get("isOptional")] == ["spec", "out"]

    # what the launcher passes on Dataflow: the parameters, then the launch's pipeline options
    module = _load_entry_point(entry)
    argv = module.rebuild_argv(["--spec=holistic-bias", "--out=gs://b/releases", "--project=p", "--region=r",
                                "--temp_location=gs://b/tmp"])
    assert argv == ["rebuild", "holistic-bias", "--out", "gs://b/releases", "--json", "--progress", "on",
                    "--runner", "dataflow", "--beam-arg=--project=p", "--beam-arg=--region=r",
                    "--beam-arg=--temp_location=gs://b/tmp"]
    scheduled = json.loads((DEPLOY / "dataflow" / "scheduler-body.json").read_text())["launchParameter"]
    for name, value in scheduled["parameters"].items():
        assert name in params and all(re.match(rx, value) for rx in params[name].get("regexes", []))

    # the entry point itself, as the launcher runs it, on the direct runner with a local --out (no publish: offline)
    args = [f"--{k}={v}" for k, v in values.items() if k != "publish"]
    done = subprocess.run([sys.executable, str(entry), *args], env=base_env(os.environ["PATH"]), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "new" and outcome["release"] == str(tmp_path / "out" / "tiny" / "0.1.0")
