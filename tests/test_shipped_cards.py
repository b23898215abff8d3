"""The card of every shipped spec, built for real: parsed offline by huggingface_hub (licence on the Hub's list,
every config present), every column documented, only the checks that ran claimed, and every config loaded with
the snippet the card prints (the repo id rewritten to the local release folder; the card's config and split kept).

Slow: reads the session's builds of calm, calm-v1, holistic-bias, bbq and bbq-v1 from ../shared (skipped with a
reason when absent) and of the demo and decisions from shipped files.
"""

import json
import re

import datasets
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from conftest import SHIPPED
from pipelines.card import card_for_repo, hub_licenses

pytestmark = pytest.mark.slow
# each release is the session's shared build (conftest.shipped_release), checked on the worker that builds it:
# the xdist group of the tests of that release
GROUP = {"bbq-v1": "bbq"}


@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.xdist_group(GROUP.get(name, name)))
                                        for name in SHIPPED])
def shipped(request, shipped_release):
    name = request.param
    release = shipped_release(name)
    card = (release / "README.md").read_text(encoding="utf-8")
    manifest = json.loads((release / "manifest.json").read_text())
    validation = json.loads((release / "validation.json").read_text())
    return name, release, card, manifest, validation


def _section(card: str, title: str) -> str:
    return card.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_card_parses_offline_with_a_hub_licence_and_every_config(shipped):
    name, release, card, manifest, _ = shipped
    parsed = DatasetCard.load(release / "README.md")
    assert isinstance(parsed.data, DatasetCardData)
    assert parsed.data.license in hub_licenses() and parsed.data.license != "unknown", parsed.data.license
    assert parsed.data.license == parsed.data.license.lower()
    configs = {c["config_name"]: c["data_files"] for c in parsed.data.configs}
    assert sorted(configs) == sorted(manifest["configs"])
    for cname, files in configs.items():
        assert files == [{"split": manifest["configs"][cname]["split"], "path": f"data/{cname}/*.parquet"}]
    for section in ("Loading", "Fields", "How to score", "Limitations", "Validation", "Rebuilding", "Citation"):
        assert f"\n## {section}\n" in card, section
    assert "<org>" not in card and "biasbench biasbench" not in card


def test_every_column_is_documented(shipped):
    _, _, card, manifest, _ = shipped
    fields = _section(card, "Fields")
    for info in manifest["configs"].values():
        for column, _ in info["schema"]:
            assert f"| `{column}` |" in fields, column


def test_only_checks_that_ran_are_claimed(shipped):
    name, _, card, _, validation = shipped
    ran = {c["name"].split(":", 1)[0] for c in validation["checks"]}
    table = _section(card, "Validation")
    claimed = set(re.findall(r"^\| `([^`]+)` \|", table, re.M))
    assert claimed == ran
    if "balanced_groups" not in ran:
        assert "Not checked in this release: group balance per template" in table
        assert "Every template is filled equally" not in card
    if name == "holistic-bias":  # statements without gold answers: no "score against answer"
        scoring = _section(card, "How to score")
        assert "### Statements" in scoring and "no gold answer" in scoring
        assert "matches `answer`" not in scoring and "**not** filled equally per template" in scoring
    if name.startswith("bbq"):
        assert "s_dis = 2 ×" in _section(card, "How to score")


def test_each_config_loads_with_the_card_snippet(shipped, tmp_path):
    name, release, card, manifest, _ = shipped
    loading = _section(card, "Loading")
    code = re.search(r"```python\n(.*?)```", loading, re.S).group(1)
    call = re.search(r'load_dataset\("([^"]+)", "([^"]+)", split="([^"]+)"\)', code)
    where, first, split = call.groups()
    others = re.findall(r"`([^`]+)` \(([^)]+)\)", loading.split("Other configs (split):", 1)[1]) if (
        "Other configs" in loading) else []
    pairs = [(first, split), *others]
    assert sorted(c for c, _ in pairs) == sorted(manifest["configs"])
    for cname, csplit in pairs:
        assert csplit == manifest["configs"][cname]["split"]
        snippet = (code.replace(f'"{where}"', repr(str(release)))  # the repo id → the local release folder
                   .replace(f'"{first}", split="{split}"', f'"{cname}", split="{csplit}", cache_dir={str(tmp_path)!r}'))
        scope: dict = {}
        exec(snippet, scope)  # noqa: S102 - the card's own snippet, as a user would paste it
        ds = scope["ds"]
        assert isinstance(ds, datasets.Dataset) and ds.num_rows == manifest["configs"][cname]["rows"], cname
    published = card_for_repo(card, f"acme/{name}")
    assert (f'load_dataset("acme/{name}", "{first}", split="{split}", revision="v{manifest["version"]}")'
            in published)
