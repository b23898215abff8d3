"""Progress lines on stderr, on when a person is watching.

A build says what each stage did (``[expand] 78,400 rows in 3.1s``). By default
those lines appear only when stderr is a terminal, so a captured stderr (cron,
CI, a test) holds nothing but errors, one line each; ``--progress on`` (or
``BIASBENCH_PROGRESS=1``) keeps them in logs. The switch is an environment
variable so that worker processes, which print their own shard lines,
inherit it.
"""

from __future__ import annotations

import os
import sys

ENV = "BIASBENCH_PROGRESS"


def configure(mode: str = "auto") -> None:
    """``on``, ``off`` or ``auto`` (on when stderr is a terminal)."""
    if mode == "auto":
        on = os.environ.get(ENV, "") == "1" or sys.stderr.isatty()
    else:
        on = mode == "on"
    os.environ[ENV] = "1" if on else "0"


def enabled() -> bool:
    return os.environ.get(ENV, "0") == "1"


def say(message: str) -> None:
    if enabled():
        print(message, file=sys.stderr, flush=True)
