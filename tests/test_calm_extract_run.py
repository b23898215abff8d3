"""configs/calm-extract.yaml over CALM's real corpora: licences as the source profiles state them, and
``biasbench extract`` over a small stable-hash sample of every source (each yields candidates, every
record is accounted for in report.json, every candidate renders cleanly for he, she and they)."""

import fnmatch
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.sources import profile_names, source_from_profile
from pipelines.spec import load_spec

SPEC = Path(__file__).resolve().parent.parent / "configs" / "calm-extract.yaml"

# the record sample per source: about a few dozen records each, a few hundred in all, each rate chosen
# (from the full run's yields in README "calm-extract") so that its stable-hash sample holds a candidate
RATES = {
    "snli": 0.004, "wnli": 0.3, "rte": 0.08, "sodapop": 0.015, "relation_extraction": 0.004, "tweetqa": 0.03,
    "babi": 0.005, "babi_task13": 0.005, "winograd": 0.1, "gap": 0.02, "mcscript": 0.02, "duorc": 0.02,
    "drop": 0.004, "mctest": 0.05, "qamr": 0.002,
}


def test_every_source_licence_is_its_profiles():
    spec = load_spec(str(SPEC))
    profiles = [source_from_profile(name) for name in profile_names()]
    for src in spec.sources:
        [profile] = [p for p in profiles if fnmatch.fnmatch(src.path, p.path) or src.path == p.path]
        assert src.license == profile.license, (src.name, src.license, profile.license)


@pytest.fixture
def sampled_spec(calm_dir, tmp_path):
    raw = yaml.safe_load(SPEC.read_text())
    assert {ex["source"] for ex in raw["extract"]} == set(RATES)
    for ex in raw["extract"]:
        rest = [f for f in ex.get("filters", []) if f["rule"] != "sample"]
        ex["filters"] = [{"rule": "sample", "rate": RATES[ex["source"]]}, *rest]
    raw["filters"]["dedup"] = "exact"  # MiniLM's load is no part of what this checks
    path = tmp_path / "calm-extract-sample.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_spec(str(path), data_dir=str(calm_dir))


@pytest.mark.slow
def test_extract_over_a_sample_of_every_calm_source(sampled_spec, tmp_path):
    from pipelines.extract_check import render_findings
    from pipelines.extract_run import run_extract
    from schemas.records import Template
    from transforms.extract import load_nlp

    out = tmp_path / "out"
    result = run_extract(sampled_spec, str(out))
    report = json.loads((out / "report.json").read_text())
    per_source = report["per_source"]
    assert set(per_source) == set(RATES)
    read = 0
    for name, c in per_source.items():
        assert c["kept"] >= 1, (name, c)
        assert c["read"] == (c["quarantined"] + c["prefiltered"] + sum(c["rejected"].values())
                             + sum(c["filters"].values()) + c["duplicates"] + c["render"] + c["kept"]), (name, c)
        assert c["filters"]["sample"] > 0  # counted before extraction, as records
        read += c["read"] - c["filters"]["sample"]
    assert 100 <= read <= 1000  # records that reached extraction: a few hundred
    table = pq.read_table(out / "candidates.parquet").to_pylist()
    assert len(table) == report["candidates"] == result.candidates == sum(c["kept"] for c in per_source.values())
    templates = [Template.from_dict({**t, "fields": dict(t["fields"]), "metadata": dict(t["metadata"])}) for t in table]
    assert render_findings(templates, load_nlp()) == {}  # zero grammar-check and lint findings, he/she/they
