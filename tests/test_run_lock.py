"""The rebuild lock: exclusion, its holder named, renewal, stale locks taken over by exactly one run;
on local disk and on ``gs://`` (the GCS emulator behind ``tests/gcs_preconditions.py``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pipelines.run_lock import LOCK_NAME, LockHeld, _GcsLock, _LocalLock, holding_lock, new_owner


def foreign_lock(expires_in: float) -> dict:
    return {"host": "other-host", "pid": 1, "pid_started": 0.0, "started": "2026-01-01T00:00:00Z",
            "run_id": "foreign", "expires": time.time() + expires_in}


def race(acquire, n: int = 6) -> list:
    """``acquire(owner)`` from ``n`` threads at once; what each returned."""
    results, start = [None] * n, threading.Barrier(n)

    def one(i):
        start.wait()
        results[i] = acquire(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_held_lock_refuses_a_second_run_naming_the_holder(tmp_path):
    with holding_lock(str(tmp_path / "bench")):
        with pytest.raises(LockHeld) as e:
            with holding_lock(str(tmp_path / "bench")):
                pass
        assert e.value.holder["pid"] == os.getpid() and f"pid {os.getpid()}" in str(e.value)
    assert not (tmp_path / "bench" / LOCK_NAME).exists()
    with holding_lock(str(tmp_path / "bench")):  # released: free again
        pass


def test_the_lock_of_a_dead_process_on_this_host_is_stale_at_once(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = new_owner(3600)
    lock = tmp_path / LOCK_NAME
    lock.write_text(json.dumps({**owner.__dict__, "pid": int(dead.stdout)}))
    with holding_lock(str(tmp_path)) as mine:
        assert json.loads(lock.read_text())["run_id"] == mine.run_id


def test_a_foreign_lock_blocks_until_it_expires(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps(foreign_lock(1.0)))
    with pytest.raises(LockHeld, match="host other-host"):
        with holding_lock(str(tmp_path)):
            pass
    time.sleep(1.2)
    with holding_lock(str(tmp_path)):
        pass


def test_a_run_renews_its_lock_while_it_runs(tmp_path):
    lock = tmp_path / LOCK_NAME
    with holding_lock(str(tmp_path), ttl=0.6) as owner:
        first = json.loads(lock.read_text())["expires"]
        time.sleep(1.5)  # longer than the ttl: without renewal it would have expired
        now = json.loads(lock.read_text())
        assert now["run_id"] == owner.run_id and now["expires"] > first and now["expires"] > time.time()
    assert not lock.exists()


def test_a_stale_local_lock_is_taken_over_by_exactly_one_run(tmp_path):
    path = str(tmp_path / LOCK_NAME)
    (tmp_path / LOCK_NAME).write_text(json.dumps(foreign_lock(-5)))
    owners = [new_owner(3600) for _ in range(6)]
    results = race(lambda i: _LocalLock(path).acquire(owners[i]))
    winners = [i for i, held_by in enumerate(results) if held_by is None]
    assert len(winners) == 1
    assert json.loads((tmp_path / LOCK_NAME).read_text())["run_id"] == owners[winners[0]].run_id
    assert not os.path.exists(path + ".break")


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    from tests.gcs_emulator import running_emulator

    with running_emulator(tmp_path_factory.mktemp("gcs")) as emulator:
        emulator.create_bucket("locks")
        yield emulator


@pytest.fixture
def gcs_with_preconditions(gcs, monkeypatch):
    from tests.gcs_preconditions import preconditions_proxy

    with preconditions_proxy(gcs.host) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy)
        yield gcs


def test_the_emulator_alone_ignores_preconditions(gcs):
    """Why the tests put a proxy in front of it: a second create-only-if-absent succeeds on the emulator."""
    lock = _GcsLock("gs://locks/plain/.rebuild.lock")
    assert lock._write(b'{"run_id": "a"}', 0) is not None
    assert lock._write(b'{"run_id": "b"}', 0) is not None  # real GCS answers 412 here


def test_gcs_lock_excludes_and_releases_only_its_own_generation(gcs_with_preconditions):
    parent = "gs://locks/releases/bench"
    with holding_lock(parent):
        with pytest.raises(LockHeld) as e:
            with holding_lock(parent):
                pass
        assert e.value.holder["pid"] == os.getpid() and e.value.where == f"{parent}/{LOCK_NAME}"
    assert _GcsLock(f"{parent}/{LOCK_NAME}")._read() is None
    stale = _GcsLock(f"{parent}/{LOCK_NAME}")
    generation = stale._write(json.dumps(foreign_lock(3600)).encode(), 0)
    stale.generation = generation + 1  # not its generation: a release must not delete another run's lock
    stale.release(None)
    assert _GcsLock(f"{parent}/{LOCK_NAME}")._read()[1] == generation


def test_gcs_stale_lock_is_taken_over_by_exactly_one_run(gcs_with_preconditions):
    url = "gs://locks/releases/race/" + LOCK_NAME
    assert _GcsLock(url)._write(json.dumps(foreign_lock(-5)).encode(), 0) is not None
    owners = [new_owner(3600) for _ in range(4)]
    results = race(lambda i: _GcsLock(url).acquire(owners[i]), n=4)
    winners = [i for i, held_by in enumerate(results) if held_by is None]
    assert len(winners) == 1
    holder, _ = _GcsLock(url)._read()
    assert holder["run_id"] == owners[winners[0]].run_id


def test_gcs_lock_held_by_a_live_foreign_run_blocks_until_expiry(gcs_with_preconditions):
    parent = "gs://locks/releases/expiry"
    assert _GcsLock(f"{parent}/{LOCK_NAME}")._write(json.dumps(foreign_lock(1.0)).encode(), 0) is not None
    with pytest.raises(LockHeld, match="host other-host"):
        with holding_lock(parent):
            pass
    time.sleep(1.2)
    with holding_lock(parent, ttl=0.6) as owner:
        time.sleep(1.0)  # renewed through generation-matched overwrites
        holder, _ = _GcsLock(f"{parent}/{LOCK_NAME}")._read()
        assert holder["run_id"] == owner.run_id and holder["expires"] > time.time()
    assert _GcsLock(f"{parent}/{LOCK_NAME}")._read() is None


#: a holder in its own process: takes the lock, says "held", waits for a line, then makes something visible
#: (``target``) under ``Lease.fenced``; with "hold" it says "fenced" inside the fence and waits for another line.
#: Errors end it as the CLI ends (one line, the exit code).
HOLDER = """
import sys
from pipelines.cli import _report_error
from pipelines.run_lock import _gcs_client, holding_lock
from schemas.errors import BiasbenchError

parent, target, ttl, hold = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:] == ["hold"]
try:
    with holding_lock(parent, ttl=ttl) as lease:
        print("held", flush=True)
        sys.stdin.readline()
        with lease.fenced():
            if hold:
                print("fenced", flush=True)
                sys.stdin.readline()
            if target.startswith("gs://"):
                bucket, _, name = target[len("gs://"):].partition("/")
                _gcs_client().bucket(bucket).blob(name).upload_from_string(b"published")
            else:
                open(target, "wb").write(b"published")
except BiasbenchError as e:
    sys.exit(_report_error(e))
"""


def start_holder(parent: str, target: str, ttl: float, *hold: str) -> subprocess.Popen:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.Popen([sys.executable, "-c", HOLDER, parent, target, str(ttl), *hold], text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env={**os.environ, "PYTHONPATH": root})
    assert run.stdout.readline() == "held\n", run.communicate()
    return run


def stalled_past_expiry(run: subprocess.Popen, ttl: float) -> None:
    """SIGSTOP the holder and wait until its lock has expired."""
    os.kill(run.pid, signal.SIGSTOP)
    time.sleep(ttl + 0.5)


@pytest.fixture(params=["local", "gcs"])
def where(request, tmp_path, monkeypatch):
    """(the lock's parent, the holder's target, a reader of the target) on local disk or ``gs://``."""
    if request.param == "local":
        target = tmp_path / "published"
        yield str(tmp_path / "bench"), str(target), lambda: target.read_bytes() if target.exists() else None
        return
    from google.api_core.exceptions import NotFound

    from pipelines.run_lock import _gcs_client
    from tests.gcs_preconditions import preconditions_proxy

    gcs = request.getfixturevalue("gcs")
    gcs.create_bucket("fence")

    def published():
        try:
            return _gcs_client().bucket("fence").blob("published").download_as_bytes()
        except NotFound:
            return None

    with preconditions_proxy(gcs.host) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy)  # the holder's process inherits it
        yield "gs://fence/releases/bench", "gs://fence/published", published


def test_a_holder_stalled_past_its_expiry_loses_the_lock_and_publishes_nothing(where):
    parent, target, published = where
    ttl = 1.5
    run = start_holder(parent, target, ttl)
    stalled_past_expiry(run, ttl)
    with holding_lock(parent, ttl=60) as mine:  # the next run takes the expired lock over
        os.kill(run.pid, signal.SIGCONT)
        _, err = run.communicate("go\n", timeout=120)
        assert run.returncode == 5, err
        [line] = err.splitlines()
        assert line.startswith(f"biasbench: {parent}/{LOCK_NAME}: this run lost the lock while it was stalled")
        assert f"pid {os.getpid()}" in line and line.endswith("nothing published")
        assert published() is None
        backend = _GcsLock(f"{parent}/{LOCK_NAME}") if parent.startswith("gs://") else None
        holder = backend._read()[0] if backend else json.loads(open(f"{parent}/{LOCK_NAME}").read())
        assert holder["run_id"] == mine.run_id  # the stalled run's release left the new holder's lock alone


def test_a_holder_stopped_inside_its_commit_keeps_the_lock_until_it_finishes(tmp_path):
    """Local disk: the fence holds the guard, so a run stopped in the middle of a commit is not taken over
    (the next run exits 4 naming it), and finishes when it resumes."""
    parent, target = str(tmp_path / "bench"), tmp_path / "published"
    ttl = 1.0
    run = start_holder(parent, str(target), ttl, "hold")
    run.stdin.write("go\n")
    run.stdin.flush()
    assert run.stdout.readline() == "fenced\n"
    stalled_past_expiry(run, ttl)
    with pytest.raises(LockHeld, match=f"pid {run.pid}"):
        with holding_lock(parent):
            pass
    os.kill(run.pid, signal.SIGCONT)
    _, err = run.communicate("go\n", timeout=120)
    assert run.returncode == 0, err
    assert target.read_bytes() == b"published"
    with holding_lock(parent):  # released as it ended
        pass


def test_a_gcs_commit_fenced_by_a_lost_lock_writes_nothing_where_the_release_belongs(gcs_with_preconditions):
    """``release_store.commit_release`` with the lease's fence, through the filesystem layer on the emulator:
    after a takeover (the lock object overwritten through its generation, as a taking run does) the commit
    stops before its first object; with the lock held it commits."""
    from pipelines.release_store import commit_release, release_exists
    from pipelines.run_lock import LockLost
    from schemas import storage

    parent = "gs://locks/releases/fenced"
    url = f"{parent}/{LOCK_NAME}"

    def staged(name: str) -> str:
        staging = f"{parent}/.staging-{name}"
        storage.write_bytes(f"{staging}/data/rows.parquet", b"rows")
        storage.write_bytes(f"{staging}/manifest.json", b"{}")
        return staging

    with holding_lock(parent, ttl=60) as lease:
        _, generation = _GcsLock(url)._read()
        assert _GcsLock(url)._write(json.dumps(foreign_lock(60)).encode(), generation) is not None
        with pytest.raises(LockLost, match="now held by host other-host"):
            commit_release(staged("lost"), f"{parent}/0.1.0", lease.fenced)
        assert not release_exists(f"{parent}/0.1.0") and storage.list_files(f"{parent}/0.1.0") == []
    assert _GcsLock(url)._read()[0]["run_id"] == "foreign"  # the lost holder's release left it alone
    _GcsLock(url).release(None)  # (no generation: delete whatever is there)
    with holding_lock(parent, ttl=60) as lease:
        commit_release(staged("held"), f"{parent}/0.1.0", lease.fenced)
        assert release_exists(f"{parent}/0.1.0") and storage.list_files(f"{parent}/0.1.0") == [
            "data/rows.parquet", "manifest.json"]
