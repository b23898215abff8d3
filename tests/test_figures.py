"""The figures the field reports (validation.figures), their thresholds in the gate, stats.png and `stats`."""

import json
import random
from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from release_fixture import build_release, make_spec
from validation.figures import (distinct_n, length_figures, length_figures_from_sums, length_parity,
                                pairwise_similarity, self_bleu, semantic_available, uniform_distance)
from validation.stats import compute_stats
from validation.expectations import Fact, judge_facts
from validation.gate import failed_summary, run_gate
from validation.release_lint import lint_release

TEXTS = ["The nurse said she would be late.", "The nurse said he would be late.", "A doctor came in early today.",
         "It rained all day and the match was called off.", "a b", "a b", "c"]


def test_self_bleu_equals_sacrebleu_sentence_bleu_against_all_others():
    from sacrebleu.metrics import BLEU

    bleu = BLEU(effective_order=True)
    expected = sum(bleu.sentence_score(h, TEXTS[:i] + TEXTS[i + 1:]).score for i, h in enumerate(TEXTS)) / len(TEXTS)
    assert self_bleu(TEXTS) == round(expected, 4)
    assert self_bleu(["same words here"] * 3) == 100.0 and self_bleu(["alone"]) == 0.0


def test_self_bleu_clips_repeated_and_tied_ngrams_as_sacrebleu_does():
    # n-grams repeated within a text and held equally often by two texts: the clip is the most any *other*
    # text holds; texts from a few words, so the same n-grams recur across them
    from sacrebleu.metrics import BLEU

    rng = random.Random(7)
    texts = [" ".join(rng.choice("the a cat dog sat ran , .".split()) for _ in range(rng.randint(0, 14)))
             for _ in range(60)]
    texts += ["the cat the cat the cat", "the cat the cat the cat", ""]
    bleu = BLEU(effective_order=True)
    expected = sum(bleu.sentence_score(h, texts[:i] + texts[i + 1:]).score for i, h in enumerate(texts)) / len(texts)
    assert self_bleu(texts) == round(expected, 4)


def test_distinct_n_vocabulary_and_lengths():
    d = distinct_n(pa.array(["the cat sat", "the cat ran", ""]))
    assert d == {"distinct_1": round(4 / 6, 4), "distinct_2": 0.75, "distinct_3": 1.0, "vocabulary": 4}
    assert length_figures([10, 10, 10]) == {"mean": 10.0, "sd": 0.0, "cv": 0.0}
    assert length_figures_from_sums(2, 6, 20) == length_figures([2, 4])  # count, sum, sum of squares


def test_uniform_distance_and_length_parity():
    assert uniform_distance({"a": 5, "b": 5, "c": 5}) == 0.0
    assert uniform_distance({"a": 10, "b": 0}) == 0.5
    assert length_parity({"a": 10.0, "b": 8.0}) == 0.8 and length_parity({"a": 3.0}) == 1.0


def test_lexical_similarity_is_named_and_bounded():
    same = pairwise_similarity(["red apple pie", "red apple pie"], "tfidf-cosine")
    apart = pairwise_similarity(["red apple pie", "blue ocean waves"], "tfidf-cosine")
    assert same["mean"] == 1.0 and apart["mean"] == 0.0 and same["method"] == "tfidf-cosine"
    assert sum(same["histogram"]) == 1 and same["histogram"][-1] == 1


def test_minilm_similarity_ranks_paraphrases_above_unrelated_text(minilm):
    close = pairwise_similarity(["The doctor is on the way.", "The physician is coming."], "minilm")
    far = pairwise_similarity(["The doctor is on the way.", "Stock prices fell sharply."], "minilm")
    assert close["method"] == "minilm" and close["mean"] > far["mean"]


def test_both_judges_agree_on_facts():
    facts = [Fact("a/ok", 3, low=1), Fact("a/low", 0, low=1), Fact("b/high", 0.95, high=0.9),
             Fact("b/band", 0.5, low=0.1, high=0.9), Fact("c/unbounded", -7)]
    plain = judge_facts(facts, "plain")
    assert plain == {"a/ok": True, "a/low": False, "b/high": False, "b/band": True, "c/unbounded": True}
    assert judge_facts(facts) == plain  # Great Expectations


@pytest.fixture(scope="module")
def fixture_release(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("figures") / "rel")


def test_stats_carry_every_figure_and_name_the_similarity_method(fixture_release):
    spec, root = fixture_release
    s = compute_stats(root, spec, None)
    qa = s["configs"]["qa_gender"]
    f = qa["figures"]
    assert f["templates"] == 2 and f["sources"] == 1 and f["source_shares"] == {"demo": 1.0}
    assert f["template_length"]["mean"] > 0 and 0 <= f["template_similarity"]["mean"] <= 1
    assert f["group_uniform_distance"] == 0.0 and 0 < f["length_parity"] <= 1
    assert set(f["row_length_by_group"]) == {"female", "male", "non-binary"}
    assert 0 <= f["self_bleu"] <= 100 and f["pairwise_sample"] == 12
    assert {"distinct_1", "distinct_2", "distinct_3", "vocabulary"} <= set(qa["diversity"])
    assert s["similarity_method"] == "tfidf-cosine"  # the spec's default, whatever is installed
    assert s["task_shares"] == {"qa": 0.6, "sentiment": 0.4}
    assert qa["integrity"] == {"nulls": {}, "duplicate_example_ids": 0, "rows_outside_declared_groups": 0,
                               "rows_with_unknown_fill_type": 0}


def test_the_spec_names_the_similarity_method_and_minilm_falls_back_named(fixture_release):
    spec, root = fixture_release
    asks_minilm = replace(spec, validation=replace(spec.validation, similarity_method="minilm"))
    s = compute_stats(root, asks_minilm, None)
    used = "minilm" if semantic_available() else "tfidf-cosine"
    assert s["similarity_method"] == used
    assert s["configs"]["qa_gender"]["figures"]["template_similarity"]["method"] == used


def test_a_broken_figure_threshold_fails_naming_figure_and_threshold(fixture_release):
    _, root = fixture_release
    spec = make_spec(max_self_bleu=1.0, min_templates=1, min_length_parity=0.5)
    lint = lint_release(root)
    report = run_gate(root, spec, lint, compute_stats(root, spec, lint))
    failed = {(c["config"], c["name"]) for c in report["checks"] if not c["passed"]}
    assert failed == {("qa_gender", "max_self_bleu"), ("sentiment_race", "max_self_bleu")}
    check = next(c for c in report["checks"] if c["name"] == "max_self_bleu")
    message = failed_summary(report)
    assert f"qa_gender/max_self_bleu ({check['observed']}, expected <= 1.0)" in message
    assert check["details"]["figure"] == "figures.self_bleu"


def test_release_has_a_deterministic_stats_png_that_the_card_shows(default_release):
    png = (default_release / "stats.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"Software" not in png
    card = (default_release / "README.md").read_text()
    assert "![" in card and "(stats.png)" in card and "self-BLEU" in card
    stats = json.loads((default_release / "stats.json").read_text())
    from pipelines.plots import write_png

    assert write_png([(stats["benchmark"], stats)], str(default_release.parent / "again.png")) is not None
    assert (default_release.parent / "again.png").read_bytes() == png


@pytest.fixture
def published(tmp_path):
    """A benchmark published as files, not a biasbench release: JSON Lines and Parquet."""
    folder = tmp_path / "published"
    folder.mkdir()
    rows = [{"sentence": f"{name} liked the {thing} a lot.", "gender": g, "source_dataset": "toy"}
            for name, g in (("Anna", "female"), ("Omar", "male")) for thing in ("film", "book", "song")]
    (folder / "sentiment_dataset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pq.write_table(pa.Table.from_pylist([{"premise": r["sentence"], "gender": r["gender"]} for r in rows]),
                   folder / "nli_dataset.parquet")
    return folder


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_stats_reads_a_published_benchmark_and_compares_it_with_a_release(published, default_release, tmp_path,
                                                                          capsys):
    args = ["--text-field", "sentence,premise", "--group-field", "gender", "--config-pattern", "(.+)_dataset"]
    code, out, _ = run(["stats", str(published), *args, "--json"], capsys)
    stats = json.loads(out)
    assert code == 0 and set(stats["configs"]) == {"nli", "sentiment"}
    toy = stats["configs"]["sentiment"]
    assert toy["rows"] == 6 and toy["groups"] == {"female": 3, "male": 3} and toy["figures"]["templates"] is None
    assert toy["figures"]["source_shares"] == {"toy": 1.0} and toy["diversity"]["vocabulary"] == 9
    plot = tmp_path / "cmp.png"
    code, out, err = run(["stats", str(default_release), "--compare", str(published), *args, "--plot", str(plot)],
                         capsys)
    assert code == 0 and "only in" in out and "self-BLEU" in out and str(plot) in err
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_stats_of_files_without_the_named_text_field_is_one_line_exit_2(published, capsys):
    code, _, err = run(["stats", str(published), "--text-field", "context"], capsys)
    assert code == 2 and "none of the text fields context" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["stats", str(published)], capsys)
    assert code == 2 and "--text-field" in err


def test_stride_texts_takes_what_stride_takes_of_the_python_list():
    import pyarrow as pa

    from validation.figures import stride, stride_texts

    for n in (0, 1, 199, 200, 201, 1_000, 12_345):
        texts = pa.array([f"row {i}" if i % 9 else None for i in range(n)], pa.string())
        assert stride_texts(texts, 200) == stride(texts.to_pylist(), 200)
