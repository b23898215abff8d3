"""Expansion: templates × lexicons → BenchmarkRow record batches, one block at a time.

The planner (``plan_config``) turns a config's templates and lexicon into an
ordered list of :class:`Block` s — one per template × group — and cuts that
list into shards of contiguous blocks. ``render_block`` turns one block into an
Arrow record batch with vectorised rendering (``transforms.render``), so a
block of 10,000 rows costs a few Arrow kernel calls, not 10,000 Python loops.

>>> from schemas.records import LexiconEntry, Template
>>> t = Template.create(task="sentiment", fields={"sentence": "{person} loved {person.poss} job."}, answer="positive")
>>> lex = [LexiconEntry("names", "gender", "female", "Ana", pronoun_set="she")]
>>> ctx = LexiconContext({"names": lex})
>>> b = Block(config="sentiment_gender", template=t, group="female", group_index=0, selection=[0])
>>> render_block(b, ConfigLayout("sentiment", "gender", "names"), ctx).column("sentence").to_pylist()
['Ana loved her job.']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.records import TASK_FIELDS, LexiconEntry, Template, row_schema
from schemas.slots import SlotError, parse_slots
from transforms.designs import select_block, select_sequential
from transforms.designs import select_stratified
from transforms.render import LexiconColumns, render_column


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

    @property
    def schema(self) -> pa.Schema:
        return row_schema(self.task, self.metadata_columns)

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


class LexiconContext:
    """Lexicon entries grouped for expansion, with Arrow renderings cached per group.

    Entries of a (lexicon, axis, group) keep their lexicon file order: that order
    is what ``take N, never sampled`` and sequential sampling index into.
    """

    def __init__(self, lexicons: Mapping[str, Sequence[LexiconEntry]], article_overrides=None):
        self.lexicons = {name: list(entries) for name, entries in lexicons.items()}
        self.article_overrides = dict(article_overrides or {})
        # caches, filled on first use; planning fills the entry look-ups, rendering the Arrow columns, and
        # the shard workers receive both with the context (so the planner's work is not repeated there)
        self._groups: dict[tuple, LexiconColumns] = {}  # (lexicon, axis, group, where) -> rendered columns
        self._entries: dict[tuple, list[LexiconEntry]] = {}  # (lexicon, axis, group, where) -> entries
        self._by_key: dict[str, dict[tuple, list[LexiconEntry]]] = {}  # lexicon -> _index
        self._feature_names: dict[str, frozenset[str]] = {}  # lexicon -> feature names of its entries
        self.run_unions: dict[tuple, object] = {}  # (lexicon, axis, groups, where) -> transforms.runs._Union

    def group(self, lexicon: str, axis: str | None, group: str | None, where: str = "") -> LexiconColumns:
        key = (lexicon, axis, group, where)
        cols = self._groups.get(key)
        if cols is None:  # may be empty under a ``filler_where``: the block is then skipped
            cols = LexiconColumns(self.entries(lexicon, axis, group, where), self.article_overrides)
            self._groups[key] = cols
        return cols

    def entries(self, lexicon: str, axis: str | None, group: str | None, where: str = "") -> list[LexiconEntry]:
        """The group's entries in lexicon order; with ``where`` (a template's ``filler_where``), those matching it.

        Planning needs only these (how many fillers a block has); the Arrow columns of a group
        (``group``) are built when a block of it is rendered.
        """
        cache = self._entries
        key = (lexicon, axis, group, where)
        out = cache.get(key)
        if out is None:
            if where:
                conditions = parse_filler_where(where)
                out = [e for e in self.entries(lexicon, axis, group) if entry_matches(e, conditions)]
            else:
                if lexicon not in self.lexicons:
                    raise KeyError(f"lexicon {lexicon!r} is not loaded")
                out = self._index(lexicon).get((axis, group), [])
                if not out:
                    what = f"axis {axis!r}, group {group!r}" if group is not None else "any group"
                    raise ValueError(f"lexicon {lexicon!r} has no entries for {what}")
            cache[key] = out
        return out

    def _index(self, lexicon: str) -> dict[tuple, list[LexiconEntry]]:
        """Entries of a lexicon by (axis, group), (axis, None), (None, group), (None, None); file order kept.

        Built in one pass per lexicon, so looking up G groups costs O(entries), not O(G x entries).
        """
        cache = self._by_key
        index = cache.get(lexicon)
        if index is None:
            index = {}
            for e in self.lexicons[lexicon]:
                for key in ((e.axis, e.group), (e.axis, None), (None, e.group), (None, None)):
                    index.setdefault(key, []).append(e)
            cache[lexicon] = index
        return index

    def feature_names(self, lexicon: str) -> set[str]:
        cache = self._feature_names  # once per lexicon, not once per template
        if lexicon not in cache:
            cache[lexicon] = frozenset(k for e in self.lexicons.get(lexicon, ()) for k in e.features)
        return set(cache[lexicon])


#: Template metadata restricting which entries of a group may fill the template, e.g.
#: ``noun!=(none)`` or ``noun_phrase_type=descriptor_noun|noun; preference!=dispreferred``:
#: conditions separated by ";", each ``feature=v1|v2`` (one of) or ``feature!=v1|v2`` (none of),
#: on an entry's features or its own fields (pronoun_set, preference, country …).
FILLER_WHERE = "filler_where"


def filler_where(template: Template) -> str:
    return template.metadata.get(FILLER_WHERE, "") if template.metadata else ""


@lru_cache(maxsize=1024)
def parse_filler_where(where: str) -> tuple[tuple[str, bool, frozenset], ...]:
    out = []
    for cond in filter(None, (c.strip() for c in where.split(";"))):
        negate = "!=" in cond
        name, _, values = cond.partition("!=" if negate else "=")
        if not name.strip() or not _:
            raise ValueError(f"{FILLER_WHERE} {where!r}: condition {cond!r} is not feature=v1|v2 or feature!=v1|v2")
        out.append((name.strip(), negate, frozenset(v.strip() for v in values.split("|"))))
    return tuple(out)


def entry_matches(entry: LexiconEntry, conditions) -> bool:
    for name, negate, values in conditions:
        value = entry.features.get(name) if name in entry.features else getattr(entry, name, "")
        if (str(value) in values) == negate:
            return False
    return True


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


@lru_cache(maxsize=64)
def _set_suffixes(n: int) -> pa.Array:
    """"00000" … for the k-th row of a block: rows with the same k across groups form a set."""
    return pa.array([f"{k:05d}" for k in range(n)], pa.string())


def _list_column(option_columns: list[pa.Array], n: int) -> pa.Array:
    """Per-row lists [opt0[i], opt1[i], …] from one column per option."""
    m = len(option_columns)
    if m == 0:
        return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))
    values = pa.concat_arrays([c if isinstance(c, pa.Array) else c.combine_chunks() for c in option_columns])
    order = (np.arange(m)[None, :] * n + np.arange(n)[:, None]).ravel()
    offsets = pa.array(np.arange(0, n * m + 1, m, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, values.take(pa.array(order)))


def bind_referents(template: Template, layout: ConfigLayout, ctx: LexiconContext, primary: LexiconColumns,
                   selection: np.ndarray, group: str = "") -> dict[str, tuple[LexiconColumns, np.ndarray]]:
    """Which entry fills each referent in each row of a block: ``{ref: (columns, entry per row)}``.

    The first person takes the block's selection; the k-th further person from the
    same lexicon takes the selection rotated by k, so people in one row stay
    distinct; a referent bound to another lexicon cycles through that lexicon.
    The one rule every renderer and the boundary lint share.
    """
    n = len(selection)
    out: dict[str, tuple[LexiconColumns, np.ndarray]] = {}
    rank = 0
    for ref in template.referents:
        lexicon = layout.lexicon_of(ref)
        if lexicon == layout.lexicon:
            if rank and n > 0 and len(np.unique(selection)) < 2:
                raise ValueError(f"template {template.template_id}: {len(template.referents)} people need at "
                                 f"least 2 fillers in group {group!r}")
            out[ref] = (primary, selection if rank == 0 else np.roll(selection, -rank))
            rank += 1
        else:
            other = ctx.group(lexicon, None, None)
            out[ref] = (other, np.arange(n, dtype=np.int64) % max(len(other.entries), 1))
    return out


def content_columns(template: Template, layout: ConfigLayout, render, const, pick, primary: LexiconColumns,
                    n: int) -> dict[str, pa.Array]:
    """The task's text fields, answer, options and metadata columns of ``n`` rows.

    ``render(text, field)`` renders a field, ``const(value)`` repeats a value, ``pick(column)``
    gives the first person's value per row from a column over ``primary``'s entries.
    """
    out = {name: render(template.fields[name], name) for name in TASK_FIELDS[template.task]}
    out["answer"] = render(template.answer, "answer")
    out["options"] = _list_column([render(o, f"options[{i}]") for i, o in enumerate(template.options)], n)
    for name in layout.metadata_columns:
        if name in template.metadata:
            out[name] = const(template.metadata[name])
        else:
            out[name] = pick(primary.feature_column(name))
    return out


def render_block(block: Block, layout: ConfigLayout, ctx: LexiconContext, *, strategy: str = "all",
                 seed: int = 0) -> pa.RecordBatch:
    """The rows of one block as a record batch in ``layout.schema`` column order."""
    template = block.template
    primary = ctx.group(layout.lexicon, layout.axis, block.lexicon_group, filler_where(template))
    selection = np.asarray(block_selection(block, strategy, seed, len(primary.entries)), dtype=np.int64)
    n = len(selection)
    referents = template.referents
    bound = bind_referents(template, layout, ctx, primary, selection, block.group)
    columns = {ref: cols for ref, (cols, _) in bound.items()}
    indices = {ref: pa.array(rows) for ref, (_, rows) in bound.items()}
    first_ref = next(r for r in referents if layout.lexicon_of(r) == layout.lexicon)
    primary_idx = indices[first_ref]

    def const(value: str) -> pa.Array:
        return pa.repeat(pa.scalar(value, pa.string()), n)

    def render(text: str, field_name: str) -> pa.Array:
        parsed = parse_slots(text, template_id=template.template_id, field=field_name)
        return render_column(parsed, indices, columns, n)

    ids = [const(template.template_id), const("-"), primary.entry_ids.take(primary_idx)]
    for ref in referents:
        if ref != first_ref:
            ids += [const("-"), columns[ref].entry_ids.take(indices[ref])]
    out: dict[str, pa.Array] = {
        "example_id": pc.binary_join_element_wise(*ids, ""),
        "template_id": const(template.template_id),
        "counterfactual_set_id": pc.binary_join_element_wise(
            const(template.template_id), _set_suffixes(n), "-"),
        "task": const(template.task),
        "source_dataset": const(template.source_dataset),
        "axis": const(layout.axis),
        "group": const(block.group),
        "filler": primary.values.take(primary_idx),
        "fill_type": const(layout.fill_type),
    }
    out.update(content_columns(template, layout, render, const, lambda col: col.take(primary_idx), primary, n))
    schema = layout.schema
    return pa.RecordBatch.from_arrays([out[f.name] for f in schema], schema=schema)


def expand_blocks(blocks: Iterable[Block], layout: ConfigLayout, ctx: LexiconContext, *, strategy: str,
                  seed: int) -> Iterable[pa.RecordBatch]:
    for block in blocks:
        yield render_block(block, layout, ctx, strategy=strategy, seed=seed)
