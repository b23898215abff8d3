"""What each finished shard hands back through the filesystem, and reading it: no Beam here, so the
gate's process (``pipelines.shard_follower``) follows the shards without importing it.

A worker writes, per shard, ``<staging>/_summaries/<config>/<index>.tally.pickle`` (its
:class:`schemas.tally.RowTally`) and then ``<index>.json`` (its summary), the shard's completion marker.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from schemas import storage

SUMMARY_DIR = "_summaries"  # under the staging folder: what each worker hands back when its shard is done
TALLY_SUFFIX = ".tally.pickle"  # beside each summary: the shard's RowTally (Arrow arrays, sets: not JSON)


def summary_path(staging_dir: str, task) -> str:
    """Where a finished shard's summary goes (``task``: its ``transforms.plan.ShardTask``): its completion marker."""
    return storage.join(staging_dir, SUMMARY_DIR, task.layout.name, f"{task.index:06d}.json")


def finished_shards(staging_dir: str) -> list[tuple[str, int]]:
    """``(config, index)`` of every shard whose completion marker is written, sorted."""
    root = storage.join(staging_dir, SUMMARY_DIR)
    found = []
    for rel in storage.list_files(root):
        config, _, name = rel.rpartition("/")
        if name.endswith(".json") and config:
            found.append((config, int(name[:-len(".json")])))
    return sorted(found)


def read_tally(staging_dir: str, config: str, index: int) -> dict[str, Any]:
    """The tally state (``schemas.tally.tally_state``) a finished shard left beside its marker."""
    return pickle.loads(storage.read_bytes(storage.join(staging_dir, SUMMARY_DIR, config, f"{index:06d}{TALLY_SUFFIX}")))


def read_summaries(staging_dir: str, tasks_expected: int) -> list[dict[str, Any]]:
    """Every shard's summary, sorted by (config, index); an error if a shard left none."""
    root = storage.join(staging_dir, SUMMARY_DIR)
    summaries = [json.loads(storage.read_bytes(storage.join(root, config, f"{index:06d}.json")))
                 for config, index in finished_shards(staging_dir)]
    if len(summaries) != tasks_expected:
        raise RuntimeError(f"{len(summaries)} of {tasks_expected} shards reported back; the run is incomplete")
    for s in summaries:
        s["tally"] = read_tally(staging_dir, s["config"], s["index"])
    return sorted(summaries, key=lambda s: (s["config"], s["index"]))
