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


def _as_written_by_this_code(root, tmp_path, name, edit_stats=None):
    """A copy of the release whose manifest names this code's version (and, optionally, an edited stats.json
    re-listed), resealed."""
    import shutil

    from schemas.ids import file_sha256
    from schemas.release import CODE_VERSION, manifest_text

    copy = tmp_path / name
    shutil.copytree(root, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["code_version"] = CODE_VERSION
    if edit_stats:
        stats = json.loads((copy / "stats.json").read_text())
        edit_stats(stats)
        (copy / "stats.json").write_text(json.dumps(stats))
        entry = next(e for e in manifest["files"] if e["path"] == "stats.json")
        entry.update(bytes=(copy / "stats.json").stat().st_size, sha256=file_sha256(str(copy / "stats.json")))
    (copy / "manifest.json").write_text(manifest_text(manifest))
    return str(copy)


def test_validate_judges_the_sealed_figures_of_a_release_this_code_wrote(good, tmp_path, monkeypatch):
    import validation.release_lint
    import validation.stats

    _, root, _ = good
    full = validate_release(root)  # the fixture's manifest names other code: everything is recomputed
    assert full["recomputed"] and any(c["name"] == "rows_sha256" for c in full["checks"])
    copy = _as_written_by_this_code(root, tmp_path, "ours")

    def never(*args, **kwargs):
        raise AssertionError("a release this code wrote is not re-read row by row")

    monkeypatch.setattr(validation.release_lint, "lint_release", never)
    monkeypatch.setattr(validation.stats, "config_stats", never)
    sealed = validate_release(copy)
    assert sealed["passed"] and not sealed["recomputed"]
    def judged(report):  # the seal differs (another code_version): the rest is the same
        return [(c["config"], c["name"], c["passed"], c["observed"] if c["name"] != "manifest_digest" else None)
                for c in report["checks"] if c["name"] != "rows_sha256"]

    assert judged(sealed) == judged(full)
    monkeypatch.undo()
    again = validate_release(copy, full=True)
    assert again["recomputed"] and again["passed"] and any(c["name"] == "rows_sha256" for c in again["checks"])


def test_validate_fails_a_sealed_figure_that_breaks_its_threshold(good, tmp_path):
    _, root, _ = good

    def more_lint(stats):
        stats["lint"]["counts"]["agreement"] = 5

    copy = _as_written_by_this_code(root, tmp_path, "lint", edit_stats=more_lint)
    report = validate_release(copy)
    assert not report["recomputed"] and _failed(report) == {("*", "lint_failures")}
    assert validate_release(copy, full=True)["passed"]  # the rows themselves are clean
