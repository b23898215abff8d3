"""The expand-and-write stage: one element per release shard, no shuffle of row data.

Each :class:`ShardTask` carries the blocks of one shard (contiguous in release
order). The worker renders each block to a record batch, lints it (boundary lint:
from template pieces and lexicon entries, see ``transforms.boundary_lint``), and streams
it into the shard's Parquet file, so memory is bounded by one block and rows
never cross the network. What comes out is a small summary per shard, with the
shard's :class:`schemas.tally.RowTally` (counts and the text sample the
stats and the gate need, so neither reads the shards again).
"""

from __future__ import annotations

import functools
import pickle
import time
from typing import Any, Mapping

import apache_beam as beam
from apache_beam.metrics import Metrics
import pyarrow as pa

from schemas import progress, storage
from schemas.paths import confined_join
from schemas.records import TASK_FIELDS, required_columns
from schemas.release import RowsDigest
from schemas.tally import RowTally, tally_state
from transforms.lexicon_context import LexiconContext
from transforms.plan import ShardTask
from transforms.plan_files import CONTEXT_FILE, PLAN_DIR, WRITTEN_CONTEXTS, write_plan  # noqa: F401 - write_plan: its old home
from transforms.shard_summaries import TALLY_SUFFIX, read_summaries, summary_path  # noqa: F401 - read_summaries: its old home
from transforms.runs import render_runs
from transforms.write import ParquetShardWriter


#: a shard summary's key for its config's rows digest (a config of one shard only)
ROWS_DIGEST = "rows_sha256"
#: ``lint="rows"``: row lint runs over batches gathered up to about this many rows.
LINT_ROWS = 65_536
#: rows tallied at once: a tally's dozen Arrow kernels cost as much called on a template's few hundred rows
#: as on many templates' (HolisticBias: 283 batches, 0.39 s of tally, 0.18 s of it kernel calls' overhead)
TALLY_ROWS = 65_536
#: how a shard's rows are linted: not at all, from template pieces and lexicon entries (what a build
#: does), or row by row over the rendered batches (the same result; for cross-checks and benchmarks)
LINT_MODES = ("none", "boundary", "rows")


def write_shard(task: ShardTask, staging_dir: str, ctx: LexiconContext, *, lint: str = "none",
                article_overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Render and write one shard; return its summary (path, rows, lint counts, group counts).

    ``lint="boundary"``: the rows are not linted one by one; the boundary lint
    (``transforms.boundary_lint``) computes the same result as row lint — counts and examples — from
    the template pieces and the lexicon entries, at a cost that grows with templates and entries rather
    than rows. ``lint="rows"`` lints the rendered rows (``lint_batches``). ``article_overrides`` are the
    lint's (the spec's ``article_overrides``).
    """
    if lint not in LINT_MODES:
        raise ValueError(f"lint must be one of {', '.join(LINT_MODES)}, not {lint!r}")
    if task.strategy == "four_way":  # the two-person QA design renders and lints its own rows
        from transforms.four_way_plan import write_four_way_shard

        return write_four_way_shard(task, staging_dir, lint=lint, article_overrides=article_overrides)
    text_columns = list(TASK_FIELDS[task.layout.task]) + ["answer"]
    if task.layout.task == "statement":  # statements (HolisticBias) have no gold answer to lint
        text_columns.remove("answer")
    linter = many = None
    if lint == "rows":
        from schemas.lint import lint_batches

        many = functools.partial(lint_batches, article_overrides=article_overrides)
    elif lint == "boundary":
        from transforms.boundary_lint import BoundaryLinter, examples_wanted

        linter = BoundaryLinter(task.layout, ctx, text_columns, strategy=task.strategy, seed=task.seed,
                                article_overrides=article_overrides)
        linter.prepare(task.blocks)
    lint_total = None
    pending: list = []
    pending_rows = 0

    def add(result):
        nonlocal lint_total
        lint_total = result if lint_total is None else lint_total.merge(result)

    tally = RowTally(TASK_FIELDS[task.layout.task][0], required_columns(task.layout.task), task.sample_step,
                     task.first_row)
    tallied: list = []  # batches not yet tallied: a tally of many batches at once, the same as batch by batch
    tallied_rows = 0
    # a config of one shard: its rows digest (the manifest's) computed here from the rows as they are
    # written, so the driver need not read them back for it
    digest = RowsDigest(task.layout.schema) if task.count == 1 else None
    started = time.perf_counter()
    path = confined_join(staging_dir, task.relative_path)  # config names are checked; this is the backstop
    with ParquetShardWriter(path, task.layout.schema, task.row_group_size) as w:
        # consecutive blocks of one template render as one batch (same rows as block by block)
        for run, batch, _ in render_runs(task.blocks, task.layout, ctx, strategy=task.strategy,
                                              seed=task.seed):
            if linter is not None:
                add(linter.lint_run(run, batch, examples_for=examples_wanted(lint_total)))
            elif many is not None:
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= LINT_ROWS:
                    add(many(pending, text_columns))
                    pending, pending_rows = [], 0
            tallied.append(batch)
            tallied_rows += batch.num_rows
            if tallied_rows >= TALLY_ROWS:
                tally.add(pa.Table.from_batches(tallied))
                tallied, tallied_rows = [], 0
            w.write(batch)
            if digest is not None:
                digest.add(batch)
        if pending:
            add(many(pending, text_columns))
        if tallied:
            tally.add(pa.Table.from_batches(tallied))
    seconds = time.perf_counter() - started
    progress.say(f"[expand+write] {task.layout.name} shard {task.index + 1}/{task.count}: {w.rows:,} rows "
                 f"in {seconds:.1f}s ({w.rows / max(seconds, 1e-9):,.0f} rows/s)")
    summary = {
        "config": task.layout.name, "index": task.index, "count": task.count, "path": task.relative_path,
        "rows": w.rows, "groups": dict(sorted(tally.groups.items())), "seconds": round(seconds, 3),
        "lint": lint_total.to_dict() if lint_total is not None else {}, "tally": tally_state(tally),
    }
    if digest is not None:
        summary[ROWS_DIGEST] = digest.hexdigest()
    return summary


class _WriteShardFn(beam.DoFn):
    def __init__(self, staging_dir: str, lint: bool):
        self.staging_dir, self.lint = staging_dir, lint
        self._rows = Metrics.counter("expand", "rows")
        self._shards = Metrics.counter("expand", "shards")

    def setup(self):
        # the planner's context (entries, ids, cached columns), read once per worker from the staging folder
        path = storage.join(self.staging_dir, PLAN_DIR, CONTEXT_FILE)
        self._ctx = WRITTEN_CONTEXTS.get(path) or pickle.loads(storage.read_bytes(path))

    def process(self, task_path: str):
        task = pickle.loads(storage.read_bytes(task_path))
        summary = write_shard(task, self.staging_dir, self._ctx, lint="boundary" if self.lint else "none",
                              article_overrides=self._ctx.article_overrides)
        tally = summary.pop("tally")
        marker = summary_path(self.staging_dir, task)
        storage.write_bytes(marker[:-len(".json")] + TALLY_SUFFIX, pickle.dumps(tally, protocol=pickle.HIGHEST_PROTOCOL))
        storage.write_json(marker, summary)  # written last: the shard's completion marker
        self._rows.inc(summary["rows"])
        self._shards.inc()
        yield summary


class ExpandAndWriteShards(beam.PTransform):
    """Shard task paths (``write_plan``) → shard summary dicts; Parquet files and summaries under ``staging_dir``."""

    def __init__(self, staging_dir: str, lint: bool = True):
        super().__init__()
        self.staging_dir, self.lint = staging_dir, lint

    def expand(self, task_paths):
        return (task_paths
                | "SpreadShards" >> beam.Reshuffle()
                | "ExpandWrite" >> beam.ParDo(_WriteShardFn(self.staging_dir, self.lint)))
