"""Extraction in quota order (transforms.quota_order): the same kept candidates as parsing every record.

The corpora are written here: one source with a leading sample, a quota and a filter after it, a record
over max_chars and one without its field; one read by two extract entries, so each record yields two
candidates with the same quota key (ties at the quota's edge); one whose quota never fills.
"""

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.extract_run import run_extract
from pipelines.spec import load_spec
from schemas.records import SourceRecord, Template
from schemas.spec import ExtractSpec
from transforms.candidate_filters import apply_filters, sample_key
from transforms.extract import extract_batch, load_nlp
from transforms.quota_order import (KEY_SPACE, QuotaPlan, extract_in_rounds, next_bound, quota_plans,
                                    unreached_reason)

NAMES = [("Mary", "she"), ("John", "he"), ("Anna", "she"), ("David", "he"), ("Sarah", "she"), ("James", "he"),
         ("Linda", "she"), ("Robert", "he"), ("Emma", "she"), ("Thomas", "he")]
PLACES = ["market", "library", "station", "harbour", "museum", "bakery", "garden"]
ITEMS = ["bread", "a map", "two tickets", "some paint", "a lamp", "fresh fish", "a kite", "blue wool"]


def sentence(i: int, kind: str = "walked") -> str:
    name, pron = NAMES[i % len(NAMES)]
    if i % 5 == 4:
        return f"The {PLACES[i % len(PLACES)]} was closed on day {i} because of the storm."
    return f"{name} {kind} to the {PLACES[i % len(PLACES)]} because {pron} wanted {ITEMS[i % len(ITEMS)]} on day {i}."


def people_corpus() -> list[dict]:
    rows = [{"id": f"p{i}", "text": sentence(i)} for i in range(48)]
    rows.append({"id": "long", "text": "Mary walked to the market. " * 12})  # over the entry's max_chars
    rows.append({"id": "empty"})  # no text field
    return rows


def pairs_corpus() -> list[dict]:
    return [{"id": f"q{i}", "first": sentence(i, "ran"), "second": sentence(i + 3, "drove")} for i in range(30)]


def few_corpus() -> list[dict]:
    return [{"id": f"f{i}", "text": sentence(i, "cycled")} for i in range(8)]


FILTERS = {
    "people": [{"rule": "sample", "rate": 0.8}, {"rule": "words", "max": 30}, {"rule": "quota", "max": 6},
               {"rule": "words", "max": 15}],
    "pairs": [{"rule": "words", "min": 3}, {"rule": "quota", "max": 7}],
    "few": [{"rule": "quota", "max": 100}],
}


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("quota")
    for name, rows in (("people", people_corpus()), ("pairs", pairs_corpus()), ("few", few_corpus())):
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    names = Path(__file__).resolve().parent.parent / "configs" / "data" / "lexicons" / "first_names.jsonl"
    shutil.copy(names, d / "names.jsonl")
    statement = {"task": "statement"}
    spec = {
        "benchmark": "quota-order", "seed": 11,
        "sources": [{"name": n, "format": "jsonl", "path": f"{n}.jsonl", "id_field": "id", "license": "MIT"}
                    for n in ("people", "pairs", "few")],
        "extract": [
            {"source": "people", **statement, "fields": {"text": "text"}, "settings": {"max_chars": 200},
             "filters": FILTERS["people"]},
            {"source": "pairs", **statement, "fields": {"text": "first"}},
            {"source": "pairs", **statement, "fields": {"text": "second"}, "filters": FILTERS["pairs"]},
            {"source": "few", **statement, "fields": {"text": "text"}, "filters": FILTERS["few"]},
        ],
        "filters": {"min_chars": 10},
        "lexicons": [{"name": "names", "path": "names.jsonl"}],
        "configs": [{"name": "statement_gender", "task": "statement", "axis": "gender", "lexicon": "names",
                     "groups": [{"name": "male"}, {"name": "female"}],
                     "design": {"strategy": "sample", "per_group": 2}}],
    }
    (d / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return d / "spec.yaml"


def _records(source: str, rows: list[dict]) -> list[SourceRecord]:
    return [SourceRecord(source, "test", r["id"], {k: v for k, v in r.items() if k != "id"}) for r in rows]


def test_rounds_in_plain_python_keep_what_parsing_every_record_keeps_ties_included():
    nlp = load_nlp()
    records = _records("pairs", pairs_corpus())
    entries = [ExtractSpec(source="pairs", task="statement", fields={"text": f}) for f in ("first", "second")]

    def extract(batch):
        return [o for ex in entries for o in extract_batch(batch, ex, nlp, None, 11)]

    everyone = [o for o in extract(records) if isinstance(o, Template)]
    want, _ = apply_filters(everyone, FILTERS["pairs"], 11)
    plan = quota_plans(FILTERS)["pairs"]
    outputs, unreached, log = extract_in_rounds(records, extract, plan, 11)
    got, _ = apply_filters([o for o in outputs if isinstance(o, Template)], FILTERS["pairs"], 11)
    assert [t.template_id for t in got] == [t.template_id for t in want] and len(want) == 7
    assert unreached and sum(n for n, _ in log) + len(unreached) == len(records)
    # the quota's edge falls between the two candidates of one record: the tie is broken as the quota breaks it
    last_key = max(sample_key(t, 11) for t in want)
    assert sum(sample_key(t, 11) == last_key for t in everyone) == 2
    assert sum(sample_key(t, 11) == last_key for t in want) == 1


def test_a_quota_that_never_fills_reads_every_record():
    nlp = load_nlp()
    records = _records("few", few_corpus())
    entry = ExtractSpec(source="few", task="statement", fields={"text": "text"})
    outputs, unreached, log = extract_in_rounds(records, lambda b: extract_batch(b, entry, nlp, None, 11),
                                                QuotaPlan("few", 100, ()), 11)
    assert unreached == [] and sum(n for n, _ in log) == len(records)
    assert sorted(o.source_record_id for o in outputs) == sorted(r.record_id for r in records)


def test_next_bound_stops_when_filled_and_takes_the_rest_last():
    assert next_bound(0, 0, 10, 100, last=False) == int(KEY_SPACE * 0.11)
    assert next_bound(123, 10, 10, 100, last=False) == 123  # filled: the next range is empty
    assert next_bound(123, 3, 10, 100, last=True) == KEY_SPACE
    assert next_bound(KEY_SPACE // 4, 5, 10, 100, last=False) > KEY_SPACE // 2  # aims past where it would fill
    assert quota_plans({"a": [{"rule": "words", "max": 3}], "b": FILTERS["people"]}) == {
        "b": QuotaPlan("b", 6, tuple(FILTERS["people"][:2]))}


def _counts_add_up(c: dict) -> bool:
    return c["read"] == (c["quarantined"] + c["prefiltered"] + sum(c["rejected"].values())
                         + sum(c["filters"].values()) + c["duplicates"] + c["render"] + c["kept"])


@pytest.fixture(scope="module")
def runs(spec_path, tmp_path_factory):
    spec = load_spec(str(spec_path))
    out = tmp_path_factory.mktemp("runs")
    return {name: (out / name, run_extract(spec, str(out / name), workers=workers, quota_order=ordered))
            for name, workers, ordered in (("every", 1, False), ("ordered", 1, True), ("ordered2", 2, True))}


def test_quota_order_keeps_the_same_candidates_byte_for_byte(runs):
    every, ordered = runs["every"][0], runs["ordered"][0]
    want = pq.read_table(every / "candidates.parquet").to_pylist()
    got = pq.read_table(ordered / "candidates.parquet").to_pylist()
    assert [t["template_id"] for t in got] == [t["template_id"] for t in want]
    assert {t["source_dataset"] for t in want} == {"people", "pairs", "few"}
    assert (ordered / "candidates.parquet").read_bytes() == (every / "candidates.parquet").read_bytes()
    assert (ordered / "review.md").read_bytes() == (every / "review.md").read_bytes()


def test_records_past_the_quota_are_counted_under_it_and_counts_add_up(runs):
    every, ordered = runs["every"][1].per_source, runs["ordered"][1].per_source
    for name in ("people", "few"):  # one extract entry: one record, at most one candidate
        assert _counts_add_up(every[name]) and _counts_add_up(ordered[name]), name
    for c in (every, ordered):
        assert c["people"]["quarantined"] == 1 and c["people"]["rejected"] == {"field … is missing or empty": 1}
    unparsed = {r["source"]: r["count"] for r in runs["ordered"][1].rejections
                if r["stage"] == "filter:quota" and r["reason"].startswith("past the quota")}
    assert set(unparsed) == {"people", "pairs"} and all(n > 0 for n in unparsed.values())
    assert {r["reason"] for r in runs["ordered"][1].rejections if r["source"] == "people"} >= {unreached_reason(6)}
    assert ordered["few"] == every["few"]  # its quota never fills: every record parsed, as before
    # a record never parsed was counted as prefiltered, rejected or a candidate before; now under the quota
    for name in ("people", "pairs"):
        e, o = every[name], ordered[name]
        assert o["read"] == e["read"] and o["kept"] == e["kept"] and o["quarantined"] == e["quarantined"]
        assert o["prefiltered"] <= e["prefiltered"] and sum(o["rejected"].values()) <= sum(e["rejected"].values())
        assert all(o["filters"].get(rule, 0) <= n for rule, n in e["filters"].items() if rule != "quota")
        assert o["filters"]["quota"] >= unparsed[name]


def test_two_workers_write_the_same_bytes(runs):
    one, two = runs["ordered"][0], runs["ordered2"][0]
    for name in ("candidates.parquet", "review.md", "report.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


@pytest.mark.slow
def test_the_dask_runner_writes_the_same_bytes(runs, spec_path, tmp_path):
    run_extract(load_spec(str(spec_path)), str(tmp_path / "dask"), runner="dask", workers=2)
    for name in ("candidates.parquet", "review.md", "report.json"):
        assert (tmp_path / "dask" / name).read_bytes() == (runs["ordered"][0] / name).read_bytes(), name
