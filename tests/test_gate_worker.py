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


def _import_json_module():
    import json  # noqa: F401 - stands for an import the gate's process keeps (spaCy, matplotlib)

    return "loaded"


def test_what_loading_work_made_is_frozen_out_of_the_gate_process_collections():
    import gc

    worker = GateWorker(warm=False)
    try:
        before = worker.submit(gc.get_freeze_count).result()
        assert worker.submit_loading(_import_json_module).result() == "loaded"
        after = worker.submit(gc.get_freeze_count).result()
        assert worker.submit(os.getpid).result() != os.getpid()
    finally:
        worker.close()
    assert before == 0  # a spawned process starts with nothing frozen
    assert after > 0


def test_a_process_without_the_child_keeps_its_collector_as_it_is():
    import gc

    worker = GateWorker(warm=False)
    worker.close()  # no child: submitted work runs here
    frozen = gc.get_freeze_count()
    assert worker.submit_loading(_import_json_module).result() == "loaded"
    assert gc.get_freeze_count() == frozen
