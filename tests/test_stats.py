"""Diversity and balance report of a release directory."""

import json

import pyarrow as pa
import pytest

from release_fixture import build_release
from schemas.lint import LintResult
from schemas.tally import RowTally, merged, tally_files
from validation.figures import stride
from validation.stats import compute_stats, diversity, write_stats


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("stats") / "rel")


def test_counts_balance_and_sources(release):
    spec, root = release
    s = compute_stats(root, spec, LintResult(counts={"agreement": 2}))
    qa = s["configs"]["qa_gender"]
    assert qa["rows"] == 12 and qa["groups"] == {"female": 4, "male": 4, "non-binary": 4}
    assert qa["balance"]["balanced"] and qa["balance"]["templates"] == 2 and qa["balance"]["max_spread"] == 0
    assert qa["fill_types"] == {"explicit": 12}
    assert qa["templates_per_source"] == {"demo": 2}
    assert qa["text_field"] == "context" and 0 < qa["diversity"]["distinct_2"] <= 1
    assert s["total_rows"] == 20 and s["missing_configs"] == []
    assert s["templates"]["per_source"]["reviews"] == {"licenses": ["mit"], "templates": 2}
    assert s["lint"]["counts"]["agreement"] == 2 and s["lint"]["total"] == 2
    assert list(s) == sorted(s)  # keys sorted


def test_unbalanced_is_reported(tmp_path):
    spec, root = build_release(tmp_path / "rel", unbalanced=True)
    b = compute_stats(root, spec, None)["configs"]["qa_gender"]["balance"]
    assert not b["balanced"] and b["unbalanced_templates"] == 1 and b["max_spread"] == 1
    assert b["unbalanced_examples"][0]["spread"] == 1


def test_deterministic_files_and_self_contained_html(release, tmp_path):
    spec, root = release
    write_stats(root, compute_stats(root, spec, {"qa_gender": LintResult().to_dict()}))
    first = open(f"{root}/stats.json", "rb").read(), open(f"{root}/stats.html", "rb").read()
    write_stats(root, compute_stats(root, spec, {"qa_gender": LintResult().to_dict()}))
    assert (open(f"{root}/stats.json", "rb").read(), open(f"{root}/stats.html", "rb").read()) == first
    stats = json.loads(first[0])
    assert stats["lint"]["per_config"]["qa_gender"]["total"] == 0
    page = first[1].decode()
    assert "<svg" in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_diversity_metrics():
    d = diversity(pa.array(["the cat sat", "the cat ran"]))
    assert d["distinct_1"] == round(4 / 6, 4) and d["distinct_2"] == 0.75
    assert d["type_token_ratio"] == 1.0 and d["sample_rows"] == 2 and d["compression_ratio"] > 0
    assert diversity(pa.array([], pa.string()))["distinct_2"] == 0.0


def test_sample_is_a_deterministic_stride():
    col = pa.array([str(i) for i in range(10)])
    tally = RowTally("text", ["text"], sample_step=4)
    tally.add(pa.table({"text": col}))
    assert tally.sample_texts().to_pylist() == ["0", "4", "8"] == stride(col.to_pylist(), 3)


def test_shard_tallies_merge_to_the_tally_of_the_whole(release):
    spec, root = release
    import pyarrow.parquet as pq
    path = f"{root}/data/qa_gender/test-00000-of-00001.parquet"
    table = pq.read_table(path)
    whole = tally_files([path], "context", ["example_id", "context"], sample_step=5)
    parts = [RowTally("context", ["example_id", "context"], 5, first_row=start) for start in (0, 7)]
    parts[0].add(table.slice(0, 7))
    parts[1].add(table.slice(7))
    joined = merged(parts)
    assert joined.sample_texts().to_pylist() == table["context"].to_pylist()[::5]
    assert joined.sample_texts().to_pylist() == whole.sample_texts().to_pylist()
    assert (joined.rows, joined.groups, joined.cells, joined.words) == (whole.rows, whole.groups, whole.cells,
                                                                       whole.words)
    assert joined.duplicate_ids() == 0
    assert [list(h) for h in joined.length_histogram.values()] == [list(h) for h in whole.length_histogram.values()]


def test_word_counts_of_plain_ascii_texts_are_those_of_the_utf8_kernels():
    """The ASCII kernels count trimmed ASCII texts as the UTF-8 ones do; a text holding a non-ASCII byte or an
    information separator (which only the UTF-8 kernels split at) sends the batch the UTF-8 way."""
    import random

    import pyarrow as pa
    import pyarrow.compute as pc

    from schemas.lint import split_whitespace
    from schemas.tally import _plain_ascii, word_counts

    def utf8_counts(arr):
        return pc.list_value_length(split_whitespace(pc.utf8_trim_whitespace(arr)))

    rng = random.Random(7)
    alphabet = "ab.,' \t\n\x0b\x0c\r"
    for _ in range(300):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(rng.randint(1, 30))]
        arr = pa.array(texts + [None])
        assert _plain_ascii(arr)
        assert word_counts(arr).equals(utf8_counts(arr))
        assert word_counts(arr.slice(1)).equals(utf8_counts(arr.slice(1)))
    for odd in ("a\x1cb c", "caf\u00e9 au\u00a0lait", "x\u2009y z"):
        arr = pa.array(["one two", odd])
        assert not _plain_ascii(arr)
        assert word_counts(arr).to_pylist() == utf8_counts(arr).to_pylist()
    assert word_counts(pa.array(["a\x1cb c"])).to_pylist() == [3]  # the separator splits, as in UTF-8
    assert word_counts(pa.chunked_array([["a b"], ["c  d e "]])).to_pylist() == [2, 3]
