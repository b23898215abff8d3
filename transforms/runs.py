"""Rendering runs of blocks: the blocks of one template in one shard, as one record batch.

A block (template × group) is the unit of planning and sampling; rendering
block by block costs a few dozen Arrow kernel calls per block, which dominates
when blocks are small (HolisticBias: 2,295 blocks of ~250 rows). ``render_runs``
renders consecutive blocks of the same template together: each block still
chooses its own fillers (``block_selection``) and keeps its own group, row
order and counterfactual numbering; only the Arrow work is shared. The rows
are exactly those of ``render_block`` on each block, concatenated — a test
checks that — and a run is capped at ``max_rows`` so memory stays bounded by
the run, not the shard.

>>> from schemas.records import LexiconEntry, Template
>>> from transforms.plan import Block, ConfigLayout
>>> from transforms.lexicon_context import LexiconContext
>>> t = Template.create(task="sentiment", fields={"sentence": "{person} won."}, answer="positive")
>>> lex = [LexiconEntry("n", "gender", "female", "Ana", "she"), LexiconEntry("n", "gender", "male", "Ben", "he")]
>>> blocks = [Block("c", t, "female", 0, [0]), Block("c", t, "male", 1, [0])]
>>> [b.column("sentence").to_pylist() for _, b, _ in render_runs(blocks, ConfigLayout("sentiment", "gender", "n"),
...                                                                  LexiconContext({"n": lex}))]
[['Ana won.', 'Ben won.']]
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.slots import parse_slots
from transforms.plan import Block, ConfigLayout, block_selection
from transforms.lexicon_context import LexiconContext, filler_where
from transforms.expand import _set_suffixes, bind_referents, content_columns
from transforms.render import LexiconColumns, render_column

#: At most this many rows are rendered in one batch (a single larger block is still one batch).
MAX_RUN_ROWS = 65_536


class _Union:
    """Several groups' LexiconColumns side by side; position = group offset + position in the group.

    A union is cached per (config axis, groups, ``filler_where``) and shared by every template whose
    runs cover those groups, so what it concatenates (and, for full runs, the group and
    counterfactual-suffix columns) is built once, not once per template.
    """

    def __init__(self, parts: Sequence[LexiconColumns]):
        self.parts = list(parts)
        self.sizes = [len(p.entries) for p in self.parts]
        self.offsets = np.cumsum([0] + self.sizes)[:-1]
        self.entries = [e for p in self.parts for e in p.entries]
        self._cache: dict = {}

    def _concat(self, key, get) -> pa.Array:
        col = self._cache.get(key)
        if col is None:
            if len(self.parts) == 1:
                col = get(self.parts[0])
            else:
                col = pa.concat_arrays([get(p) for p in self.parts]) if self.parts else pa.array([], pa.string())
            self._cache[key] = col
        return col

    @property
    def values(self) -> pa.Array:
        return self._concat("values", lambda p: p.values)

    @property
    def entry_ids(self) -> pa.Array:
        return self._concat("entry_ids", lambda p: p.entry_ids)

    def column(self, slot) -> pa.Array:
        return self._concat(("slot", slot.key), lambda p: p.column(slot))

    def feature_column(self, name: str) -> pa.Array:
        return self._concat(("feature", name), lambda p: p.feature_column(name))

    def full_run_columns(self, groups: tuple[str, ...]) -> tuple[pa.Array, pa.Array]:
        """For a run that takes every entry of every part in order: its ``group`` column and the
        ``-00000``… suffixes of its counterfactual set ids (the k-th row of each block)."""
        key = ("full", groups)
        out = self._cache.get(key)
        if out is None:
            names = pa.array(groups, pa.string())
            which = np.repeat(np.arange(len(groups)), self.sizes)
            local = np.concatenate([np.arange(k) for k in self.sizes]) if self.sizes else np.zeros(0, np.int64)
            out = (names.take(pa.array(which)), _set_suffixes(max(self.sizes, default=0)).take(pa.array(local)))
            self._cache[key] = out
        return out


def _union(ctx: LexiconContext, lexicon: str, axis: str, groups: tuple[str, ...], where: str) -> _Union:
    cache = ctx.run_unions
    key = (lexicon, axis, groups, where)
    u = cache.get(key)
    if u is None:
        u = _Union([ctx.group(lexicon, axis, g, where) for g in groups])
        cache[key] = u
    return u


def _runs(blocks: Sequence[Block], max_rows: int) -> Iterator[list[Block]]:
    run: list[Block] = []
    rows = 0
    for block in blocks:
        if run and (block.template.template_id != run[0].template.template_id or rows + block.rows > max_rows
                    or block.lexicon_group in {b.lexicon_group for b in run}):
            yield run
            run, rows = [], 0
        run.append(block)
        rows += block.rows
    if run:
        yield run


def render_run(run: Sequence[Block], layout: ConfigLayout, ctx: LexiconContext, *, strategy: str = "all",
               seed: int = 0) -> tuple[pa.RecordBatch, list[int]]:
    """Blocks of one template as one batch (== their ``render_block`` batches concatenated), rows per block.

    When every block takes all of its group's entries in order (design ``all``), the first person's
    rows are the union's entries as they stand: their columns are used without a ``take``.
    """
    template = run[0].template
    where = filler_where(template)
    union = _union(ctx, layout.lexicon, layout.axis, tuple(b.lexicon_group for b in run), where)
    referents = template.referents
    primary_refs = [r for r in referents if layout.lexicon_of(r) == layout.lexicon]
    sels = []
    full = True  # every block's selection is 0 … size-1 of its part
    for i, block in enumerate(run):
        size = union.sizes[i]
        sel = np.asarray(block_selection(block, strategy, seed, size), dtype=np.int64)
        if full and (len(sel) != size or (size and not (sel[0] == 0 and (np.diff(sel) == 1).all()))):
            full = False
        sels.append(sel)
    counts = [len(sel) for sel in sels]
    n = sum(counts)
    # per block, who fills each referent (positions within the block's group), then shifted into the union
    bound = [bind_referents(template, layout, ctx, union, sel, block.group) for block, sel in zip(run, sels)]
    indices: dict[str, pa.Array | None] = {}
    for ref in referents:
        if ref == primary_refs[0] and full:
            indices[ref] = None  # the union's own order
            continue
        shift = ref in primary_refs
        parts = [b[ref][1] + (union.offsets[i] if shift else 0) for i, b in enumerate(bound)]
        indices[ref] = pa.array(np.concatenate(parts) if parts else np.zeros(0, np.int64))
    columns = {r: bound[0][r][0] for r in referents}
    primary_idx = indices[primary_refs[0]]

    def pick(col: pa.Array) -> pa.Array:  # the first person's value per row
        return col if primary_idx is None else col.take(primary_idx)

    def const(value: str) -> pa.Array:
        return pa.repeat(pa.scalar(value, pa.string()), n)

    def render(text: str, field_name: str) -> pa.Array:
        parsed = parse_slots(text, template_id=template.template_id, field=field_name)
        return render_column(parsed, indices, columns, n)

    tid = pa.scalar(template.template_id, pa.string())
    ids = [tid, "-", pick(union.entry_ids)]
    for ref in referents:
        if ref != primary_refs[0]:
            ids += ["-", columns[ref].entry_ids.take(indices[ref])]
    if full:
        groups, suffixes = union.full_run_columns(tuple(b.group for b in run))
    else:
        local = pa.array(np.concatenate([np.arange(k) for k in counts]) if counts else np.zeros(0, np.int64))
        which = pa.array(np.repeat(np.arange(len(run)), counts))
        groups = pa.array([b.group for b in run], pa.string()).take(which)
        suffixes = _set_suffixes(max(counts, default=0)).take(local)
    out: dict[str, pa.Array] = {
        "example_id": pc.binary_join_element_wise(*ids, ""),
        "template_id": const(template.template_id),
        "counterfactual_set_id": pc.binary_join_element_wise(tid, suffixes, "-"),
        "task": const(template.task),
        "source_dataset": const(template.source_dataset),
        "axis": const(layout.axis),
        "group": groups,
        "filler": pick(union.values),
        "fill_type": const(layout.fill_type),
    }
    out.update(content_columns(template, layout, render, const, pick, union, n))
    schema = layout.schema
    return pa.RecordBatch.from_arrays([out[f.name] for f in schema], schema=schema), counts


def render_runs(blocks: Sequence[Block], layout: ConfigLayout, ctx: LexiconContext, *, strategy: str = "all",
                seed: int = 0, max_rows: int = MAX_RUN_ROWS) -> Iterator[tuple[list[Block], pa.RecordBatch, list[int]]]:
    """``(run, batch, rows per block)`` for consecutive runs of same-template blocks, in block order."""
    for run in _runs(blocks, max_rows):
        batch, counts = render_run(run, layout, ctx, strategy=strategy, seed=seed)
        yield run, batch, counts
