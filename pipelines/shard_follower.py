"""Configs' figures computed in the gate's process, as soon as their shards are written.

The driver spends the expansion writing shards on one core; the gate's process, once its earlier
work is done (Great Expectations' import, the grammar check), has the other core to itself. It
follows the shards' completion markers (``transforms.shard_summaries.finished_shards``, the same
hand-off through the filesystem the driver reads) and, as soon as the last shard of one of its
configs is written, merges that config's tallies in shard order and computes its report
(``validation.stats.spec_config_stats``): the distinct-n, self-BLEU and similarity figures over the
config's text sample are most of what ``compute_stats`` costs. The driver computes the other configs'
(``pipelines.build.gate_share`` splits them), or all of them when this process has not started on its
own by the time the driver is ready (``take_over``), and passes the reports to ``compute_stats(...,
computed=…)``: the same tallies in the same order, so stats.json is byte for byte what one process
would have written.
"""

from __future__ import annotations

import os
import time
from typing import Any, Mapping

from schemas import storage
from schemas.tally import merged, tally_from_state
from transforms.shard_summaries import SUMMARY_DIR, finished_shards, read_tally
from validation.stats import read_templates, resolve_similarity_method, spec_config_stats

#: under the shards' summaries: written when this process starts following, and by the driver when it computes
#: every config's figures itself because this process had not started (still busy with an earlier task)
STARTED_FILE, STOP_FILE = "_following.started", "_following.stop"
TEMPLATES_FILE = "templates.parquet"  # the driver writes it before the first shard; it stays in the release
#: seconds between two looks at the markers: a local folder is cheap to list, an object store is not
POLL_SECONDS = {"local": 0.05, "remote": 1.0}


def follow_config_stats(staging_dir: str, spec, shards: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """``{config: report}`` for every config of ``shards`` (config -> its number of shards), each computed
    once its shards' markers are all written; returns when every config is done, or at once with nothing
    when the driver has taken the work over (``take_over``).

    Raises when the staging folder loses its templates.parquet (written before the first shard; a
    failed build removes the folder) or the process that submitted this one is gone, so a failed build
    never leaves this loop running."""
    started, stop = (storage.join(staging_dir, SUMMARY_DIR, name) for name in (STARTED_FILE, STOP_FILE))
    storage.write_bytes(started, b"")
    if storage.exists(stop):
        return {}
    parent = os.getppid()
    poll = POLL_SECONDS["remote" if storage.is_remote(staging_dir) else "local"]
    by_config = {c.name: c for c in spec.configs}
    method = resolve_similarity_method(spec)
    templates = None
    read: dict[str, dict[int, Any]] = {name: {} for name in shards}
    reports: dict[str, dict[str, Any]] = {}
    while len(reports) < len(shards):
        fresh = False
        for config, index in finished_shards(staging_dir):
            if config in reports or config not in read or index in read[config]:
                continue
            read[config][index] = tally_from_state(read_tally(staging_dir, config, index))
            fresh = True
            if len(read[config]) == shards[config]:
                if templates is None:
                    templates = read_templates(staging_dir)
                tally = merged(read[config][i] for i in sorted(read[config]))
                reports[config] = spec_config_stats(by_config[config], tally, templates, method)
                read[config] = {}
        if not fresh and len(reports) < len(shards):
            if os.getppid() != parent or not storage.exists(storage.join(staging_dir, TEMPLATES_FILE)):
                raise RuntimeError(f"{staging_dir}: the build that wrote it is gone; stopped following its shards")
            time.sleep(poll)
    return reports


def take_over(staging_dir: str) -> bool:
    """Called by the driver when it is ready to compute the figures: True (and this process's
    ``follow_config_stats`` will compute nothing) when that has not started yet, the gate's process being
    busy with earlier work (a long grammar check). Should both start at once, both compute the same figures;
    the driver keeps its own."""
    if storage.exists(storage.join(staging_dir, SUMMARY_DIR, STARTED_FILE)):
        return False
    storage.write_bytes(storage.join(staging_dir, SUMMARY_DIR, STOP_FILE), b"")
    return True
