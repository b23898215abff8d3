"""Planning a release: the templates and lexicons in, the shard tasks out, in one place.

Runs once per build over the (small) list of templates: it orders them, checks
every slot against the lexicons, chooses each block's fillers by the config's
design (or leaves the choice to the worker, seeded), and cuts each config's
blocks into shards of contiguous rows. Expansion (``transforms.expand``) only
renders what is planned here.

Designs: which lexicon entries fill each template × group block. A block is one
template in one group of one config; its *selection* is the positions (in the
group's entry list) of the fillers of its rows, in row order.

- ``all``: every entry (full factorial).
- ``sample``: ``per_group`` entries drawn with an RNG seeded by
  ``(seed, config, template id, group)`` — the same on any worker, in any order.
- ``sequential``: CPython's ``random.seed(seed)`` once per config, then
  ``random.sample`` per template in template order and group order. This is
  how CALM v1 was drawn; it is inherently sequential, so the planner computes
  it in one place before the blocks fan out.
- ``four_way``: the two-person QA design (``transforms.four_way_plan``).

>>> select_block(strategy="sample", group_size=10, count=3, seed=1, key=("qa", "t-1", "male"))
[1, 0, 4]
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import pyarrow as pa

from schemas.ids import stable_seed
from schemas.records import TASK_FIELDS, LexiconEntry, Template, row_schema
from schemas.slots import SlotError, parse_slots
from schemas.tally import sample_step
from transforms.lexicon_context import LexiconContext, filler_where
from transforms.write import shard_name


@dataclass(frozen=True)
class ConfigLayout:
    """What a block needs to know of its config (a picklable subset of ConfigSpec)."""

    task: str
    axis: str
    lexicon: str
    referents: Mapping[str, str] = field(default_factory=dict)  # referent -> lexicon, when not `lexicon`
    fill_type: str = "implicit"
    metadata_columns: tuple[str, ...] = ()
    name: str = ""
    design: str = ""  # a design that adds typed columns (schemas.records.DESIGN_COLUMNS), e.g. four_way

    @property
    def schema(self) -> pa.Schema:
        return row_schema(self.task, self.metadata_columns, self.design)

    def lexicon_of(self, referent: str) -> str:
        return self.referents.get(referent, self.lexicon)


@dataclass
class Block:
    """One template × group of one config, with its fillers chosen (or to be chosen)."""

    config: str
    template: Template
    group: str
    group_index: int
    selection: Sequence[int] | None = None  # positions in the group's entries; None: choose in the worker
    source_group: str = ""
    count: int | None = None
    sample: bool = True
    rows: int = 0
    strata: tuple[tuple[int, ...], ...] = ()  # design.stratify: the group's positions per stratum

    @property
    def lexicon_group(self) -> str:
        return self.source_group or self.group


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
    sample_step: int = 1  # every sample_step-th row of the config enters the text sample (schemas.tally)

    @property
    def relative_path(self) -> str:
        return f"data/{self.layout.name}/{shard_name(self.split, self.index, self.count)}"

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.blocks)


def select_block(*, strategy: str, group_size: int, count: int | None, seed: int, key: Sequence[str],
                 sample: bool = True) -> list[int]:
    """Positions of one block's fillers for the order-independent strategies."""
    n = group_size if count is None else count
    if n > group_size:
        raise ValueError(f"block {'/'.join(key)} needs {n} fillers but the group has {group_size}")
    if strategy == "all" or not sample:
        return list(range(n))
    if strategy == "sample":
        return random.Random(stable_seed(seed, *key)).sample(range(group_size), n)
    raise ValueError(f"strategy {strategy!r} is not order-independent")


def select_sequential(blocks: Sequence[tuple[int, int | None, bool]], seed: int) -> list[list[int]]:
    """Selections for blocks in order, from one CPython RNG seeded once.

    Each block is ``(group_size, count, sample)``; a block with ``sample`` False
    takes its first ``count`` entries and draws nothing (CALM's non-binary names).
    """
    rng = random.Random(seed)
    out = []
    for group_size, count, sample in blocks:
        n = group_size if count is None else count
        if n > group_size:
            raise ValueError(f"a block needs {n} fillers but its group has {group_size}")
        # random.sample picks by position, so sampling positions equals sampling the values
        out.append(rng.sample(range(group_size), n) if sample else list(range(n)))
    return out


def select_stratified(*, strata: Sequence[Sequence[int]], count: int, seed: int, key: Sequence[str]) -> list[int]:
    """``count`` positions balanced across strata (e.g. a race group's male and female names).

    Each stratum gives ``count // len(strata)`` positions (the first ``count % len(strata)``
    strata one more); a stratum with fewer entries gives all it has and the others make up
    the difference. Drawn with an RNG seeded by ``(seed, key)``, then shuffled so rows do
    not come sorted by stratum. Order-independent like ``sample``.

    >>> picked = select_stratified(strata=[[0, 1, 2], [3, 4, 5]], count=4, seed=1, key=("c", "t", "g"))
    >>> sum(p < 3 for p in picked), sum(p >= 3 for p in picked)
    (2, 2)
    """
    if not strata:
        raise ValueError(f"block {'/'.join(key)}: no strata to balance")
    rng = random.Random(stable_seed(seed, *key, "stratified"))
    if count > sum(len(p) for p in strata):
        raise ValueError(f"block {'/'.join(key)} needs {count} fillers but its strata hold {sum(map(len, strata))}")
    # equal shares; a stratum too small for its share gives all it has and the others make up the rest
    quota = [0] * len(strata)
    left = count
    open_ = [i for i in range(len(strata)) if strata[i]]
    while left and open_:
        base, extra = divmod(left, len(open_))
        for j, i in enumerate(list(open_)):
            take = min(base + (1 if j < extra else 0), len(strata[i]) - quota[i])
            quota[i] += take
            left -= take
        open_ = [i for i in open_ if quota[i] < len(strata[i])]
    chosen: list[int] = []
    for i, positions in enumerate(strata):
        chosen += rng.sample(list(positions), quota[i])
    rng.shuffle(chosen)
    return chosen


def check_template(template: Template, layout: ConfigLayout, ctx: LexiconContext) -> None:
    """Every slot parses and every referent is filled by a lexicon the config binds."""
    features = set()
    for ref_lexicon in {layout.lexicon, *layout.referents.values()}:
        features |= ctx.feature_names(ref_lexicon)
    for field_name, text in template.slot_texts():
        parse_slots(text, template_id=template.template_id, field=field_name, extra_attrs=features)
    missing = set(TASK_FIELDS[template.task]) - set(template.fields)
    if missing:
        raise SlotError(template.template_id, sorted(missing)[0], f"task {template.task!r} needs this field")
    if not template.referents:
        raise SlotError(template.template_id, "fields", "no slot: the template has nobody to fill")


def plan_config(layout: ConfigLayout, groups, design, templates: Sequence[Template], ctx: LexiconContext,
                *, seed: int, rows_per_shard: int) -> list[list[Block]]:
    """Blocks of one config in release order (template order, then group order), cut into shards.

    ``groups`` are GroupSpec-like (name, source_group, count, sample); ``design``
    is DesignSpec-like (strategy, per_group, seed).
    """
    templates = sorted(templates, key=lambda t: (t.ordinal, t.template_id))
    design_seed = seed if design.seed is None else design.seed
    blocks: list[Block] = []
    for template in templates:
        check_template(template, layout, ctx)
        if filler_where(template):
            ctx.check_filler_where(layout.lexicon, filler_where(template), template.template_id)
        for gi, g in enumerate(groups):
            size = len(ctx.entries(layout.lexicon, layout.axis, g.source_group, filler_where(template)))
            count = g.count if g.count is not None else design.per_group
            if design.strategy == "all" and g.count is None:
                count = None
            n = size if count is None else count
            if n > size:
                raise ValueError(f"config {layout.name!r}: group {g.name!r} needs {n} fillers per template "
                                 f"but lexicon {layout.lexicon!r} has {size}")
            if n == 0 and filler_where(template):
                continue  # no entry of this group may fill this template
            blocks.append(Block(layout.name, template, g.name, gi, None, g.source_group, count, g.sample, n))
    if design.strategy == "sequential":
        sizes = [(len(ctx.entries(layout.lexicon, layout.axis, b.lexicon_group, filler_where(b.template))),
                  b.count, b.sample)
                 for b in blocks]
        for block, selection in zip(blocks, select_sequential(sizes, design_seed)):
            block.selection = selection
    if getattr(design, "stratify", ""):
        assign_strata(blocks, layout, ctx, design)
    return cut_shards(blocks, rows_per_shard)


def assign_strata(blocks: Sequence[Block], layout: ConfigLayout, ctx: LexiconContext, design) -> None:
    """``design.stratify``: each sampled block's group positions split by the entries' feature value."""
    if design.strategy != "sample":
        raise ValueError(f"config {layout.name!r}: design.stratify needs strategy 'sample', not {design.strategy!r}")
    cache: dict[tuple, tuple] = {}
    for block in blocks:
        if not block.sample:
            continue
        where = filler_where(block.template)
        key = (block.lexicon_group, where)
        if key not in cache:
            entries = ctx.entries(layout.lexicon, layout.axis, block.lexicon_group, where)
            values = list(design.strata) or sorted({e.features.get(design.stratify, "") for e in entries})
            cache[key] = tuple(tuple(i for i, e in enumerate(entries) if e.features.get(design.stratify, "") == v)
                               for v in values)
        block.strata = cache[key]


def cut_shards(blocks: Sequence[Block], rows_per_shard: int) -> list[list[Block]]:
    """Contiguous runs of whole blocks of about ``rows_per_shard`` rows (at least one shard)."""
    shards: list[list[Block]] = [[]]
    rows = 0
    for block in blocks:
        if shards[-1] and rows + block.rows > rows_per_shard:
            shards.append([])
            rows = 0
        shards[-1].append(block)
        rows += block.rows
    return shards


def block_selection(block: Block, strategy: str, seed: int, group_size: int) -> list[int]:
    if block.selection is not None:
        return list(block.selection)
    if block.strata:
        return select_stratified(strata=block.strata, count=block.count if block.count is not None else group_size,
                                 seed=seed, key=(block.config, block.template.template_id, block.group))
    return select_block(strategy=strategy, group_size=group_size, count=block.count, seed=seed,
                        key=(block.config, block.template.template_id, block.group), sample=block.sample)


def layout_of(config) -> ConfigLayout:
    return ConfigLayout(task=config.task, axis=config.axis, lexicon=config.lexicon,
                        referents=dict(config.referents), fill_type=config.fill_type,
                        metadata_columns=tuple(config.metadata_columns), name=config.name,
                        design="four_way" if config.design.strategy == "four_way" else "")


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


def expand_lexicon_axes(spec, lexicons: Mapping[str, Sequence[LexiconEntry]]) -> None:
    """Configs with ``axes_from_lexicon``: each is replaced (in ``spec.configs``, in place) by one config per
    axis its lexicon's entries have, in lexicon order, so a new upstream release with another axis needs no
    spec edit."""
    if not any(getattr(c, "axes_from_lexicon", False) for c in spec.configs):
        return
    expanded = []
    for config in spec.configs:
        if not config.axes_from_lexicon:
            expanded.append(config)
            continue
        if config.lexicon not in lexicons:
            raise ValueError(f"config {config.name!r}: lexicon {config.lexicon!r} is not loaded")
        axes = list(dict.fromkeys(e.axis for e in lexicons[config.lexicon]))
        if not axes:
            raise ValueError(f"config {config.name!r}: lexicon {config.lexicon!r} has no entries to take axes from")
        expanded += [config.for_axis(axis) for axis in axes]
    names = [c.name for c in expanded]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"configs from the lexicon's axes clash with listed configs: {', '.join(twice)}")
    spec.configs[:] = expanded


def resolve_lexicon_groups(spec, lexicons: Mapping[str, Sequence[LexiconEntry]]) -> None:
    """Configs with ``groups_from_lexicon``: their groups become every group of their lexicon on their
    axis, in lexicon order (set on the spec's config objects, which the gate, stats and card then read)."""
    for config in spec.configs:
        if not getattr(config, "groups_from_lexicon", False) or config.design.strategy == "four_way":
            continue  # a four-way config's groups come from its planned pairs
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
    expand_lexicon_axes(spec, lexicons)
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
        if config.design.strategy == "four_way":
            from transforms.four_way_plan import plan_four_way

            shards = plan_four_way(config, chosen, ctx, seed=spec.seed, rows_per_shard=spec.release.rows_per_shard)
        else:
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


def filler_where_drops(spec, templates: Sequence[Template], ctx: LexiconContext) -> list[dict]:
    """The template × group blocks a ``filler_where`` left without any entry (so without rows), as
    drops ``{stage: "plan", reason: "filler_where", id: "<config>/<template>/<group>"}``."""
    out = []
    for c in spec.configs:
        layout = layout_of(c)
        for t in templates_for(c, templates):
            where = filler_where(t)
            if not where:
                continue
            for g in c.groups:
                if not ctx.entries(layout.lexicon, layout.axis, g.source_group, where):
                    out.append({"stage": "plan", "reason": "filler_where", "id": f"{c.name}/{t.template_id}/{g.name}"})
    return out


def plan_shards(spec, templates: list[Template], lexicons: dict[str, list[LexiconEntry]]):
    """The shard tasks (a pure function of spec, templates and lexicons: same on every run), and the
    LexiconContext they were planned with, which the shard workers render with."""
    entries = {name: list(rows) for name, rows in lexicons.items()}
    ctx = LexiconContext(entries, spec.article_overrides)
    return plan_release(spec, templates, entries, ctx), ctx
