"""The README's commands, run: its command table matches the parser flag for flag, every `biasbench` line in its
code blocks parses, and each command it documents runs against a small spec as it says (publish against an
autospec'd Hub client: a real publish needs the Hub's network and a token)."""

import json
import re
import shlex
from pathlib import Path

import datasets
import pytest

from conftest import CALM_DIR, PROJECT
from pipelines.cli import main, make_parser
from small_specs import write_small_spec

README = (PROJECT / "README.md").read_text(encoding="utf-8")


def _subparsers():
    import argparse

    parser = make_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def _flags(parser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}


def _table_synopses() -> dict[str, str]:
    rows = re.findall(r"^\| `biasbench (\w+)([^`]*)` \|", README, re.M)
    return {cmd: rest for cmd, rest in rows}


def test_command_table_matches_the_parser():
    synopses = _table_synopses()
    commands = _subparsers()
    assert set(commands) <= set(synopses), set(commands) - set(synopses)
    for name, sub in commands.items():
        documented = set(re.findall(r"--[a-z][a-z-]*", synopses[name]))
        assert documented == _flags(sub), (name, documented ^ _flags(sub))
    assert "`biasbench --version`" in README


def _code_block_commands() -> list[str]:
    blocks = re.findall(r"^ *```[a-z]*\n(.*?)^ *```", README, re.S | re.M)
    joined = [re.sub(r"\\\n\s*", " ", b) for b in blocks]
    return [line.strip() for b in joined for line in b.splitlines() if line.strip().startswith("biasbench ")]


def test_every_code_block_command_parses():
    lines = _code_block_commands()
    assert len(lines) >= 4
    parser = make_parser()
    for line in lines:
        args = parser.parse_args(shlex.split(line.replace("…", "F"))[1:])
        assert args.command in _subparsers()


def test_readme_commands_on_a_small_spec(tmp_path, capsys, monkeypatch):
    """build, validate (also --verbose), stats (--json, --compare --plot), diff, rebuild, publish (--dry-run, and
    against an autospec'd HfApi), the load_dataset snippet, and the exit code of a bad spec."""
    spec = write_small_spec(tmp_path / "ws")
    out = tmp_path / "releases"
    run = lambda *argv: (main(list(argv)), capsys.readouterr())
    code, cap = run("build", str(spec), "--out", str(out))
    release = Path(cap.out.strip().splitlines()[-1])
    assert code == 0 and release == out / "small" / "0.1.0"
    assert "sentiment_gender" in cap.err and "checks passed" in cap.err
    code, cap = run("validate", str(release))
    assert code == 0 and re.match(r"\d+/\d+ checks passed", cap.out)
    code, cap = run("validate", str(release), "--verbose", "--great-expectations")
    assert code == 0 and cap.out.startswith("ok")
    code, cap = run("stats", str(release))
    assert code == 0 and "self-BLEU" in cap.out
    code, cap = run("stats", str(release), "--json")
    assert code == 0 and json.loads(cap.out)["benchmark"] == "small"
    code, cap = run("build", str(spec), "--out", str(out), "--version", "0.2.0")
    newer = out / "small" / "0.2.0"
    code, cap = run("stats", str(release), "--compare", str(newer), "--plot", str(tmp_path / "cmp.png"))
    assert code == 0 and "small 0.1.0" in cap.out and (tmp_path / "cmp.png").stat().st_size > 0
    code, cap = run("diff", str(release), str(newer))
    assert code == 0 and "suggested bump: none" in cap.out
    code, cap = run("rebuild", str(spec), "--out", str(out))
    assert code == 0 and "up to date" in cap.err
    code, cap = run("publish", str(newer), "--repo-id", "acme/small", "--dry-run")
    assert code == 0 and "would publish small 0.2.0 to acme/small" in cap.out
    # a real publish needs the Hub (network, token): HfApi is autospec'd (tests/hub_fake.py), its calls checked
    from tests.hub_fake import FakeRepo

    repo = FakeRepo()
    monkeypatch.setattr("pipelines.publish.hub_api", lambda: repo.api)
    code, cap = run("publish", str(newer), "--repo-id", "acme/small", "--private")
    assert code == 0 and "published small 0.2.0 to acme/small" in cap.out
    repo.api.create_repo.assert_called_once_with("acme/small", repo_type="dataset", exist_ok=True, private=True)
    assert repo.tags == {"v0.2.0": repo.head}
    # the README's load_dataset line, with its release path pointing at this release
    snippet = re.search(r'ds = datasets\.load_dataset\("([^"]+)", "(\w+)", split="(\w+)"\)', README)
    assert snippet.group(1) == "releases/biasbench-demo/0.1.0" and snippet.group(3) == "test"
    ds = datasets.load_dataset(str(release), "sentiment_gender", split=snippet.group(3),
                               cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 18
    capsys.readouterr()  # datasets' progress bars
    code, cap = run("build", str(tmp_path / "no-such.yaml"))
    assert code == 2 and cap.err.count("\n") == 1 and cap.err.startswith("biasbench: ")
    with pytest.raises(SystemExit):
        main(["--version"])


@pytest.mark.slow
def test_readme_stats_of_calm_as_published(capsys):
    """The README's `biasbench stats ../shared/data/calm/release …` line, run as written (path from ../shared)."""
    if not (CALM_DIR / "release").is_dir():
        pytest.skip(f"{CALM_DIR} is absent: CALM's published rows are read in place from ../shared")
    line = next(line for line in _code_block_commands() if "--config-pattern" in line and "--compare" not in line)
    argv = [a.replace("../shared/data/calm", str(CALM_DIR)) for a in shlex.split(line)[1:]]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "qa_gender" in out and "nli_race" in out and "sentiment_race" in out
    assert max(map(len, out.splitlines())) <= 100


def test_dataflow_commands_are_described_not_run():
    """The Dataflow lines need Google Cloud (network, a project): they parse here, and tests/test_dataflow.py runs
    the --template_location form offline against a GCS emulator."""
    lines = [line for line in _code_block_commands() if "--runner dataflow" in line]
    assert len(lines) == 2 and any("--template_location" in line for line in lines)
    assert "template_location" in (PROJECT / "tests" / "test_dataflow.py").read_text()
