"""Expansion designs: seeded stratified sampling stable under any sharding/order, full factorial, runs."""

import pyarrow as pa
from hypothesis import given, settings, strategies as st

from schemas.records import LexiconEntry, Template
from schemas.spec import DesignSpec, GroupSpec
from transforms.plan import ConfigLayout, plan_config, select_block
from transforms.lexicon_context import LexiconContext
from transforms.expand import render_block
from transforms.runs import render_runs

GROUPS = ("female", "male")


def _setup(n_names=12, n_templates=5):
    lex = [LexiconEntry("n", "gender", g, f"{g[0].upper()}name{i}", "she" if g == "female" else "he",
                        features={"band": str(i % 3)}) for g in GROUPS for i in range(n_names)]
    templates = [Template.create(task="sentiment", fields={"sentence": f"{{person}} liked item {k}; {{person.subj}} "
                                                                       f"{{person:was}} glad."},
                                 answer="positive", ordinal=k) for k in range(n_templates)]
    return lex, templates


def _rows(strategy, per_group, rows_per_shard, reverse=False, seed=7):
    lex, templates = _setup()
    ctx = LexiconContext({"n": lex})
    layout = ConfigLayout("sentiment", "gender", "n", name="s_gender", metadata_columns=("band",))
    groups = [GroupSpec(name=g) for g in GROUPS]
    shards = plan_config(layout, groups, DesignSpec(strategy=strategy, per_group=per_group), templates, ctx,
                         seed=seed, rows_per_shard=rows_per_shard)
    order = list(reversed(shards)) if reverse else shards
    per_shard = {id(s): [render_block(b, layout, ctx, strategy=strategy, seed=seed) for b in s] for s in order}
    return pa.Table.from_batches([b for s in shards for b in per_shard[id(s)]])


def test_sample_is_stable_under_sharding_and_order():
    a = _rows("sample", 4, rows_per_shard=1)
    b = _rows("sample", 4, rows_per_shard=10_000, reverse=True)
    assert a.equals(b) and a.num_rows == 5 * 2 * 4


def test_sample_depends_on_seed_and_is_per_group_stratified():
    a, b = _rows("sample", 4, 8, seed=1), _rows("sample", 4, 8, seed=2)
    assert a.column("filler").to_pylist() != b.column("filler").to_pylist()
    counts = a.group_by(["template_id", "group"]).aggregate([([], "count_all")])
    assert set(counts.column("count_all").to_pylist()) == {4}


def test_full_factorial_every_template_every_entry():
    t = _rows("all", None, 50)
    assert t.num_rows == 5 * 2 * 12
    pairs = set(zip(t.column("template_id").to_pylist(), t.column("filler").to_pylist()))
    assert len(pairs) == t.num_rows


def test_runs_render_the_same_rows_as_blocks():
    lex, templates = _setup()
    ctx = LexiconContext({"n": lex})
    layout = ConfigLayout("sentiment", "gender", "n", name="s_gender", metadata_columns=("band",))
    groups = [GroupSpec(name=g) for g in GROUPS]
    shards = plan_config(layout, groups, DesignSpec(strategy="sample", per_group=5), templates, ctx,
                         seed=3, rows_per_shard=10_000)
    blocks = shards[0]
    by_block = pa.Table.from_batches([render_block(b, layout, ctx, strategy="sample", seed=3) for b in blocks])
    by_run = pa.Table.from_batches([b for _, b, _ in render_runs(blocks, layout, ctx, strategy="sample", seed=3)])
    assert by_run.equals(by_block)


def test_filler_where_restricts_entries():
    lex, templates = _setup()
    t = Template.create(task="sentiment", fields={"sentence": "{person} won."}, answer="positive",
                        metadata={"filler_where": "band=0|1; pronoun_set!=he"})
    ctx = LexiconContext({"n": lex})
    layout = ConfigLayout("sentiment", "gender", "n", name="x")
    groups = [GroupSpec(name=g) for g in GROUPS]
    shards = plan_config(layout, groups, DesignSpec(strategy="all"), [t], ctx, seed=0,
                         rows_per_shard=100)
    blocks = [b for s in shards for b in s]
    assert [b.group for b in blocks] == ["female"]  # no male entry matches: the block is skipped
    assert blocks[0].rows == 8


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 200), data=st.data(), seed=st.integers(0, 2**32))
def test_select_block_is_a_seeded_function_of_its_key(size, data, seed):
    count = data.draw(st.integers(0, size))
    key = ("cfg", data.draw(st.text(min_size=1, max_size=8)), "g")
    a = select_block(strategy="sample", group_size=size, count=count, seed=seed, key=key)
    select_block(strategy="sample", group_size=size, count=count, seed=seed + 1, key=key)  # other calls between
    b = select_block(strategy="sample", group_size=size, count=count, seed=seed, key=key)
    assert a == b and len(set(a)) == count and all(0 <= i < size for i in a)
