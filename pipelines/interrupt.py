"""SIGINT and SIGTERM as a clean stop: one exception in the main thread, then no leftover processes.

``handle_signals()`` turns either signal into :class:`Interrupted`, raised in
the main thread wherever the build is, so the ``finally`` blocks that remove
the staging folder and stop the gate's child run as for any error. Later
signals are ignored while that cleanup runs (a second Ctrl-C must not leave a
half-removed staging folder). Afterwards :func:`end_child_processes` ends what
the build started and could not stop itself (Beam's worker processes, a local
Dask cluster, multiprocessing's resource tracker).

Exit codes follow the shell's convention: 128 + the signal number (130 for
SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The build was asked to stop. A BaseException, so ``except Exception`` blocks do not swallow it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


#: the signal that stopped the build, kept because libraries may catch :class:`Interrupted` and re-raise it
#: as another exception (Beam's DoFn runner re-raises anything a stage raises, wrapped)
received: int | None = None


def _raise(signum, frame) -> None:
    global received
    received = signum
    for s in SIGNALS:  # cleanup runs next: do not let a second signal cut it short
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


def interruption(exc: BaseException) -> Interrupted | None:
    """The :class:`Interrupted` behind ``exc`` (itself, or what a library made of it), or None."""
    if isinstance(exc, Interrupted):
        return exc
    return Interrupted(received) if received is not None else None


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM raise :class:`Interrupted`; handlers are restored after."""
    global received
    received = None
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, _raise)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _descendants() -> list:
    try:
        import psutil
    except ImportError:
        return []
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def _resource_tracker_pid() -> int | None:
    try:
        from multiprocessing import resource_tracker

        return resource_tracker._resource_tracker._pid
    except (ImportError, AttributeError):
        return None


def end_child_processes(grace: float = 3.0) -> int:
    """SIGTERM every descendant of this process, SIGKILL those left after ``grace`` s; return how many.

    multiprocessing's resource tracker is left alone: it ignores SIGTERM, and it exits by itself (after
    freeing what the killed children left) once this process, the last holder of its pipe, exits.
    """
    import multiprocessing

    tracker = _resource_tracker_pid()
    children = [p for p in _descendants() if p.pid != tracker]
    for proc in children:
        with contextlib.suppress(Exception):
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in children:
        with contextlib.suppress(Exception):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    for proc in children:
        with contextlib.suppress(Exception):
            if proc.is_running():
                proc.kill()
    multiprocessing.active_children()  # reap multiprocessing's own children
    return len(children)
