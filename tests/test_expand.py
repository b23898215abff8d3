"""Expansion: planning, block rendering, sampling designs, deterministic shard files."""

import random

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.spec import DesignSpec, GroupSpec
from schemas.ids import file_sha256
from schemas.records import LexiconEntry, Template
from transforms.plan import ConfigLayout, ShardTask, cut_shards, plan_config
from transforms.lexicon_context import LexiconContext
from transforms.expand import render_block
from transforms.shards import ExpandAndWriteShards, read_summaries, write_plan, write_shard

GENDERS = [("male", "he"), ("female", "she"), ("non-binary", "they")]


def lexicon(per_group=6):
    return [LexiconEntry("names", "gender", g, f"{g[0].upper()}name{i}", pronoun_set=p, features={"rank": str(i)})
            for g, p in GENDERS for i in range(per_group)]


def templates(n=3):
    return [Template.create(task="qa", source_dataset="demo", source_record_id=str(i), ordinal=i,
                            fields={"context": f"{{person}} met {{person2}}. {{person.subj}} {{person:was}} glad ({i}).",
                                    "question": "Who met {person2}?"},
                            answer="{person}", options=("{person}", "{person2}"))
            for i in range(n)]


def layout(**kw):
    return ConfigLayout("qa", "gender", "names", name="qa_gender", **kw)


def groups(count=None, sample=True):
    return [GroupSpec(g, count=count, sample=sample) for g, _ in GENDERS]


def test_plan_orders_by_template_then_group_and_cuts_contiguous_shards():
    ctx = LexiconContext({"names": lexicon()})
    shards = plan_config(layout(), groups(), DesignSpec("sample", per_group=4), templates(), ctx,
                         seed=1, rows_per_shard=20)
    blocks = [b for s in shards for b in s]
    assert [(b.template.ordinal, b.group) for b in blocks][:4] == [(0, "male"), (0, "female"), (0, "non-binary"), (1, "male")]
    assert [sum(b.rows for b in s) for s in shards] == [20, 16]
    assert cut_shards([], 10) == [[]]


def test_render_block_distinct_people_agreement_and_gold():
    ctx = LexiconContext({"names": lexicon()})
    t = templates(1)[0]
    (shard,) = plan_config(layout(), groups(), DesignSpec("sample", per_group=3), [t], ctx, seed=7, rows_per_shard=99)
    rows = [render_block(b, layout(), ctx, strategy="sample", seed=7).to_pylist() for b in shard]
    female, nonbinary = rows[1], rows[2]
    for r in female + nonbinary:
        person, person2 = r["context"].split(" met ")[0], r["context"].split(" met ")[1].split(".")[0]
        assert person != person2 and r["answer"] == person == r["filler"] and r["options"] == [person, person2]
    assert all("She was glad" in r["context"] for r in female)
    assert all("They were glad" in r["context"] for r in nonbinary)
    ids = [r["example_id"] for rs in rows for r in rs]
    assert len(set(ids)) == len(ids) and all(i.startswith(t.template_id) for i in ids)
    assert [r["counterfactual_set_id"] for r in female] == [f"{t.template_id}-{k:05d}" for k in range(3)]


def test_sample_design_is_order_and_shard_independent():
    ctx = LexiconContext({"names": lexicon(20)})
    ts = templates(5)

    def fillers(ts_order, rows_per_shard):
        out = {}
        for shard in plan_config(layout(), groups(), DesignSpec("sample", per_group=5), ts_order, ctx, seed=3,
                                 rows_per_shard=rows_per_shard):
            for b in shard:
                out[(b.template.template_id, b.group)] = render_block(b, layout(), ctx, strategy="sample", seed=3
                                                                      ).column("filler").to_pylist()
        return out

    assert fillers(ts, 1000) == fillers(list(reversed(ts)), 7)


def test_sequential_design_reproduces_cpython_random_sample():
    ctx = LexiconContext({"names": lexicon(10)})
    ts = templates(3)
    gs = [GroupSpec("male", count=4), GroupSpec("female", count=4), GroupSpec("non-binary", count=4, sample=False)]
    (shard,) = plan_config(layout(), gs, DesignSpec("sequential", seed=10), ts, ctx, seed=0, rows_per_shard=999)
    got = [render_block(b, layout(), ctx).column("filler").to_pylist() for b in shard]
    males = [e.value for e in lexicon(10) if e.group == "male"]
    females = [e.value for e in lexicon(10) if e.group == "female"]
    random.seed(10)
    expected = []
    for _ in ts:
        expected += [random.sample(males, 4), random.sample(females, 4), [f"Nname{i}" for i in range(4)]]
    assert got == expected


def test_empty_group_and_too_few_fillers_are_errors():
    ctx = LexiconContext({"names": lexicon(2)})
    with pytest.raises(ValueError, match="lexicon 'names' has no entries for axis 'gender', group 'other'"):
        plan_config(layout(), [GroupSpec("other")], DesignSpec(), templates(1), ctx, seed=0, rows_per_shard=9)
    with pytest.raises(ValueError, match="needs 5 fillers per template but lexicon 'names' has 2"):
        plan_config(layout(), groups(5), DesignSpec("sample"), templates(1), ctx, seed=0, rows_per_shard=9)


def _tasks(strategy="sample"):
    ctx = LexiconContext({"names": lexicon()})
    shards = plan_config(layout(metadata_columns=("rank",)), groups(), DesignSpec(strategy, per_group=4),
                         templates(4), ctx, seed=5, rows_per_shard=25)
    return ctx, [ShardTask(layout(metadata_columns=("rank",)), blocks, i, len(shards), "test", strategy, 5, 10)
                 for i, blocks in enumerate(shards)]


def test_shard_files_are_byte_identical_across_runs(tmp_path):
    ctx, tasks = _tasks()
    digests = []
    for run in ("a", "b"):
        for task in tasks:
            write_shard(task, str(tmp_path / run), ctx)
        digests.append([file_sha256(str(tmp_path / run / t.relative_path)) for t in tasks])
    assert digests[0] == digests[1]
    table = pq.read_table(str(tmp_path / "a" / tasks[0].relative_path))
    assert table.column_names[-1] == "rank" and table.num_rows == tasks[0].rows
    assert not list((tmp_path / "a").rglob(".*.tmp"))


def test_expand_and_write_on_test_pipeline(tmp_path):
    ctx, tasks = _tasks()
    paths = write_plan(str(tmp_path), tasks, ctx)  # the workers read their tasks and context from files
    with TestPipeline(runner=FnApiRunner()) as p:
        summaries = (p | beam.Create(paths) | ExpandAndWriteShards(str(tmp_path), lint=False)
                     | beam.Map(lambda s: (s["path"], s["rows"])))
        assert_that(summaries, equal_to([(t.relative_path, t.rows) for t in tasks]))
    # each shard left its summary, the completion marker the driver reads back
    assert [(s["path"], s["rows"]) for s in read_summaries(str(tmp_path), len(tasks))] == \
        [(t.relative_path, t.rows) for t in tasks]
    direct = tmp_path / "direct"
    for task in tasks:
        write_shard(task, str(direct), ctx)
    for task in tasks:  # the pipeline wrote exactly what the plain function writes
        assert file_sha256(str(tmp_path / task.relative_path)) == file_sha256(str(direct / task.relative_path))


def test_a_one_shard_config_has_its_rows_digest_from_the_writer(tmp_path):
    from pipelines.build import written_digests
    from schemas.release import canonical_rows_digest

    ctx = LexiconContext({"names": lexicon()})
    lay = layout(metadata_columns=("rank",))
    (blocks,) = plan_config(lay, groups(), DesignSpec("sample", per_group=4), templates(4), ctx, seed=5,
                            rows_per_shard=1000)
    one = ShardTask(lay, blocks, 0, 1, "test", "sample", 5, 10)
    summary = write_shard(one, str(tmp_path), ctx)
    assert summary["rows_sha256"] == canonical_rows_digest([str(tmp_path / one.relative_path)])
    _, several = _tasks()  # a config of several shards: its digest is read back from all its files
    summaries = [write_shard(task, str(tmp_path / "several"), ctx) for task in several]
    assert len(several) > 1 and not any("rows_sha256" in s for s in summaries)
    assert written_digests([summary, *summaries]) == {"qa_gender": summary["rows_sha256"]}


def test_rows_digest_of_written_batches_is_the_read_back_one(tmp_path):
    """However the writer's batches are cut, the digest is the one of reading the file back, where Arrow cuts
    READ_BATCH_ROWS-row batches across row groups (what ``RowsDigest.add`` assumes: checked here)."""
    import pyarrow as pa

    from schemas.release import READ_BATCH_ROWS, RowsDigest, canonical_rows_digest
    from transforms.write import ParquetShardWriter

    schema = pa.schema([("t", pa.string()), ("o", pa.list_(pa.string())), ("n", pa.int64())])
    rows = 2 * READ_BATCH_ROWS + 1234
    table = pa.table({"t": [None if i % 7 == 0 else "w" * (i % 5) for i in range(rows)],
                      "o": [None if i % 11 == 0 else ["x"] * (i % 3) for i in range(rows)],
                      "n": list(range(rows))}, schema=schema)
    path = str(tmp_path / "rows.parquet")
    digest = RowsDigest(schema)
    with ParquetShardWriter(path, schema, row_group_size=50_000) as w:
        for batch in table.to_batches(max_chunksize=9_999):
            w.write(batch)
            digest.add(batch)
    assert [b.num_rows for b in pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH_ROWS)] == \
        [READ_BATCH_ROWS, READ_BATCH_ROWS, 1234]
    assert digest.hexdigest() == canonical_rows_digest([path])
    # the value itself, as the code before the kernels ran over all of a batch's chunks at once computed it:
    # manifests of earlier releases hold digests of this definition
    assert digest.hexdigest() == "9979368a2610df38662b0b44391eeddd0a52a373805ee1c65e016402c6d7726e"
