"""The release gate in a child process that warms up while the pipeline runs.

Great Expectations takes ~3 s of pure-Python import. A spawned child imports it
on the second core as soon as a build starts (``biasbench build`` starts it
before the driver imports Beam), so by the time the rows are written the gate is
ready; the main process never imports it at all. The child also takes other work
the driver would otherwise wait for (``submit``): the grammar check's parse, the
rows digests, stats.png.

A build opens ``with GateWorker() as gate:`` before the pipeline runs and later
calls ``gate.run_gate(staging_dir, spec, lint, stats)``.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor


def _exit_at_once() -> None:
    """End this process without tearing its modules down: freeing Great Expectations', spaCy's and their
    dependencies' objects takes a second or more, which the build waits for, and nothing reads them again
    (every result went back through the pool's queue before the pool asked the process to stop, and
    multiprocessing flushed stdout and stderr when the pool's loop returned)."""
    os._exit(0)


def _init_child() -> None:
    atexit.register(_exit_at_once)  # after the exit handlers of what the work imports (registered later)


def _warm_up() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401
    import great_expectations.expectations  # noqa: F401

    import validation.gate  # noqa: F401

    gc.freeze()


def _then_freeze(fn, *args):
    """``fn(*args)``, then every object this process holds left out of its later garbage collections
    (``gc.freeze``). For work that imports or loads (spaCy's model, matplotlib): what it makes lives as long
    as the process, and a collection that walks it finds nothing to free. Unfrozen, Great Expectations',
    spaCy's and matplotlib's objects made every later full collection long: in a holistic-bias build the
    gate's process spent 0.5 s collecting after its imports, 0.06 s with them frozen (``_warm_up`` freezes
    Great Expectations' the same way)."""
    result = fn(*args)
    gc.freeze()
    return result


def _run_gate(staging_dir, spec, lint, stats):
    from validation.gate import run_gate

    return run_gate(staging_dir, spec, lint, stats)


class GateWorker:
    """One spawned process that runs ``validation.gate.run_gate``; falls back to in-process."""

    def __init__(self, warm: bool = True):
        self._pool = None
        try:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_child)
            if warm:
                self._warm = self._pool.submit(_warm_up)
        except (OSError, RuntimeError):  # no processes to be had here: run in this process instead
            self._pool = None

    @property
    def in_child(self) -> bool:
        """Whether submitted work runs in the child (False: in this process, no process could be started)."""
        return self._pool is not None

    def run_gate(self, staging_dir, spec, lint, stats) -> dict:
        return self.submit_gate(staging_dir, spec, lint, stats).result()

    def submit_gate(self, staging_dir, spec, lint, stats) -> Future:
        """The gate's report as a future, while this process does other work."""
        return self.submit(_run_gate, staging_dir, spec, lint, stats)

    def submit(self, fn, *args) -> Future:
        """``fn(*args)`` in the child (in this process when there is none), after what was submitted before."""
        if self._pool is None:
            done: Future = Future()
            done.set_result(fn(*args))
            return done
        return self._pool.submit(fn, *args)

    def submit_loading(self, fn, *args) -> Future:
        """``submit`` for work that imports or loads what the process keeps (``_then_freeze``); in this process
        when there is no child (this process's collections are left as they are)."""
        if self._pool is None:
            return self.submit(fn, *args)
        return self._pool.submit(_then_freeze, fn, *args)

    def terminate(self) -> None:
        """End the child now (a failed or interrupted build): no waiting for a gate run in flight."""
        if self._pool is not None:
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                if proc.is_alive():
                    proc.kill()
                    proc.join(timeout=5)
            # wait for the pool's manager thread (the child is dead, so it ends at once): left running, it
            # closes its wake-up pipe while the interpreter's exit handler writes to it (EBADF on stderr)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "GateWorker":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:  # a failed or interrupted run does not wait for work in flight
            self.terminate()
