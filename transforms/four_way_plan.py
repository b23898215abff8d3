"""Planning and writing configs of the two-person QA design (``design.strategy: four_way``).

The planner asks the config's pairing (``design.pairing``; ``bbq``: ``transforms.bbq_pairs``)
for every template's pairs of people once, in template order, and cuts the templates into
shards of about ``rows_per_shard`` rows (four per pair). A shard's worker renders each
template's pairs with ``transforms.four_way`` into one record batch, lints the rows and
streams them into the shard's Parquet file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pyarrow as pa

from schemas import progress
from schemas.paths import confined_join
from schemas.records import TASK_FIELDS, Template, required_columns
from schemas.tally import RowTally, tally_state
from transforms.four_way import CELLS, FourWayOptions, UNKNOWN_OPTIONS, render_four_way
from transforms.write import ParquetShardWriter


@dataclass
class FourWayBlock:
    """One template of a four-way config with its pairs planned."""

    config: str
    template: Template
    items: list
    targets: list[str]
    groups: list[str]
    options: FourWayOptions = field(default_factory=FourWayOptions)

    @property
    def rows(self) -> int:
        return len(CELLS) * len(self.items)


def pairing_for(design, ctx, lexicon: str, seed: int):
    """The pairing a config's design names, over the lexicons of ``ctx`` (a LexiconContext)."""
    if design.pairing != "bbq":
        raise ValueError(f"design.pairing {design.pairing!r} is not known; known: bbq")
    from transforms.bbq_pairs import BBQPairing

    if not design.names_lexicon:
        raise ValueError("design.pairing 'bbq' needs design.names_lexicon (BBQ's proper names)")
    cache = ctx.pairings
    key = (lexicon, design.names_lexicon, seed)
    if key not in cache:
        cache[key] = BBQPairing(ctx.lexicons[lexicon], ctx.lexicons[design.names_lexicon], seed)
    return cache[key]


def plan_four_way(config, templates: Sequence[Template], ctx, *, seed: int, rows_per_shard: int):
    """Blocks of one config in template order, cut into shards; also sets the config's groups."""
    from transforms.bbq_pairs import group_of, target_role
    from transforms.plan import cut_shards

    design = config.design
    seed = seed if design.seed is None else design.seed
    pairing = pairing_for(design, ctx, config.lexicon, seed)
    options = FourWayOptions(seed=seed, unknown_options=tuple(design.unknown_options or UNKNOWN_OPTIONS),
                             articles=design.articles, article_overrides=tuple(sorted(ctx.article_overrides.items())))
    blocks = []
    seen: dict[str, None] = {}
    for t in sorted(templates, key=lambda t: (t.ordinal, t.template_id)):
        items = pairing.items(t)
        groups = [group_of(item) for item in items]
        seen.update(dict.fromkeys(groups))
        blocks.append(FourWayBlock(config.name, t, items, [target_role(item, t) for item in items], groups, options))
    if config.groups_from_lexicon:
        config.resolve_groups(sorted(seen))
    return cut_shards(blocks, rows_per_shard)


def write_four_way_shard(task, staging_dir: str, *, lint: str = "none",
                         article_overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Render, lint and write one shard of a four-way config; the same summary as ``write_shard``.

    Any ``lint`` but ``"none"`` lints the shard's rendered rows once (row lint: four rows per pair leave
    little for boundary lint to save).
    """
    from schemas.lint import lint_batch

    text_columns = ["context", "question", "answer"]
    layout = task.layout
    batches, rendered = [], []
    groups: dict[str, int] = {}
    tally = RowTally(TASK_FIELDS[layout.task][0], required_columns(layout.task), task.sample_step, task.first_row)
    started = time.perf_counter()
    path = confined_join(staging_dir, task.relative_path)
    with ParquetShardWriter(path, layout.schema, task.row_group_size) as w:
        for block in task.blocks:
            batch = render_four_way(block.template, block.items, block.targets, block.options, axis=layout.axis,
                                    fill_type=layout.fill_type, schema=layout.schema, groups=block.groups)
            for g in block.groups:
                groups[g] = groups.get(g, 0) + len(CELLS)
            rendered.append(batch)
            w.write(batch)
            if lint != "none":
                batches.append(batch.select(["example_id", *text_columns]))
    if rendered:  # tallied once per shard: a template's batch is small, and each tally costs a few group-bys
        tally.add(pa.Table.from_batches(rendered))
    lint_summary = (lint_batch(pa.Table.from_batches(batches), text_columns, article_overrides=article_overrides)
                    .to_dict() if batches else {})
    seconds = time.perf_counter() - started
    progress.say(f"[expand+write] {layout.name} shard {task.index + 1}/{task.count}: {w.rows:,} rows in {seconds:.1f}s")
    return {
        "config": layout.name, "index": task.index, "count": task.count, "path": task.relative_path,
        "rows": w.rows, "groups": dict(sorted(groups.items())), "seconds": round(seconds, 3), "lint": lint_summary,
        "tally": tally_state(tally),
    }
