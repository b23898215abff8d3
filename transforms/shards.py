"""The expand-and-write stage: one element per release shard, no shuffle of row data.

Each :class:`ShardTask` carries the blocks of one shard (contiguous in release
order). The worker renders each block to a record batch, lints it (boundary lint:
from template pieces and lexicon entries, see ``validation.boundary_lint``), and streams
it into the shard's Parquet file, so memory is bounded by one block and rows
never cross the network. What comes out is a small summary per shard, with the
shard's :class:`transforms.tally.RowTally` (counts and the text sample the
stats and the gate need, so neither reads the shards again).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import TASK_FIELDS, required_columns
from transforms.expand import Block, ConfigLayout, LexiconContext
from transforms.runs import render_runs
from transforms.tally import RowTally, tally_state
from transforms.write import ParquetShardWriter, shard_name


@dataclass
class ShardTask:
    layout: ConfigLayout
    blocks: list[Block]
    index: int
    count: int
    split: str
    strategy: str
    seed: int
    row_group_size: int
    first_row: int = 0  # index of the shard's first row within its config
    sample_step: int = 1  # every sample_step-th row of the config enters the text sample (transforms.tally)

    @property
    def relative_path(self) -> str:
        return f"data/{self.layout.name}/{shard_name(self.split, self.index, self.count)}"

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.blocks)


def _lint_options(lint) -> dict | None:
    """The keyword options of ``lint`` when it is ``lint_batch`` (or a partial of it), else None."""
    if lint is None:
        return None
    from validation.lint import lint_batch

    if lint is lint_batch:
        return {}
    if isinstance(lint, functools.partial) and lint.func is lint_batch and not lint.args:
        return dict(lint.keywords)
    return None


#: ``lint_mode="rows"``: row lint runs over batches gathered up to about this many rows.
LINT_ROWS = 65_536


def write_shard(task: ShardTask, staging_dir: str, ctx: LexiconContext, lint=None, *,
                lint_mode: str = "boundary") -> dict[str, Any]:
    """Render and write one shard; return its summary (path, rows, lint counts, group counts).

    ``lint(batch, text_columns)`` is called per rendered batch. When ``lint`` is ``lint_batch`` (or a
    partial of it with keyword options), the rows are not linted one by one: the boundary lint
    (``validation.boundary_lint``) computes the same result — counts and examples — from the template
    pieces and the lexicon entries, at a cost that grows with templates and entries rather than rows.
    ``lint_mode="rows"`` lints the rendered rows instead (``lint_batches`` over gathered batches; same
    result, for cross-checks and benchmarks).
    """
    if lint_mode not in ("boundary", "rows"):
        raise ValueError(f"lint_mode must be 'boundary' or 'rows', not {lint_mode!r}")
    text_columns = list(TASK_FIELDS[task.layout.task]) + ["answer"]
    if task.layout.task == "statement":  # statements (HolisticBias) have no gold answer to lint
        text_columns.remove("answer")
    options = _lint_options(lint)
    linter = many = None
    if options is not None and lint_mode == "rows":
        from validation.lint import lint_batches

        many = functools.partial(lint_batches, **options)
    elif options is not None:
        from validation.boundary_lint import BoundaryLinter, examples_wanted

        linter = BoundaryLinter(task.layout, ctx, text_columns, strategy=task.strategy, seed=task.seed,
                                article_overrides=options.get("article_overrides"),
                                id_column=options.get("id_column", "example_id"))
        linter.prepare(task.blocks)
    lint_total = None
    pending: list = []
    pending_rows = 0

    def add(result):
        nonlocal lint_total
        lint_total = result if lint_total is None else lint_total.merge(result)

    tally = RowTally(TASK_FIELDS[task.layout.task][0], required_columns(task.layout.task), task.sample_step,
                     task.first_row)
    started = time.perf_counter()
    with ParquetShardWriter(f"{staging_dir}/{task.relative_path}", task.layout.schema, task.row_group_size) as w:
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
            elif lint is not None:
                add(lint(batch, text_columns))
            tally.add(batch)
            w.write(batch)
        if pending:
            add(many(pending, text_columns))
    seconds = time.perf_counter() - started
    print(f"[expand+write] {task.layout.name} shard {task.index + 1}/{task.count}: {w.rows:,} rows "
          f"in {seconds:.1f}s ({w.rows / max(seconds, 1e-9):,.0f} rows/s)", file=sys.stderr, flush=True)
    return {
        "config": task.layout.name, "index": task.index, "count": task.count, "path": task.relative_path,
        "rows": w.rows, "groups": dict(sorted(tally.groups.items())), "seconds": round(seconds, 3),
        "lint": lint_total.to_dict() if lint_total is not None else {}, "tally": tally_state(tally),
    }


#: Contexts handed to shard writers running in this very process (Beam's in-process runner), by token:
#: pickling a large context (tens of thousands of entries, cached columns) and unpickling it per bundle
#: costs seconds, and the in-process runner would do it only to hand the same object back.
_LOCAL_CONTEXTS: dict[str, LexiconContext] = {}


@contextlib.contextmanager
def local_context(ctx: LexiconContext):
    """Register ``ctx`` for shard writers in this process while the block runs; yield its token."""
    token = f"{os.getpid()}-{id(ctx)}"
    _LOCAL_CONTEXTS[token] = ctx
    try:
        yield token
    finally:
        _LOCAL_CONTEXTS.pop(token, None)


class _WriteShardFn(beam.DoFn):
    def __init__(self, staging_dir: str, ctx: LexiconContext, lint: bool, local_token: str | None = None):
        # the planner's context travels with the DoFn (entries, ids and cached columns made once), unless
        # the DoFn runs in this process, where the token finds the very same object
        self.staging_dir, self.lint, self.local_token = staging_dir, lint, local_token
        self.ctx = None if local_token else ctx
        self._rows = Metrics.counter("expand", "rows")
        self._shards = Metrics.counter("expand", "shards")

    def setup(self):
        if self.local_token:
            if self.local_token not in _LOCAL_CONTEXTS:
                raise RuntimeError("a shard writer meant for the in-process runner runs in another process")
            self.ctx = _LOCAL_CONTEXTS[self.local_token]
        self._lint_fn = None
        if self.lint:
            from validation.lint import lint_batch  # the lint rules load only where rows are made

            self._lint_fn = functools.partial(lint_batch, article_overrides=self.ctx.article_overrides)

    def process(self, task: ShardTask):
        summary = write_shard(task, self.staging_dir, self.ctx, self._lint_fn)
        self._rows.inc(summary["rows"])
        self._shards.inc()
        yield summary


class ExpandAndWriteShards(beam.PTransform):
    """ShardTask → shard summary dicts; the Parquet files land under ``staging_dir``.

    ``ctx`` is the :class:`LexiconContext` the shards were planned with; ``local_token``: its token from
    :func:`local_context` when the pipeline runs in this process (the context is then not pickled).
    """

    def __init__(self, staging_dir: str, ctx: LexiconContext, lint: bool = True, local_token: str | None = None):
        super().__init__()
        self.staging_dir, self.ctx, self.lint, self.local_token = staging_dir, ctx, lint, local_token

    def expand(self, tasks):
        return (tasks
                | "SpreadShards" >> beam.Reshuffle()
                | "ExpandWrite" >> beam.ParDo(_WriteShardFn(self.staging_dir, self.ctx, self.lint, self.local_token)))
