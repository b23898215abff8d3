"""One run at a time per benchmark output: a lock with an owner and an expiry.

``rebuild`` holds ``<out>/<benchmark>/.rebuild.lock`` while it compares, builds and
publishes. The lock records who holds it (host, pid, the process's start time, a
run id) and until when; the holder renews the expiry while it runs, so a long
build keeps it, and a holder that was killed (SIGKILL, a lost machine) stops
renewing and blocks the next run only until the expiry passes.

- Local disk: the lock file is created with ``O_CREAT | O_EXCL`` (creation fails
  if it exists). A stale lock (expired, or held by a process of this host that is
  gone) is taken over under a short-lived break file, also created with
  ``O_EXCL``, after checking that the lock is still the one judged stale, so two
  runs that both find a stale lock never both take it.
- ``gs://``: the lock object is written with the generation precondition
  ``if_generation_match=0`` (create only if absent). A stale lock is taken over by
  overwriting it with ``if_generation_match=<its generation>``, renewing and
  releasing use the holder's own generation: every change is a compare-and-swap
  on the object's generation, which GCS enforces.
- ``s3://`` is refused: no conditional write is wired in for it yet.

A run that finds a live lock raises :class:`LockHeld` (exit 4) naming the holder.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Iterator

from schemas import storage
from schemas.errors import BiasbenchError, InputError

LOCK_NAME = ".rebuild.lock"
#: seconds a lock stays valid without renewal (``--lock-ttl``); the holder renews every third of it
DEFAULT_TTL = 900.0
#: a break file older than this was left by a run killed while taking over a stale lock
_BREAK_STALE_AFTER = 30.0
#: a lock file this young with no readable content is still being written by its creator
_WRITING_GRACE = 10.0


class LockHeld(BiasbenchError):
    """Another run holds the lock (exit 4)."""

    def __init__(self, where: str, holder: dict):
        self.where, self.holder = where, holder
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(holder.get("expires", 0)))
        super().__init__(f"{where}: another run holds the lock: host {holder.get('host')}, pid {holder.get('pid')}, "
                         f"started {holder.get('started')}, expires {expires}")


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    pid_started: float  # the process's start time: a recycled pid is not the holder
    started: str  # when the run took the lock (UTC, ISO 8601)
    run_id: str
    expires: float  # seconds since the epoch

    def body(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    def renewed(self, ttl: float) -> "Owner":
        return Owner(**{**asdict(self), "expires": time.time() + ttl})


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def new_owner(ttl: float) -> Owner:
    now = time.time()
    return Owner(host=socket.gethostname(), pid=os.getpid(), pid_started=_process_start(os.getpid()) or 0.0,
                 started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), run_id=uuid.uuid4().hex,
                 expires=now + ttl)


def is_stale(holder: dict, now: float | None = None) -> bool:
    """Expired, or held by a process of this host that no longer runs."""
    now = time.time() if now is None else now
    if holder.get("expires", 0) < now:
        return True
    if holder.get("host") == socket.gethostname():
        try:
            started = _process_start(int(holder.get("pid", -1)))
            return started is None or abs(started - float(holder.get("pid_started", 0))) > 1.0
        except (TypeError, ValueError):
            return True  # no pid to check: only its expiry could keep it
    return False


def _parse(body: bytes) -> dict | None:
    try:
        holder = json.loads(body)
    except ValueError:
        return None
    return holder if isinstance(holder, dict) and "run_id" in holder else None


class _LocalLock:
    def __init__(self, path: str):
        self.path = path
        self.break_path = path + ".break"
        folder = os.path.dirname(path) or "."
        self.made_folder = not os.path.isdir(folder)  # removed again on release when nothing else went in
        os.makedirs(folder, exist_ok=True)

    def _create(self, path: str, body: bytes) -> bool:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        return True

    def _read(self) -> tuple[bytes, float] | None:
        try:
            with open(self.path, "rb") as f:
                return f.read(), os.fstat(f.fileno()).st_mtime
        except FileNotFoundError:
            return None

    def acquire(self, owner: Owner) -> dict | None:
        """None when taken; else the live holder."""
        while True:
            if self._create(self.path, owner.body()):
                return None
            found = self._read()
            if found is None:
                continue  # released between our attempt and the read
            body, mtime = found
            holder = _parse(body)
            if holder is None and time.time() - mtime < _WRITING_GRACE:
                return {"host": "?", "pid": "?", "started": "just now (lock being written)", "expires": mtime}
            if holder is not None and not is_stale(holder):
                return holder
            self._break(body)

    def _break(self, stale_body: bytes) -> None:
        """Remove the lock if it still holds ``stale_body``, under the break file."""
        if not self._create(self.break_path, b""):
            try:
                if time.time() - os.stat(self.break_path).st_mtime > _BREAK_STALE_AFTER:
                    os.unlink(self.break_path)  # its taker was killed in the middle
            except FileNotFoundError:
                pass
            time.sleep(0.05)
            return
        try:
            found = self._read()
            if found is not None and found[0] == stale_body:
                os.unlink(self.path)
        finally:
            os.unlink(self.break_path)

    def renew(self, owner: Owner, renewed: Owner) -> bool:
        found = self._read()
        if found is None or _parse(found[0]) != asdict(owner):
            return False
        tmp = f"{self.path}.{owner.run_id}.tmp"
        with open(tmp, "wb") as f:
            f.write(renewed.body())
        os.replace(tmp, self.path)
        return True

    def release(self, owner: Owner) -> None:
        found = self._read()
        if found is not None and (_parse(found[0]) or {}).get("run_id") == owner.run_id:
            os.unlink(self.path)
        if self.made_folder:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self.path))


def _gcs_client():
    from google.cloud import storage as gcs

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return gcs.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "emulator"),
                          credentials=AnonymousCredentials())
    return gcs.Client()


class _GcsLock:
    def __init__(self, url: str):
        bucket, _, name = url[len("gs://"):].partition("/")
        self.blob_of = lambda: _gcs_client().bucket(bucket).blob(name)
        self.generation: int | None = None

    def _write(self, body: bytes, if_generation_match: int) -> int | None:
        from google.api_core.exceptions import PreconditionFailed

        blob = self.blob_of()
        try:
            blob.upload_from_string(body, content_type="application/json", if_generation_match=if_generation_match)
        except PreconditionFailed:
            return None
        return blob.generation

    def _read(self) -> tuple[dict | None, int] | None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        blob = self.blob_of()
        try:
            blob.reload()
            generation = blob.generation
            body = blob.download_as_bytes(if_generation_match=generation)
        except NotFound:
            return None
        except PreconditionFailed:
            return None  # replaced between the two calls: look again
        return _parse(body), generation

    def acquire(self, owner: Owner) -> dict | None:
        while True:
            self.generation = self._write(owner.body(), 0)
            if self.generation is not None:
                return None
            found = self._read()
            if found is None:
                continue
            holder, generation = found
            if holder is not None and not is_stale(holder):
                return holder
            # take over: overwrite exactly the stale generation; a concurrent taker makes this fail
            self.generation = self._write(owner.body(), generation)
            if self.generation is not None:
                return None

    def renew(self, owner: Owner, renewed: Owner) -> bool:
        generation = self._write(renewed.body(), self.generation or -1)
        if generation is None:
            return False
        self.generation = generation
        return True

    def release(self, owner: Owner) -> None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        with contextlib.suppress(NotFound, PreconditionFailed):
            self.blob_of().delete(if_generation_match=self.generation)


def lock_path(parent: str) -> str:
    return storage.join(parent, LOCK_NAME)


def _backend(path: str):
    if path.startswith("gs://"):
        return _GcsLock(path)
    if storage.is_remote(path):
        raise InputError(f"{path}: locking is implemented for local folders and gs:// only; "
                         f"run rebuild with a local or gs:// --out")
    return _LocalLock(path)


@contextlib.contextmanager
def holding_lock(parent: str, ttl: float = DEFAULT_TTL) -> Iterator[Owner]:
    """Hold ``<parent>/.rebuild.lock`` for the block, renewing it every ``ttl / 3`` seconds.

    Raises :class:`LockHeld` when a live run holds it.
    """
    path = lock_path(parent)
    backend = _backend(path)
    owner = new_owner(ttl)
    holder = backend.acquire(owner)
    if holder is not None:
        raise LockHeld(path, holder)
    state = {"owner": owner}
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            renewed = state["owner"].renewed(ttl)
            with contextlib.suppress(Exception):  # a missed renewal is retried; the expiry has margin
                if backend.renew(state["owner"], renewed):
                    state["owner"] = renewed

    thread = threading.Thread(target=renew, name="biasbench-lock-renewal", daemon=True)
    thread.start()
    try:
        yield owner
    finally:
        stop.set()
        thread.join()
        backend.release(state["owner"])
