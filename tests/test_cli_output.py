"""What the CLI prints: its version, help for every argument, tables that fit the terminal, validate's failures
and summary, spec names beside folders, quiet Dask logs, article overrides and literal braces as documented."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import _groups_text, _table, main, make_parser
from pipelines.spec import default_spec_path, load_spec, resolve_spec_path
from release_fixture import build_release, finalise
from schemas.errors import SpecError
from small_specs import TEMPLATES, lexicon_entries, write_small_spec

PROJECT = Path(__file__).resolve().parent.parent


def test_version_is_the_package_version(capsys):
    setup_version = re.search(r'^__version__ = "([^"]+)"', (PROJECT / "schemas" / "__init__.py").read_text(),
                              re.M).group(1)
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"biasbench {setup_version}"
    assert "VERSION" in (PROJECT / "setup.py").read_text()  # setup.py reads the same constant


def _subparsers(parser):
    import argparse

    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_argument_has_help():
    parser = make_parser()
    missing = [f"{name} {a.dest}" for name, sub in _subparsers(parser).items() for a in sub._actions
               if a.help in (None, "")]
    missing += [a.dest for a in parser._actions if a.help in (None, "")]
    assert not missing
    text = _subparsers(parser)["build"].format_help()
    assert "download CALM's inputs" in text and "HF_HUB_OFFLINE" in text
    assert "--allow-fetch" in _subparsers(parser)["rebuild"].format_help()


def test_wide_tables_are_cut_to_the_width():
    header = ["config"] + [f"figure number {i}" for i in range(14)]
    rows = [["statement_gender_and_sex"] + [f"{i}.000/0.000" for i in range(14)] for _ in range(3)]
    text = _table(rows, header, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    blocks = text.split("\n\n")
    assert len(blocks) > 1 and all(b.startswith("config") for b in blocks)
    for i in range(14):  # every column is in some block
        assert re.search(rf"figure number {i}\b", text)
    narrow = _table([["a", "1"]], ["x", "y"], width=100)
    assert "\n\n" not in narrow


def test_groups_with_equal_rows_read_as_one_count():
    assert _groups_text({f"g{i}": 36 for i in range(26)}) == "26 groups, 36 rows each"
    assert _groups_text({f"g{i}": 30 + i for i in range(8)}) == "8 groups, 30–37 rows each"
    assert _groups_text({"a": 1, "b": 2}) == "a=1 b=2"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    spec, root = build_release(tmp_path_factory.mktemp("cli-out") / "rel")
    finalise(root, spec)
    return root


def test_validate_prints_failures_and_a_summary(release, tmp_path, capsys):
    assert main(["validate", str(release)]) == 0
    out = capsys.readouterr().out
    assert not any(line.startswith("ok") for line in out.splitlines())
    assert re.match(r"\d+/\d+ checks passed; by check: manifest_digest 1/1", out)
    assert max(map(len, out.splitlines())) <= 100
    assert main(["validate", str(release), "--verbose"]) == 0
    verbose = capsys.readouterr().out
    assert len([line for line in verbose.splitlines() if line.startswith("ok")]) > 20
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    (copy / "stats.json").write_text("{}")
    assert main(["validate", str(copy)]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL file_integrity stats.json") and not any(line.startswith("ok") for line in out)
    assert any(", 1 failed" in line for line in out)


def test_stats_output_fits_100_columns(release, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["stats", str(release)]) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100 and "self-BLEU" in out


def test_a_folder_named_like_a_shipped_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calm").mkdir()  # e.g. CALM's data checked out here
    assert resolve_spec_path("calm") == str(Path(default_spec_path()).parent / "calm.yaml")
    assert load_spec("calm", data_dir=str(tmp_path / "calm")).benchmark == "calm"
    (tmp_path / "mine").mkdir()
    with pytest.raises(SpecError, match="mine: a directory, not a spec file"):
        resolve_spec_path("mine")


def test_login_hint_names_no_missing_option():
    from huggingface_hub import errors

    from pipelines.publish import _explain

    hint = _explain(errors.LocalTokenNotFoundError("no token"))
    assert "--token" not in hint and "HF_TOKEN" in hint


def test_article_overrides_hyphenated_unused_and_braces(tmp_path, capsys):
    """A hyphenated override key applies; an unused key is reported; ``{{ … }}`` renders literal braces and
    passes the gate, while ``{{word}}`` renders a slot-like marker the gate refuses (README, Slot syntax)."""
    names = {"female": ["unicorn-loving woman", "eager woman"], "male": ["unicorn-loving man", "eager man"]}
    templates = [
        {"task": "sentiment", "fields": {"sentence": "We met {a:person} who wrote { draft } on the board."
                                                     .replace("{ draft }", "{{ draft }}")}, "answer": "positive"},
        {"task": "sentiment", "fields": {"sentence": "Everyone thanked {a:person} for the lovely party."},
         "answer": "positive"},
    ]
    spec = write_small_spec(tmp_path / "ws", templates=templates, lexicon=lexicon_entries(names),
                            article_overrides={"unicorn-loving": "an", "zebra-striped": "a"})
    assert main(["build", str(spec), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "article_overrides not used (no template or filler has the word): zebra-striped" in err
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "out" / "small" / "0.1.0" / "data" / "sentiment_gender").column(
        "sentence").to_pylist()
    assert "We met an unicorn-loving woman who wrote { draft } on the board." in rows
    assert "Everyone thanked an eager man for the lovely party." in rows
    slotlike = [{"task": "sentiment", "fields": {"sentence": "{person} wrote {{draft}} on the board."},
                 "answer": "positive"}]
    spec = write_small_spec(tmp_path / "ws2", templates=slotlike)
    assert main(["build", str(spec), "--out", str(tmp_path / "out2")]) == 3
    assert "leftover_markers" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_runner_prints_no_library_info_lines(tmp_path):
    spec = write_small_spec(tmp_path / "ws")
    env = dict(os.environ, PYTHONPATH=str(PROJECT), GX_ANALYTICS_ENABLED="false")
    env.pop("BIASBENCH_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "build", str(spec), "--runner", "dask",
                             "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if "INFO" in line or "distributed." in line], result.stderr


def test_rebuild_never_downloads_unless_allowed(tmp_path, capsys, monkeypatch):
    """calm without --data-dir would fetch CALM's inputs: rebuild refuses in one line (no network touched);
    with --allow-fetch it tries, here stopped by HF_HUB_OFFLINE=1; build (interactive) fetches by default."""
    import urllib.request

    def no_network(*a, **k):
        raise AssertionError("rebuild opened a URL")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("BIASBENCH_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["rebuild", "calm", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if x.startswith("biasbench:")]
    assert len(line) == 1 and "does not download" in line[0] and "--allow-fetch" in line[0], err
    assert main(["rebuild", "calm", "--out", str(tmp_path / "out"), "--allow-fetch"]) == 2
    err = capsys.readouterr().err
    assert "does not download" not in err and "HF_HUB_OFFLINE is set" in err, err
    import os

    from transforms.calm_inputs import NO_FETCH_ENV

    assert NO_FETCH_ENV not in os.environ  # restored: a later build in this process may fetch again
