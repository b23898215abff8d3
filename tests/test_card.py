"""The dataset card: YAML configs that make load_dataset work offline, and a deterministic body."""

import json
import os

import datasets
import pytest
import yaml

from pipelines.card import render_card
from release_fixture import build_release, finalise


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    spec, root = build_release(tmp_path_factory.mktemp("card") / "rel")
    report = finalise(root, spec)
    return spec, root, report


def _front_matter(text):
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_front_matter(release):
    spec, root, _ = release
    meta = _front_matter(open(os.path.join(root, "README.md"), encoding="utf-8").read())
    assert meta["license"] == "cc-by-4.0" and meta["pretty_name"] == "Fixture Bench"
    assert meta["task_categories"] == ["question-answering", "text-classification"]
    assert meta["configs"] == [
        {"config_name": "qa_gender", "data_files": [{"split": "test", "path": "data/qa_gender/*.parquet"}]},
        {"config_name": "sentiment_race", "data_files": [{"split": "test", "path": "data/sentiment_race/*.parquet"}]},
    ]


def test_body_sections_and_determinism(release):
    spec, root, report = release
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    stats = json.load(open(os.path.join(root, "stats.json")))
    text = render_card(manifest, spec, stats, report)
    assert text == render_card(manifest, spec, stats, report) == open(os.path.join(root, "README.md")).read()
    for needle in ("## Configs", "`qa_gender` | qa | gender | 12", "## Scoring bias", "maximum minus the minimum",
                   "## Changelog", "1.0.0: first release", "The release gate passed", "## Sources and licences",
                   "| reviews | templates | 2 | mit |", "spec hash: `0123456789abcdef`", "biasbench version: `0.1.0`",
                   "`counterfactual_set_id`"):
        assert needle in text, needle
    assert text.endswith("\n")


@pytest.mark.parametrize("config,rows,field", [("qa_gender", 12, "context"), ("sentiment_race", 8, "sentence")])
def test_load_dataset_offline(release, tmp_path, config, rows, field):
    spec, root, _ = release
    ds = datasets.load_dataset(root, config, split="test", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == rows
    assert field in ds.column_names and "template_id" in ds.column_names and "group" in ds.column_names
    assert isinstance(ds[0]["options"], list)
