"""The dataset card: YAML configs that make load_dataset work offline, a body written for the release's tasks,
claims only about checks that ran, every column documented, and the Hub's own licence ids."""

import json
import os
from dataclasses import replace

import datasets
import pytest
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from pipelines.card import card_for_repo, hub_license, hub_licenses, render_card
from release_fixture import build_release, finalise


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    spec, root = build_release(tmp_path_factory.mktemp("card") / "rel")
    report = finalise(root, spec)
    return spec, root, report


def _parts(root):
    load = lambda name: json.load(open(os.path.join(root, name)))
    return load("manifest.json"), load("stats.json")


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
    manifest, stats = _parts(root)
    text = render_card(manifest, spec, stats, report)
    assert text == render_card(manifest, spec, stats, report) == open(os.path.join(root, "README.md")).read()
    for needle in ("## Configs", "| `qa_gender` | qa | gender | test | 12 |", "## How to score",
                   "### Question answering (`qa_gender`)", "### Sentiment (`sentiment_race`)",
                   "maximum minus the minimum", "## Limitations", "## Changelog", "1.0.0: first release",
                   "The release gate passed", "## Sources and licences", "| reviews | templates | 2 | mit |",
                   "spec hash: `0123456789abcdef`", "`counterfactual_set_id`", "## Citation", "@misc{fixturebench_1_0_0"):
        assert needle in text, needle
    assert "biasbench biasbench" not in text and "<org>" not in text
    assert text.endswith("\n")


def test_hub_licence_ids():
    assert hub_license("CC-BY-SA-4.0") == ("cc-by-sa-4.0", "") and hub_license("MIT") == ("mit", "")
    assert hub_license("Apache-2.0") == ("apache-2.0", "")
    assert hub_license("") == ("unknown", "")
    assert hub_license("MIT (CALM); upstream corpora's own licences") == (
        "other", "MIT (CALM); upstream corpora's own licences")
    # the checked-in list is the Hub's: lower-case ids, the common ones present
    assert {"mit", "apache-2.0", "cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "other", "unknown"} <= hub_licenses()
    assert all(lic == lic.lower() and " " not in lic for lic in hub_licenses())


def test_other_licence_carries_its_name(release):
    spec, root, report = release
    manifest, stats = _parts(root)
    text = render_card(manifest, replace(spec, license="Fixture Licence 2"), stats, report)
    card = DatasetCard(text)
    assert card.data.license == "other" and card.data.license_name == "Fixture Licence 2"


def test_scoring_sections_follow_the_tasks(release):
    """A statement config gets the metric statements support (no gold answer); a BBQ-style config the bias scores."""
    spec, root, report = release
    manifest, stats = _parts(root)
    m = json.loads(json.dumps(manifest))
    m["configs"]["sentiment_race"]["task"] = "statement"
    text = render_card(m, spec, stats, report)
    assert "### Statements (`sentiment_race`)" in text and "no gold answer" in text and "perplexity" in text
    qa = m["configs"]["qa_gender"]
    qa["schema"] = qa["schema"] + [["context_condition", "string"], ["target_loc", "int64"], ["label", "int64"]]
    text = render_card(m, spec, stats, report)
    assert "### Two-person questions with context conditions (BBQ design) (`qa_gender`)" in text
    assert "s_dis = 2 ×" in text and "s_amb = (1 − accuracy" in text
    assert "### Question answering" not in text


def test_only_checks_that_ran_are_claimed(release):
    spec, root, report = release
    manifest, stats = _parts(root)
    text = render_card(manifest, spec, stats, report)
    assert "| `balanced_groups` |" in text and "every template filled equally" in text
    # a gate without the balance check: the card says it did not run, and says what stats.json found
    checks = [c for c in report["checks"] if c["name"] != "balanced_groups"]
    st = json.loads(json.dumps(stats))
    st["configs"]["qa_gender"]["balance"].update(unbalanced_templates=2, templates=2)
    text = render_card(manifest, spec, st, {**report, "checks": checks})
    assert "| `balanced_groups` |" not in text
    assert "Not checked in this release: group balance per template (`require_balanced_groups: false`)" in text
    assert "**not** filled equally per template" in text and "2 of 2 in `qa_gender`" in text
    assert "Every template is filled equally" not in text


def test_every_column_is_documented_metadata_included(release):
    spec, root, report = release
    manifest, stats = _parts(root)
    m = json.loads(json.dumps(manifest))
    m["configs"]["qa_gender"]["schema"] += [["article_fix", "string"], ["bucket", "string"], ["custom_meta", "string"]]
    text = render_card(m, spec, stats, report)
    fields = text.split("## Fields", 1)[1].split("##", 1)[0]
    for config in m["configs"].values():
        for column, _ in config["schema"]:
            assert f"| `{column}` |" in fields, column
    assert "| `article_fix` | string | the article this build changed" in fields
    assert "| `custom_meta` | string | metadata column" in fields and "| qa_gender |" in fields


def test_description_is_kept_and_card_description_added(release):
    spec, root, report = release
    manifest, stats = _parts(root)
    s = replace(spec, release=replace(spec.release, card_description="More about the card."))
    text = render_card(manifest, s, stats, report)
    assert "A tiny benchmark for tests.\n\nMore about the card." in text


def test_limitations_from_spec_and_stats(release):
    spec, root, report = release
    manifest, stats = _parts(root)
    s = replace(spec, release=replace(spec.release, limitations=["Names were chosen by hand."]))
    text = render_card(manifest, s, stats, report)
    lim = text.split("## Limitations", 1)[1].split("\n## ", 1)[0]
    assert "- Names were chosen by hand." in lim
    # two fillers per group in the fixture's lexicon: thin pools, named with their sizes
    assert "Thin filler pools" in lim and "female (2)" in lim
    assert "Implicit fills signal a group through a first name" in lim
    assert "Not measured:" in lim


def test_manifest_changelog_entries_follow_the_spec(release):
    spec, root, report = release
    manifest, stats = _parts(root)
    text = render_card({**manifest, "changelog": ["1.1.0: rebuilt from 1.0.0"]}, spec, stats, report)
    log = text.split("## Changelog", 1)[1].split("\n## ", 1)[0]
    assert log.index("1.0.0: first release") < log.index("1.1.0: rebuilt from 1.0.0")


@pytest.mark.parametrize("split", ["test", "validation"])
def test_snippet_uses_the_config_split_and_card_for_repo_the_repo(release, split):
    spec, root, report = release
    manifest, stats = _parts(root)
    m = json.loads(json.dumps(manifest))
    for info in m["configs"].values():
        info["split"] = split
    text = render_card(m, spec, stats, report)
    assert f'load_dataset("releases/fixture-bench/1.0.0", "qa_gender", split="{split}")' in text
    published = card_for_repo(text, "acme/fixture-bench")
    assert f'load_dataset("acme/fixture-bench", "qa_gender", split="{split}", revision="v1.0.0")' in published
    assert "releases/fixture-bench" not in published.split("## Loading", 1)[1].split("## Configs", 1)[0]
    assert published.replace("acme/fixture-bench", "") != text and card_for_repo(published, "acme/fixture-bench") == published
    assert _front_matter(published) == _front_matter(text)


def test_card_parses_with_huggingface_hub_offline(release):
    spec, root, _ = release
    card = DatasetCard.load(os.path.join(root, "README.md"))
    assert isinstance(card.data, DatasetCardData)
    assert card.data.license in hub_licenses()
    assert [c["config_name"] for c in card.data.configs] == ["qa_gender", "sentiment_race"]


@pytest.mark.parametrize("config,rows,field", [("qa_gender", 12, "context"), ("sentiment_race", 8, "sentence")])
def test_load_dataset_offline(release, tmp_path, config, rows, field):
    spec, root, _ = release
    ds = datasets.load_dataset(root, config, split="test", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == rows
    assert field in ds.column_names and "template_id" in ds.column_names and "group" in ds.column_names
    assert isinstance(ds[0]["options"], list)


def test_template_and_licence_list_ship_with_the_package(tmp_path):
    """setup.py's package data: what `pip install .` copies carries the card's template and the Hub licence list."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    project = Path(__file__).resolve().parent.parent
    src = tmp_path / "src"
    for name in ("pipelines", "transforms", "schemas", "validation", "configs"):
        shutil.copytree(project / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "README.md"):
        shutil.copy(project / name, src / name)
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path / "lib")], cwd=src,
                   check=True, capture_output=True)
    built = tmp_path / "lib" / "pipelines" / "templates"
    assert (built / "card.md.j2").read_text() == (project / "pipelines" / "templates" / "card.md.j2").read_text()
    assert "cc-by-sa-4.0" in (built / "hub_licenses.txt").read_text().split()
