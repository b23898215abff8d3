"""`biasbench extract` end to end on a small corpus written here; the curator's answer applied by `build`."""

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.cli import main

CORPUS = [
    {"id": "1", "premise": "A woman attends to her laundry in a laundromat.", "hypothesis": "A woman is doing laundry.",
     "label": "0"},
    {"id": "2", "premise": "Two dogs are playing together.", "hypothesis": "Two mutts chase each other.", "label": "0"},
    {"id": "3", "premise": "Barack Obama gave a speech in a hall.", "hypothesis": "Barack Obama spoke.", "label": "0"},
    {"id": "4", "premise": "A man sits by himself at a cafe.", "hypothesis": "The man is alone.", "label": "0"},
    {"id": "5", "premise": "An old man is sleeping on a bench.", "hypothesis": "A man is tired.", "label": "1"},
    {"id": "6", "premise": "A woman attends to her laundry in a laundromat.", "hypothesis": "A woman is doing laundry.",
     "label": "0"},
    {"id": "7", "premise": "Mary waters her garden while she sings.", "hypothesis": "Mary is gardening.", "label": "0"},
]


@pytest.fixture
def spec_dir(tmp_path):
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CORPUS))
    (tmp_path / "celebs.csv").write_text("RANK,NAME,GENDER\n1,Barack Obama,Male\n")
    names = Path(__file__).resolve().parent.parent / "configs" / "data" / "lexicons" / "first_names.jsonl"
    shutil.copy(names, tmp_path / "names.jsonl")
    spec = {
        "benchmark": "xt", "seed": 7,
        "sources": [{"name": "caps", "format": "jsonl", "path": "corpus.jsonl", "id_field": "id", "license": "MIT"}],
        "extract": [{"source": "caps", "task": "nli", "fields": {"premise": "premise", "hypothesis": "hypothesis"},
                     "answer": "label", "settings": {"answer_map": {"0": "entailment", "1": "neutral"}},
                     "filters": [{"rule": "words", "min": 6}, {"rule": "person_in", "fields": ["premise", "hypothesis"]},
                                 {"rule": "no_celebrities", "path": "celebs.csv"}, {"rule": "quota", "max": 5}]}],
        "filters": {"min_chars": 10},
        "lexicons": [{"name": "names", "path": "names.jsonl"}],
        "configs": [{"name": "nli_gender", "task": "nli", "axis": "gender", "lexicon": "names",
                     "groups": [{"name": "male"}, {"name": "female"}], "design": {"strategy": "sample", "per_group": 2}}],
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp_path


def test_extract_writes_candidates_review_and_counted_rejections(spec_dir, capsys):
    out = spec_dir / "out"
    assert main(["extract", str(spec_dir / "spec.yaml"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    table = pq.read_table(out / "candidates.parquet").to_pylist()
    by_record = {t["source_record_id"]: t for t in table}
    assert set(by_record) == {"1", "4", "7"}
    assert dict(by_record["4"]["fields"]) == {"premise": "{person} sits by {person.refl} at a cafe.",
                                              "hypothesis": "{person} is alone."}
    report = json.loads((out / "report.json").read_text())
    assert report["candidates"] == 3 and report["per_source"]["caps"]["kept"] == 3
    caps = report["per_source"]["caps"]
    assert caps["read"] == 7 == (caps["quarantined"] + caps["prefiltered"] + sum(caps["rejected"].values())
                                 + sum(caps["filters"].values()) + caps["duplicates"] + caps["render"] + caps["kept"])
    assert caps["filters"] == {"no_celebrities": 1} and caps["duplicates"] == 1
    stages = {r["stage"]: r for r in report["rejections"]}
    assert set(stages) == {"prefilter", "extract", "filter:no_celebrities", "dedup"}
    assert stages["filter:no_celebrities"] == {"source": "caps", "stage": "filter:no_celebrities",
                                               "reason": "a famous person …", "count": 1}
    review = (out / "review.md").read_text()
    assert review.count("\n## t-") == 3
    assert "Alex sits by themselves at a cafe." in review and "Ava sits by herself at a cafe." in review
    assert "Alex waters their garden while they sing." in review
    assert "near duplicates it beat: t-" in review  # record 6 repeats record 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing half-written left


@pytest.mark.slow
def test_build_applies_the_curators_decisions_and_the_card_counts_them(spec_dir, capsys):
    out = spec_dir / "out"
    assert main(["extract", str(spec_dir / "spec.yaml"), "--out", str(out)]) == 0
    ids = {t["source_record_id"]: t["template_id"] for t in pq.read_table(out / "candidates.parquet").to_pylist()}
    spec = yaml.safe_load((spec_dir / "spec.yaml").read_text())
    spec["curation"] = {"accept": [ids["1"]], "reject": [ids["4"]],
                        "edits": {ids["7"]: {"hypothesis": "{person} is in {person.poss} garden."}}}
    (spec_dir / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    capsys.readouterr()
    assert main(["build", str(spec_dir / "spec.yaml"), "--out", str(spec_dir / "releases")]) == 0
    release = Path(capsys.readouterr().out.strip())
    templates = pq.read_table(release / "templates.parquet").to_pylist()
    assert {t["source_record_id"] for t in templates} == {"1", "7"}
    edited = next(t for t in templates if t["source_record_id"] == "7")
    assert dict(edited["fields"])["hypothesis"] == "{person} is in {person.poss} garden."
    assert any(p == f"curation: edited from {ids['7']}" for p in edited["provenance"])
    card = (release / "README.md").read_text()
    assert "## Curation" in card and "1 accepted, 1 rejected, 1 edited" in card


@pytest.mark.slow
def test_extract_applies_the_spec_filters_as_the_build_does(spec_dir, capsys):
    """``filters.min_chars`` and ``filters.max_referents`` drop in ``extract`` what they drop in ``build``, counted
    per source under ``filters``: the candidates shown are the templates a build keeps."""
    spec = yaml.safe_load((spec_dir / "spec.yaml").read_text())
    corpus = [*CORPUS, {"id": "8", "premise": "Mary waited for John at the station all morning.",
                        "hypothesis": "Mary met John.", "label": "0"}]
    (spec_dir / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    spec["extract"][0]["filters"] = [f for f in spec["extract"][0]["filters"] if f["rule"] != "quota"]
    spec["filters"] = {"min_chars": 60, "max_referents": 1}
    (spec_dir / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    out = spec_dir / "out"
    assert main(["extract", str(spec_dir / "spec.yaml"), "--out", str(out)]) == 0
    shown = {t["source_record_id"]: t["template_id"] for t in pq.read_table(out / "candidates.parquet").to_pylist()}
    caps = json.loads((out / "report.json").read_text())["per_source"]["caps"]
    assert caps["filters"] == {"max_referents": 1, "min_chars": 1, "no_celebrities": 1}, caps
    assert caps["read"] == (caps["quarantined"] + caps["prefiltered"] + sum(caps["rejected"].values())
                            + sum(caps["filters"].values()) + caps["duplicates"] + caps["render"] + caps["kept"])
    capsys.readouterr()
    assert main(["build", str(spec_dir / "spec.yaml"), "--out", str(spec_dir / "releases")]) == 0
    release = Path(capsys.readouterr().out.strip())
    built = {t["source_record_id"]: t["template_id"] for t in pq.read_table(release / "templates.parquet").to_pylist()}
    assert built == shown and set(shown) == {"1", "7"}
    counts = json.loads((release / "rejected.json").read_text())["counts"]
    assert {k: n for k, n in counts.items() if k in ("filter/min_chars", "filter/max_referents")} == \
        {"filter/min_chars": caps["filters"]["min_chars"], "filter/max_referents": caps["filters"]["max_referents"]}
