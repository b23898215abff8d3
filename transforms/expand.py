"""Expansion: templates × lexicons → BenchmarkRow record batches, one block at a time.

The planner (``transforms.plan``) turns a config's templates and lexicon into an
ordered list of :class:`~transforms.plan.Block` s — one per template × group — and
cuts that list into shards of contiguous blocks; expansion only renders them. ``render_block`` turns one block into an
Arrow record batch with vectorised rendering (``transforms.render``), so a
block of 10,000 rows costs a few Arrow kernel calls, not 10,000 Python loops.

>>> from schemas.records import LexiconEntry, Template
>>> from transforms.plan import Block, ConfigLayout
>>> t = Template.create(task="sentiment", fields={"sentence": "{person} loved {person.poss} job."}, answer="positive")
>>> lex = [LexiconEntry("names", "gender", "female", "Ana", pronoun_set="she")]
>>> ctx = LexiconContext({"names": lex})
>>> b = Block(config="sentiment_gender", template=t, group="female", group_index=0, selection=[0])
>>> render_block(b, ConfigLayout("sentiment", "gender", "names"), ctx).column("sentence").to_pylist()
['Ana loved her job.']
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.records import TASK_FIELDS, Template
from schemas.slots import parse_slots
from transforms.lexicon_context import LexiconContext, filler_where
from transforms.plan import Block, ConfigLayout, block_selection
from transforms.render import LexiconColumns, render_column


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
