"""The release gate (GX suites + lint + thresholds) and re-validation of a release on disk."""

import json
import os

import pytest

from release_fixture import build_release, finalise, make_spec
from validation.stats import compute_stats
from validation.gate import failed_summary, run_gate, validate_release
from validation.release_lint import lint_release


def _gate(root, spec):
    lint = lint_release(root)
    return run_gate(root, spec, lint, compute_stats(root, spec, lint))


def _failed(report):
    return {(c["config"], c["name"]) for c in report["checks"] if not c["passed"]}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    spec, root = build_release(tmp_path_factory.mktemp("gate") / "rel")
    report = finalise(root, spec)
    return spec, root, report


def test_good_release_passes(good):
    spec, root, report = good
    assert report["passed"], report["failed"]
    names = [(c["config"], c["name"]) for c in report["checks"]]
    assert names[0] == ("qa_gender", "data_present") and names[-1] == ("*", "leftover_markers")
    for expected in [("qa_gender", "unique:example_id"), ("qa_gender", "balanced_groups"),
                     ("sentiment_race", "not_null:sentence"), ("qa_gender", "group_in_declared"),
                     ("qa_gender", "fill_type_in_set"), ("qa_gender", "min_distinct_2"), ("*", "lint_failures")]:
        assert expected in names
    saved = json.load(open(os.path.join(root, "validation.json")))
    assert saved["passed"] and saved["configs"]["qa_gender"]["groups"] == ["female", "male", "non-binary"]
    json.dumps(report)  # serialisable


def test_report_is_deterministic(good):
    spec, root, report = good
    assert _gate(root, spec) == report


def test_unbalanced_release_fails_naming_the_check(tmp_path):
    spec, root = build_release(tmp_path / "rel", unbalanced=True)
    report = _gate(root, spec)
    assert not report["passed"]
    assert _failed(report) == {("qa_gender", "balanced_groups")}
    check = next(c for c in report["checks"] if c["name"] == "balanced_groups" and not c["passed"])
    assert check["details"]["unbalanced_count"] == 1
    assert "qa_gender/balanced_groups" in failed_summary(report)


def test_balance_not_required_passes(tmp_path):
    spec, root = build_release(tmp_path / "rel", spec=make_spec(require_balanced_groups=False), unbalanced=True)
    assert _gate(root, spec)["passed"]


def test_lint_defect_fails_and_threshold_allows_it(tmp_path):
    spec, root = build_release(tmp_path / "rel", lint_defect=True)
    report = _gate(root, spec)
    assert _failed(report) == {("*", "lint_failures")}
    check = next(c for c in report["checks"] if c["name"] == "lint_failures")
    assert check["observed"] == 1 and check["details"]["examples"][0]["rule"] == "agreement"
    spec2, root2 = build_release(tmp_path / "rel2", spec=make_spec(max_lint_failures=1), lint_defect=True)
    assert _gate(root2, spec2)["passed"]


def test_undeclared_group_and_min_rows(tmp_path):
    spec = make_spec(min_rows=10, min_distinct_2=0.99)
    spec, root = build_release(tmp_path / "rel", spec=spec)
    spec.configs[0].groups = spec.configs[0].groups[:2]  # non-binary rows are now undeclared
    failed = _failed(_gate(root, spec))
    assert ("qa_gender", "group_in_declared") in failed
    assert ("sentiment_race", "min_rows") in failed  # 8 rows < 10
    assert ("qa_gender", "min_distinct_2") in failed


def test_validate_release_passes_then_catches_tampering(good, tmp_path):
    spec, root, _ = good
    report = validate_release(root)
    assert report["passed"], report["failed"]
    passed = {(c["config"], c["name"]) for c in report["checks"] if c["passed"]}
    assert {("*", "file_integrity"), ("qa_gender", "rows_sha256"), ("sentiment_race", "manifest_rows"),
            ("qa_gender", "balanced_groups"), ("*", "lint_failures")} <= passed
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    with open(copy / "templates.parquet", "ab") as f:
        f.write(b"junk")
    bad = validate_release(str(copy))
    assert not bad["passed"] and ("*", "file_integrity") in _failed(bad)
    problems = [c["details"] for c in bad["checks"] if c["name"] == "file_integrity" and not c["passed"]]
    assert problems[0]["path"] == "templates.parquet" and "sha256 differs" in problems[0]["problems"]


def test_validate_release_without_manifest_is_a_clear_error(tmp_path):
    from schemas.errors import InputError
    with pytest.raises(InputError, match="manifest.json: missing"):
        validate_release(str(tmp_path))
