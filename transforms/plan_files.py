"""The plan as files under the staging folder: what the driver hands the shard workers.

Read back through the filesystem layer, so no worker needs the driver's disk; the gate's
process reads it too (for the grammar check). No Beam here: that process never imports it.
"""

from __future__ import annotations

import pickle
from typing import Sequence

from schemas import storage
from transforms.lexicon_context import LexiconContext
from transforms.plan import ShardTask

PLAN_DIR = "_plan"
CONTEXT_FILE = "context.pickle"

#: Contexts this process wrote into a plan, by path: shard writers that run in the same process (Beam's
#: in-process runner) take the very object instead of unpickling a copy (seconds for a large lexicon).
WRITTEN_CONTEXTS: dict[str, LexiconContext] = {}


def write_plan(staging_dir: str, tasks: list[ShardTask], ctx: LexiconContext) -> list[str]:
    """Write the lexicon context and one file per shard task under ``staging_dir/_plan``; return the task paths.

    The job graph then carries only these paths, not the templates and lexicons (Dataflow limits its size).
    """
    plan = storage.join(staging_dir, PLAN_DIR)
    storage.write_bytes(storage.join(plan, CONTEXT_FILE), pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL))
    WRITTEN_CONTEXTS.clear()  # one plan at a time: earlier builds' contexts are not kept alive
    WRITTEN_CONTEXTS[storage.join(plan, CONTEXT_FILE)] = ctx
    paths = []
    for n, task in enumerate(tasks):
        path = storage.join(plan, f"task-{n:06d}.pickle")
        storage.write_bytes(path, pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL))
        paths.append(path)
    return paths


def read_plan(staging_dir: str, task_paths: Sequence[str]) -> tuple[list[ShardTask], LexiconContext]:
    """The shard tasks and lexicon context ``write_plan`` wrote, read in another process than the planner's."""
    ctx = pickle.loads(storage.read_bytes(storage.join(staging_dir, PLAN_DIR, CONTEXT_FILE)))
    return [pickle.loads(storage.read_bytes(p)) for p in task_paths], ctx
