"""One run at a time per benchmark output: a lock with an owner and an expiry.

``rebuild`` holds ``<out>/<benchmark>/.rebuild.lock`` while it compares, builds and
publishes. The lock records who holds it (host, pid, the process's start time, a
run id) and until when; the holder renews the expiry while it runs, so a long
build keeps it, and a holder that was killed (SIGKILL, a lost machine) stops
renewing and blocks the next run only until the expiry passes.

A holder that stalls (stopped, hung) past the expiry is taken over like a dead one, so
the holder checks that it still holds the lock where it makes something visible:
``Lease.fenced`` around committing a release and publishing it. A holder that lost
it raises :class:`LockLost` (exit 5) before writing anything there.

- Local disk: the lock file is created with ``O_CREAT | O_EXCL`` (creation fails
  if it exists). Every other change to it (a stale lock taken over after checking
  it is still the one judged stale, a renewal, a release) and a holder's fenced
  step happen while holding a guard file beside it (``.break``), also created with
  ``O_EXCL``: two runs that both find a stale lock never both take it, and a run
  never takes over a lock whose holder is checking it or committing. The guard of
  a process of this host is held while that process lives (a run stopped inside
  its commit keeps the next run out until it resumes or ends), one of another host
  for ``_BREAK_STALE_AFTER`` seconds.
- ``gs://``: the lock object is written with the generation precondition
  ``if_generation_match=0`` (create only if absent). A stale lock is taken over by
  overwriting it with ``if_generation_match=<its generation>``, renewing and
  releasing use the holder's own generation: every change is a compare-and-swap
  on the object's generation, which GCS enforces. A fenced step starts with such a
  renewal, which fails once another run took the lock over and otherwise gives
  the step a fresh expiry; GCS has no write conditional on another object, so a
  holder stopped for longer than the expiry inside the step itself (copying a
  release's objects, writing its manifest) is the case this cannot exclude.
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


class LockLost(BiasbenchError):
    """This run no longer holds the lock it took: it stalled past the expiry and another run took it over
    (exit 5). Raised before anything is made visible, so the run leaves nothing behind."""

    def __init__(self, where: str, holder: dict | None):
        self.where, self.holder = where, holder or {}
        by = (f"host {self.holder.get('host')}, pid {self.holder.get('pid')}, started {self.holder.get('started')}"
              if holder else "nobody (it was released or removed)")
        super().__init__(f"{where}: this run lost the lock while it was stalled; it is now held by {by}; "
                         f"nothing published")


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
    """The lock file, and beside it the guard (``.break``): every change to the lock file, and a holder's
    commit, happens while holding the guard, so a run taking over a stale lock never interleaves with its
    holder's renewal, release or commit."""

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

    def _read(self, path: str | None = None) -> tuple[bytes, float] | None:
        try:
            with open(path or self.path, "rb") as f:
                return f.read(), os.fstat(f.fileno()).st_mtime
        except FileNotFoundError:
            return None

    def _guard_holder(self) -> dict | None:
        """Who holds the guard while it stays held; None once it is free or was left by a run that is gone.

        A guard whose creator runs on this host is held as long as that process lives (stopped or not:
        it may be in the middle of a commit); one from another host, or without a creator (an older
        biasbench), until it is ``_BREAK_STALE_AFTER`` seconds old."""
        found = self._read(self.break_path)
        if found is None:
            return None
        creator = _parse(found[0])
        if creator is not None and creator.get("host") == socket.gethostname():
            alive = not is_stale({**creator, "expires": float("inf")})
        else:
            alive = time.time() - found[1] <= _BREAK_STALE_AFTER
        if alive:
            return creator or {"host": "?", "pid": "?", "started": "?", "expires": found[1] + _BREAK_STALE_AFTER}
        with contextlib.suppress(FileNotFoundError):
            if self._read(self.break_path) == found:  # its creator is gone: nobody will remove it
                os.unlink(self.break_path)
        return None

    @contextlib.contextmanager
    def _guarded(self, owner: Owner) -> Iterator[None]:
        """Hold the guard for the block; raises :class:`LockHeld` naming whoever keeps it held longer than
        ``_WRITING_GRACE`` seconds (a run stopped in the middle of a commit or a takeover)."""
        deadline = time.monotonic() + _WRITING_GRACE
        while not self._create(self.break_path, owner.body()):
            holder = self._guard_holder()
            if holder is not None and time.monotonic() > deadline:
                raise LockHeld(self.path, holder)
            time.sleep(0.05)
        try:
            yield
        finally:
            os.unlink(self.break_path)

    def _holder(self) -> dict | None:
        found = self._read()
        return None if found is None else _parse(found[0])

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
            try:
                with self._guarded(owner):
                    found = self._read()
                    if found is not None and found[0] == body:  # still the lock judged stale
                        os.unlink(self.path)
            except LockHeld as e:
                return e.holder

    def renew(self, owner: Owner, renewed: Owner) -> bool:
        with self._guarded(owner):
            if self._holder() != asdict(owner):
                return False
            tmp = f"{self.path}.{owner.run_id}.tmp"
            with open(tmp, "wb") as f:
                f.write(renewed.body())
            os.replace(tmp, self.path)
            return True

    @contextlib.contextmanager
    def fence(self, owner: Owner) -> Iterator[None]:
        """The block runs only while this run still holds the lock, and no run can take it over meanwhile."""
        with self._guarded(owner):
            holder = self._holder()
            if (holder or {}).get("run_id") != owner.run_id:
                raise LockLost(self.path, holder)
            yield

    def release(self, owner: Owner) -> None:
        with contextlib.suppress(LockHeld), self._guarded(owner):
            if (self._holder() or {}).get("run_id") == owner.run_id:
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
        self.url = url
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

    @contextlib.contextmanager
    def fence(self, owner: Owner, renewed: Owner) -> Iterator[Owner]:
        """Renew through the holder's generation before the block: GCS refuses the write if another run
        took the lock over, and a success gives the block a fresh expiry. Yields the renewed owner."""
        if not self.renew(owner, renewed):
            found = self._read()
            raise LockLost(self.url, found[0] if found else None)
        yield renewed

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


class Lease:
    """The lock as its holder holds it: renewed in the background, and :meth:`fenced` around every step
    that makes something visible."""

    def __init__(self, backend, owner: Owner, ttl: float):
        self.backend, self.owner, self.ttl = backend, owner, ttl
        self.busy = threading.Lock()  # one renewal or fence at a time

    @property
    def run_id(self) -> str:
        return self.owner.run_id

    def renew(self) -> None:
        with self.busy:
            renewed = self.owner.renewed(self.ttl)
            if self.backend.renew(self.owner, renewed):
                self.owner = renewed

    @contextlib.contextmanager
    def fenced(self) -> Iterator[None]:
        """Run the block (a commit, a publish) only if this run still holds the lock; else raise
        :class:`LockLost` before it.

        Local disk: the block runs holding the guard, so no run takes the lock over until it ends.
        ``gs://``: a generation-matched renewal comes first, so the block starts with a full ``ttl``
        of its own, renewed in the background as before."""
        if isinstance(self.backend, _LocalLock):
            with self.busy, self.backend.fence(self.owner):
                yield
            return
        with self.busy, self.backend.fence(self.owner, self.owner.renewed(self.ttl)) as renewed:
            self.owner = renewed
        yield

    def release(self) -> None:
        with self.busy:
            self.backend.release(self.owner)


@contextlib.contextmanager
def holding_lock(parent: str, ttl: float = DEFAULT_TTL) -> Iterator[Lease]:
    """Hold ``<parent>/.rebuild.lock`` for the block, renewing it every ``ttl / 3`` seconds.

    Raises :class:`LockHeld` when a live run holds it; the block fences what it makes visible with
    :meth:`Lease.fenced`.
    """
    path = lock_path(parent)
    backend = _backend(path)
    owner = new_owner(ttl)
    holder = backend.acquire(owner)
    if holder is not None:
        raise LockHeld(path, holder)
    lease = Lease(backend, owner, ttl)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            with contextlib.suppress(Exception):  # a missed renewal is retried; the expiry has margin
                lease.renew()

    thread = threading.Thread(target=renew, name="biasbench-lock-renewal", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join()
        lease.release()
