"""The decisions benchmark (configs/decisions.yaml): discrim-eval's design on scenarios written for
biasbench. Built once per test session through the CLI from shipped files only (no ../shared); every
(question, age, gender, race) cell appears exactly once per fill type."""

import itertools
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schemas.spec import ConfigSpec, GroupSpec
from pipelines.spec import load_spec
from schemas.errors import SpecError
from schemas.records import LexiconEntry
from transforms.lexicons.demographics import (AGES, GENDERS, RACES, build_name_pools, cell_entries, cell_key,
                                              draw_names, missing_cells, pool_sizes, read_pools)
from transforms.plan import resolve_lexicon_groups

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SPEC = CONFIGS / "decisions.yaml"
SCENARIOS = CONFIGS / "data" / "decisions" / "scenarios.jsonl"
POOLS = CONFIGS / "data" / "lexicons" / "demographic_name_pools.jsonl"
IMPLICIT_RACES = tuple(r for r in RACES if r != "native-american")  # no name source signals it


pytestmark = pytest.mark.xdist_group("decisions")  # with the decisions card test, on the worker that builds it


@pytest.fixture(scope="module")
def release(shipped_release) -> Path:
    built = shipped_release("decisions")
    assert built.parts[-2:] == ("decisions", "0.1.0")
    return built


def rows(release: Path, config: str) -> list[dict]:
    files = sorted((release / "data" / config).glob("*.parquet"))
    assert files
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def scenarios() -> list[dict]:
    return [json.loads(line) for line in SCENARIOS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_scenarios_are_many_varied_and_ask_for_the_favourable_outcome():
    found = scenarios()
    assert len(found) >= 24
    assert len({s["source_record_id"] for s in found}) == len(found)
    domains = {s["metadata"]["domain"] for s in found}
    assert {"lending", "hiring", "housing", "medical", "education", "insurance", "legal", "travel",
            "benefits"} <= domains
    for s in found:
        assert s["task"] == "decision" and s["answer"] == "yes" and s["options"] == ["yes", "no"]
        assert s["source_dataset"] == "biasbench-decisions"
        q = s["fields"]["question"]
        assert q.startswith("{a:person} ") and q.endswith("?")
        assert 3 <= len(re.findall(r"[.?!](?:\s|$)", q)) <= 5, s["source_record_id"]
        assert q.rsplit(". ", 1)[-1].startswith("Should ") and q.count("?") == 1, s["source_record_id"]


@pytest.mark.slow
def test_every_cell_exactly_once_per_question_and_fill_type(release):
    templates = {t["template_id"] for t in pq.read_table(release / "templates.parquet").to_pylist()}
    assert len(templates) == len(scenarios())
    for config, races in (("decision_explicit", RACES), ("decision_implicit", IMPLICIT_RACES)):
        got = [(r["template_id"], int(r["age"]), r["gender"], r["race"]) for r in rows(release, config)]
        expected = set(itertools.product(templates, AGES, GENDERS, races))
        assert len(got) == len(set(got)) == len(expected), config
        assert set(got) == expected, config
    assert len(rows(release, "decision_explicit")) == len(templates) * 135
    assert len(rows(release, "decision_implicit")) == len(templates) * 108


@pytest.mark.slow
def test_rows_carry_cell_metadata_and_read_naturally(release):
    for config in ("decision_explicit", "decision_implicit"):
        for r in rows(release, config):
            assert r["group"] == cell_key(r["age"], r["gender"], r["race"])
            assert r["fill_type"] == config.split("_")[1] and r["axis"] == "age_gender_race"
            assert r["answer"] == "yes" and r["options"] == ["yes", "no"]
            q = r["question"]
            assert q.startswith(("A ", "An ")) and r["filler"] in q.split(".")[0]
            assert not re.search(r"(?i)\bthey\s+(?:was|is|has|does)\b", q)
            assert not re.search(r"[{}\[\]<>]", q)
            if r["gender"] == "non-binary":  # singular they takes plural verbs: never "they earns"
                assert not re.search(r"\b[Tt]hey [a-z]+s\b", q), q
            if config == "decision_explicit":
                assert f"{r['age']}-year-old " in r["filler"] and r.get("name") is None
            else:
                assert r["filler"] == f"{r['age']}-year-old named {r['name']}"
    explicit = {r["group"]: r["filler"] for r in rows(release, "decision_explicit")}
    assert explicit["age60.female.black"] == "60-year-old Black woman"
    assert explicit["age80.non-binary.native-american"] == "80-year-old Native American non-binary person"
    an = next(r["question"] for r in rows(release, "decision_explicit") if r["group"] == "age80.male.asian")
    assert an.startswith("An 80-year-old Asian man ")


@pytest.mark.slow
def test_release_passes_the_gate_and_loads_with_datasets(release):
    import datasets

    validation = json.loads((release / "validation.json").read_text())
    assert validation["passed"] is True
    grammar = next(c for c in validation["checks"] if c["name"] == "grammar")
    assert grammar["observed"] == 0 and grammar["details"]["rows_checked"] == 8_748
    stats = json.loads((release / "stats.json").read_text())
    assert sum(stats["lint"]["counts"].values()) == 0
    manifest = json.loads((release / "manifest.json").read_text())
    assert len(manifest["configs"]["decision_explicit"]["groups"]) == 135
    assert len(manifest["configs"]["decision_implicit"]["groups"]) == 108
    for config in ("decision_explicit", "decision_implicit"):
        ds = datasets.load_dataset(str(release), config, split="test")
        assert ds.num_rows == manifest["configs"][config]["rows"]
        assert {"age", "gender", "race", "domain"} <= set(ds.column_names)


def test_cells_lexicons_explicit_full_implicit_only_where_names_exist():
    explicit = cell_entries("x", fill="explicit")
    assert [e.group for e in explicit] == [cell_key(a, g, r) for a in AGES for g in GENDERS for r in RACES]
    assert {e.pronoun_set for e in explicit if e.features["gender"] == "non-binary"} == {"they"}
    pools = read_pools(str(POOLS))
    implicit = cell_entries("y", fill="implicit", pools=pools, seed=3, top_n=30)
    assert missing_cells(implicit) == [cell_key(a, g, "native-american") for a in AGES for g in GENDERS]
    assert implicit == cell_entries("y", fill="implicit", pools=pools, seed=3, top_n=30)  # deterministic
    by_pair: dict = {}
    for e in implicit:
        by_pair.setdefault((e.features["gender"], e.features["race"]), []).append(e.features["name"])
        assert e.features["name"] in {p.value for p in pools[f"{e.features['gender']}.{e.features['race']}"]}
    sizes = pool_sizes(p for ps in pools.values() for p in ps)
    for (g, r), names in by_pair.items():  # distinct across ages while the pool allows
        assert len(set(names)) == min(len(AGES), sizes[f"{g}.{r}"], 30)
    assert draw_names(["A", "B"], 3, 0, ("k",)) == draw_names(["A", "B"], 3, 0, ("k",))


def test_shipped_pools_rebuild_from_raw_data(calm_dir, tmp_path):
    out = tmp_path / "pools.jsonl"
    build_name_pools(str(calm_dir / "names"), str(out), min_count=50, min_gender_share=0.8,
                     nonbinary_band=(0.3, 0.7), years=(2020, 2021))
    assert out.read_bytes() == POOLS.read_bytes()


def test_groups_from_lexicon_is_exclusive_with_groups_and_resolves_in_lexicon_order():
    with pytest.raises(ValueError, match="not both"):
        ConfigSpec("c", "decision", "age_gender_race", "lex", groups=[GroupSpec("a")], groups_from_lexicon=True)
    with pytest.raises(ValueError, match="has no groups"):
        ConfigSpec("c", "decision", "age_gender_race", "lex")
    spec = load_spec(str(SPEC))
    lexicons = {"cells_explicit": [LexiconEntry("cells_explicit", "age_gender_race", g, g) for g in ("b", "a", "b")],
                "cells_implicit": [LexiconEntry("cells_implicit", "other_axis", "z", "z")]}
    with pytest.raises(ValueError, match="no entries on axis"):
        resolve_lexicon_groups(spec, lexicons)
    lexicons["cells_implicit"].append(LexiconEntry("cells_implicit", "age_gender_race", "c", "c"))
    resolve_lexicon_groups(spec, lexicons)
    assert [[g.name for g in c.groups] for c in spec.configs] == [["b", "a"], ["c"]]


def test_groups_listed_and_from_lexicon_is_a_spec_error(tmp_path):
    text = SPEC.read_text().replace("groups_from_lexicon: true", "groups_from_lexicon: true\n    groups: [{name: x}]", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(SpecError, match="not both"):
        load_spec(str(bad), data_dir=str(CONFIGS))
