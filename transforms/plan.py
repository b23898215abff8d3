"""Planning a release: the templates and lexicons in, the shard tasks out.

Runs once per build over the (small) list of templates: it orders them, checks
every slot against the lexicons, draws sequential samples where a config asks
for them, and cuts each config's blocks into shards of contiguous rows.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from schemas.records import LexiconEntry, Template
from transforms.expand import ConfigLayout, LexiconContext, plan_config
from transforms.shards import ShardTask
from schemas.tally import sample_step


def layout_of(config) -> ConfigLayout:
    return ConfigLayout(task=config.task, axis=config.axis, lexicon=config.lexicon,
                        referents=dict(config.referents), fill_type=config.fill_type,
                        metadata_columns=tuple(config.metadata_columns), name=config.name)


def templates_for(config, templates: Iterable[Template]) -> list[Template]:
    """The templates of the config's task that pass its ``template_filter``."""
    chosen = []
    for t in templates:
        if t.task != config.task:
            continue
        ok = True
        for key, allowed in config.template_filter.items():
            value = getattr(t, key, None) if key != "metadata" else None
            if value is None:
                value = t.metadata.get(key, "")
            if value not in allowed:
                ok = False
                break
        if ok:
            chosen.append(t)
    return chosen


def resolve_lexicon_groups(spec, lexicons: Mapping[str, Sequence[LexiconEntry]]) -> None:
    """Configs with ``groups_from_lexicon``: their groups become every group of their lexicon on their
    axis, in lexicon order (set on the spec's config objects, which the gate, stats and card then read)."""
    for config in spec.configs:
        if not getattr(config, "groups_from_lexicon", False):
            continue
        if config.lexicon not in lexicons:
            raise ValueError(f"config {config.name!r}: lexicon {config.lexicon!r} is not loaded")
        groups = [e.group for e in lexicons[config.lexicon] if e.axis == config.axis]
        if not groups:
            raise ValueError(f"config {config.name!r}: lexicon {config.lexicon!r} has no entries on axis "
                             f"{config.axis!r} to take groups from")
        config.resolve_groups(groups)


def plan_release(spec, templates: Sequence[Template], lexicons: Mapping[str, Sequence[LexiconEntry]],
                 ctx: LexiconContext | None = None) -> list[ShardTask]:
    """Every shard task of the release, config by config in spec order.

    ``ctx``: the LexiconContext the shards will be rendered with in this process, if any (over the
    same ``lexicons``), so that its group look-ups are made once for planning and rendering.
    """
    resolve_lexicon_groups(spec, lexicons)
    if ctx is None:
        ctx = LexiconContext(lexicons, spec.article_overrides)
    tasks: list[ShardTask] = []
    for config in spec.configs:
        layout = layout_of(config)
        chosen = templates_for(config, templates)
        if not chosen:
            raise ValueError(f"config {config.name!r}: no template of task {config.task!r} passed extraction "
                             f"and filtering")
        shards = plan_config(layout, config.groups, config.design, chosen, ctx,
                             seed=spec.seed, rows_per_shard=spec.release.rows_per_shard)
        seed = spec.seed if config.design.seed is None else config.design.seed
        step = sample_step(sum(b.rows for blocks in shards for b in blocks))
        first_row = 0
        for i, blocks in enumerate(shards):
            tasks.append(ShardTask(layout, blocks, i, len(shards), config.split, config.design.strategy, seed,
                                   spec.release.row_group_size, first_row, step))
            first_row += tasks[-1].rows
    return tasks
