"""Release diffs and the semver bump they call for."""

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.diff import diff_releases, format_diff, suggest_bump
from release_fixture import build_release


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("diff") / "old")[1]


def test_identical_releases(base, tmp_path):
    _, new = build_release(tmp_path / "new")
    d = diff_releases(base, new)
    assert suggest_bump(d) == "none" and d["configs"]["qa_gender"]["unchanged"] == 12
    assert d["templates"]["added"] == 0 and d["schema"] == {}


def test_new_template_is_minor(base, tmp_path):
    _, new = build_release(tmp_path / "new", extra_rows=True, version="1.1.0")
    d = diff_releases(base, new)
    qa = d["configs"]["qa_gender"]
    assert (qa["rows_old"], qa["rows_new"], qa["added"], qa["removed"], qa["changed"]) == (12, 18, 6, 0, 0)
    assert d["templates"]["added"] == 1 and d["configs"]["sentiment_race"]["added"] == 0
    assert suggest_bump(d) == "minor"
    text = format_diff(d)
    assert "qa_gender: 12 -> 18 rows; +6 -0 ~0" in text and "suggested bump: minor" in text


def test_changed_row_is_patch(base, tmp_path):
    _, new = build_release(tmp_path / "new", change_text=True)
    d = diff_releases(base, new)
    assert d["configs"]["qa_gender"]["changed"] == 1 and d["configs"]["qa_gender"]["added"] == 0
    assert suggest_bump(d) == "patch"


def test_removed_config_and_schema_change_are_major(base, tmp_path):
    new = tmp_path / "new"
    shutil.copytree(base, new)
    shutil.rmtree(new / "data" / "sentiment_race")
    d = diff_releases(base, str(new))
    assert d["configs_removed"] == ["sentiment_race"] and suggest_bump(d) == "major"
    reverse = diff_releases(str(new), base)
    assert reverse["configs_added"] == ["sentiment_race"] and suggest_bump(reverse) == "minor"
    path = new / "data" / "qa_gender" / "test-00000-of-00001.parquet"
    t = pq.read_table(path)
    pq.write_table(t.append_column("difficulty", pa.array(["easy"] * t.num_rows)), path)
    d = diff_releases(base, str(new))
    assert d["schema"]["qa_gender"]["added_columns"] == ["difficulty"] and suggest_bump(d) == "major"
    assert d["configs"]["qa_gender"]["changed"] == 0  # a new column is a schema change, not a row change
