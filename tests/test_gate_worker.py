"""The gate's process (validation.worker.GateWorker): work runs there, and its output survives its quick exit."""

import functools
import os

from validation.worker import GateWorker


def test_work_runs_in_the_gate_process_and_its_output_is_flushed_when_it_ends(capfd):
    worker = GateWorker(warm=False)
    try:
        pid = worker.submit(os.getpid).result()
        # no newline and no flush: the text stays in the child's stdout buffer until the process ends
        worker.submit(functools.partial(print, "written by the gate's process", end="")).result()
    finally:
        worker.close()
    assert pid != os.getpid()
    assert "written by the gate's process" in capfd.readouterr().out
