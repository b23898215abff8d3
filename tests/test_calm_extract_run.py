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

# the record sample per source: a few dozen records each (WNLI's 71 all), each rate chosen from the full
# run's yields (README, "Extraction over every CALM source") for about six candidates a source
RATES = {
    "snli": 0.003, "wnli": 1.0, "rte": 0.15, "sodapop": 0.008, "relation_extraction": 0.004, "tweetqa": 0.02,
    "babi": 0.003, "babi_task13": 0.003, "winograd": 0.14, "gap": 0.04, "mcscript": 0.02, "duorc": 0.08,
    "drop": 0.012, "mctest": 0.07, "qamr": 0.0015,
}


def test_every_source_licence_is_its_profiles():
    spec = load_spec(str(SPEC))
    profiles = [source_from_profile(name) for name in profile_names()]
    for src in spec.sources:
        [profile] = [p for p in profiles if fnmatch.fnmatch(src.path, p.path) or src.path == p.path]
        assert src.license == profile.license, (src.name, src.license, profile.license)


def sampled_spec_file(calm_dir, tmp_path, curation=None) -> Path:
    raw = yaml.safe_load(SPEC.read_text())
    assert {ex["source"] for ex in raw["extract"]} == set(RATES)
    for ex in raw["extract"]:
        rest = [f for f in ex.get("filters", []) if f["rule"] != "sample"]
        ex["filters"] = [{"rule": "sample", "rate": RATES[ex["source"]]}, *rest]
    raw["filters"]["dedup"] = "exact"  # MiniLM's load is no part of what this checks
    if curation:
        raw["curation"] = curation
    path = tmp_path / ("calm-extract-curated.yaml" if curation else "calm-extract-sample.yaml")
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.slow
def test_extract_then_build_a_sample_of_every_calm_source(calm_dir, tmp_path):
    import datasets

    from pipelines.cli import main
    from pipelines.extract_check import render_findings
    from pipelines.extract_run import run_extract
    from schemas.records import Template
    from transforms.extract import load_nlp

    out = tmp_path / "out"
    result = run_extract(load_spec(str(sampled_spec_file(calm_dir, tmp_path)), data_dir=str(calm_dir)), str(out))
    report = json.loads((out / "report.json").read_text())
    per_source = report["per_source"]
    assert set(per_source) == set(RATES)
    parsed = 0
    for name, c in per_source.items():
        assert c["kept"] >= 1, (name, c)
        assert c["read"] == (c["quarantined"] + c["prefiltered"] + sum(c["rejected"].values())
                             + sum(c["filters"].values()) + c["duplicates"] + c["render"] + c["kept"]), (name, c)
        assert RATES[name] == 1 or c["filters"]["sample"] > 0  # counted before extraction, as records
        parsed += c["read"] - c["filters"].get("sample", 0) - c["quarantined"]
    assert 100 <= parsed <= 1000  # records extraction read: several hundred
    table = pq.read_table(out / "candidates.parquet").to_pylist()
    assert len(table) == report["candidates"] == result.candidates == sum(c["kept"] for c in per_source.values())
    templates = [Template.from_dict({**t, "fields": dict(t["fields"]), "metadata": dict(t["metadata"])})
                 for t in table]
    assert render_findings(templates, load_nlp()) == {}  # zero grammar-check and lint findings, he/she/they

    # the curator accepts every candidate shown; the build extracts again, curates, and passes the gate
    ids = sorted(t.template_id for t in templates)
    curated = sampled_spec_file(calm_dir, tmp_path, {"accept": ids, "only_accepted": True})
    assert main(["build", str(curated), "--data-dir", str(calm_dir), "--out", str(tmp_path / "rel")]) == 0
    release = tmp_path / "rel" / "calm-extract" / "0.1.0"
    built = pq.read_table(release / "templates.parquet").column("template_id").to_pylist()
    assert sorted(built) == ids
    for config in ("qa_gender", "nli_gender", "statement_gender"):
        ds = datasets.load_dataset(str(release), config, split="test")
        assert ds.num_rows > 0 and set(ds.unique("template_id")) <= set(ids)
    checks = json.loads((release / "validation.json").read_text())["checks"]
    assert all(c["passed"] for c in checks)
