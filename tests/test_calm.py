"""The corrected CALM release: lint-clean, balanced, fixed, reproducible."""

import collections
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.spec import load_spec
from tests.conftest import CALM_DIR, PROJECT, build_in_child, file_digests
from transforms.lexicons.calm_names import common_word_names, source_corpus_files
from schemas.lint import lint_rows

# every test reads the full CALM release built (twice) from the real data; one worker runs them all
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("calm")]

TEXT = {"qa": ("context", "question"), "nli": ("premise", "hypothesis"), "sentiment": ("sentence",)}
CONFIGS = [f"{t}_{a}" for a in ("gender", "race") for t in TEXT]


@pytest.fixture(scope="module")
def builds(shipped_release, tmp_path_factory):
    # twice, in separate processes with different hash seeds: the rebuild must be byte-identical
    # (the session's shared build has PYTHONHASHSEED=1)
    out = [shipped_release("calm"), build_in_child(tmp_path_factory.mktemp("calm-4242"), str(PROJECT / "configs" / "calm.yaml"),
                                                    "--data-dir", str(CALM_DIR), hashseed=4242)]
    assert all(r.parts[-2:] == ("calm", "1.1.1") for r in out)
    return out


def _table(release, config):
    return pa.concat_tables([pq.read_table(f) for f in sorted((release / "data" / config).glob("*.parquet"))])


def test_validation_passed_with_zero_lint_failures(builds):
    report = json.loads((builds[0] / "validation.json").read_text())
    assert report["passed"]
    lint = next(c for c in report["checks"] if c["name"] == "lint_failures")
    assert lint["observed"] == 0
    grammar = next(c for c in report["checks"] if c["name"] == "grammar")  # the parser-based check
    assert grammar["passed"] and grammar["observed"] == 0 and grammar["details"]["rows_checked"] == 78_400


@pytest.mark.parametrize("config", CONFIGS)
def test_rows_relint_clean_and_balanced(builds, config):
    table = _table(builds[0], config)
    task = config.split("_")[0]
    result = lint_rows(table, [*TEXT[task], "answer"])
    assert result.total == 0, result.examples
    assert table.num_rows == {"qa": 93, "nli": 54, "sentiment": 77}[task] * 50 * (3 if "gender" in config else 4)
    per_template = collections.defaultdict(collections.Counter)
    for tid, group in zip(table.column("template_id").to_pylist(), table.column("group").to_pylist()):
        per_template[tid][group] += 1
    assert all(set(c.values()) == {50} for c in per_template.values())
    for column in ("example_id", "template_id", "counterfactual_set_id", "axis", "group", "filler"):
        assert table.column(column).null_count == 0
    assert len(set(table.column("example_id").to_pylist())) == table.num_rows
    text = " ".join(v for col in TEXT[task] for v in table.column(col).to_pylist())
    assert not re.search(r"\bthey (was|is|has|does)\b", text, re.I)
    assert not re.search(r"<[A-Za-z/]+>|\{", text)


def test_gold_answers_are_rendered_per_row(builds):
    table = _table(builds[0], "qa_gender").to_pylist()
    rows = [r for r in table if r["filler"] and r["answer"].startswith(r["filler"])]
    assert rows  # answers that are the person are that row's name
    brother = {r["group"]: r["answer"] for r in table if r["answer"].endswith(" brother.")}
    assert brother == {"male": "His brother.", "female": "Her brother.", "non-binary": "Their brother."}


def test_distinct_people_stay_distinct(builds):
    table = _table(builds[0], "sentiment_race").to_pylist()
    said = [r["sentence"] for r in table if " said that " in r["sentence"] and "too cute" in r["sentence"]]
    assert len(said) == 200 and all(s.split(" said that ")[0] != s.split(" said that ")[1].split()[0] for s in said)


def test_race_groups_balanced_by_gender_where_the_names_allow(builds):
    spec = load_spec(str(PROJECT / "configs" / "calm.yaml"), data_dir=str(CALM_DIR))
    lex = pq.read_table(builds[0] / "lexicons.parquet").to_pylist()
    gender = {e["value"]: dict(e["features"])["gender"] for e in lex if e["axis"] == "race"}
    table = _table(builds[0], "qa_race")
    counts = collections.Counter((g, gender[f]) for g, f in zip(table.column("group").to_pylist(),
                                                                   table.column("filler").to_pylist()))
    assert counts[("asian", "male")] == counts[("asian", "female")]
    assert counts[("white", "male")] >= 20 * 93  # every white male name CALM lists (20 after exclusions)
    assert spec.configs[1].design.stratify == "gender"


def test_common_words_are_left_out_and_listed(builds):
    spec = load_spec(str(PROJECT / "configs" / "calm.yaml"), data_dir=str(CALM_DIR))
    excluded = set(spec.lexicons[0].options["exclude_words"])
    fillers = {e["value"] for e in pq.read_table(builds[0] / "lexicons.parquet").to_pylist()}
    assert not excluded & fillers
    proposed = common_word_names(fillers | excluded, source_corpus_files(str(CALM_DIR)))
    assert set(proposed) <= excluded
    card = (builds[0] / "README.md").read_text()
    assert all(w in card for w in ("An,", "Say,", "Saw,", "How to score", "MIT", "an devastating"))


def test_rebuild_is_byte_identical(builds):
    a, b = (file_digests(r) for r in builds)
    assert {"manifest.json", "README.md", "stats.json", "validation.json"} <= set(a)
    assert a == b


@pytest.mark.slow
def test_figures_in_stats_and_card(builds):
    stats = json.loads((builds[0] / "stats.json").read_text())
    for config in CONFIGS:
        f = stats["configs"][config]["figures"]
        assert f["templates"] > 0 and f["template_length"]["cv"] > 0 and f["group_uniform_distance"] == 0.0
        assert 0 < f["template_similarity"]["mean"] < 1 and f["template_similarity"]["method"] == stats["similarity_method"]
    card = (builds[0] / "README.md").read_text()
    assert "(stats.png)" in card and "template words mean/sd/cv" in card
