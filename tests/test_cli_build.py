"""End to end through the CLI: the embedded default builds, reloads with `datasets`,
rebuilds byte-identically in other processes (other hash seeds) and on every runner,
and bad input fails in one line with no release left behind."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.cli import main
from pipelines.spec import default_spec_path
from tests.conftest import build_in_child, file_digests

DEFAULT_DATA = Path(default_spec_path()).parent


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def data_files(release: Path) -> dict[str, str]:
    manifest = json.loads((release / "manifest.json").read_text())
    return {f["path"]: f["sha256"] for f in manifest["files"] if f["path"].endswith(".parquet")}


def test_default_build_prints_the_release_dir_and_loads_with_datasets(default_release):
    import datasets

    manifest = json.loads((default_release / "manifest.json").read_text())
    assert set(manifest["configs"]) == {f"{t}_{a}" for t in ("qa", "nli", "sentiment", "decision")
                                        for a in ("gender", "race")}
    for name, info in manifest["configs"].items():
        ds = datasets.load_dataset(str(default_release), name, split="test")
        assert ds.num_rows == info["rows"] > 0
        assert set(ds.unique("group")) == set(info["groups"])
        assert {"example_id", "template_id", "counterfactual_set_id", "axis", "group", "filler"} <= set(ds.column_names)
    for required in ("templates.parquet", "lexicons.parquet", "stats.json", "validation.json", "README.md"):
        assert (default_release / required).exists()
    assert json.loads((default_release / "validation.json").read_text())["passed"] is True


def test_builds_in_processes_with_other_hash_seeds_and_workers_are_byte_identical(default_release, tmp_path):
    """The session's build (a child interpreter, PYTHONHASHSEED=1, one process) and another child interpreter
    (PYTHONHASHSEED=4242, two worker processes): every file of the two releases has the same sha256."""
    other = build_in_child(tmp_path / "seed-4242", "--workers", "2", hashseed=4242)
    digests = file_digests(default_release)
    assert {"manifest.json", "README.md", "stats.json", "validation.json", "templates.parquet"} <= set(digests)
    assert sum(p.startswith("data/") and p.endswith(".parquet") for p in digests) == 8
    assert file_digests(other) == digests


def test_same_version_same_content_is_a_no_op(default_release, tmp_path, capsys):
    out_dir = tmp_path / "out"
    shutil.copytree(default_release, out_dir / "biasbench-demo" / default_release.name)
    code, _, err = run(["build", "--out", str(out_dir)], capsys)
    assert code == 0 and "nothing changed" in err
    assert file_digests(out_dir / "biasbench-demo" / default_release.name) == file_digests(default_release)


def test_dask_runner_on_loopback_gives_the_same_bytes(default_release, tmp_path, capsys):
    pytest.importorskip("distributed")
    code, out, err = run(["build", "--out", str(tmp_path), "--runner", "dask", "--workers", "2"], capsys)
    assert code == 0, err
    assert data_files(Path(out.strip().splitlines()[-1])) == data_files(default_release)


# --- bad input: one line, non-zero exit, no release directory -------------------------------------

def bad_spec(tmp_path, mutate) -> str:
    spec = yaml.safe_load(Path(default_spec_path()).read_text())
    spec["configs"] = spec["configs"][:2]
    mutate(spec, tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def assert_refused(tmp_path, capsys, spec_path, *fragments):
    out_dir = tmp_path / "out"
    code, out, err = run(["build", spec_path, "--data-dir", str(DEFAULT_DATA), "--out", str(out_dir)], capsys)
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("biasbench:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    releases = [p for p in out_dir.rglob("*") if p.is_dir() and p.parent.name == "biasbench-demo"]
    assert not [p for p in releases if not p.name.startswith(".rejected")]
    assert not list(out_dir.rglob(".staging-*"))
    assert not list(out_dir.rglob("*.parquet")) or all(".rejected" in str(p) for p in out_dir.rglob("*.parquet"))


def test_unknown_spec_key(tmp_path, capsys):
    path = bad_spec(tmp_path, lambda s, d: s["configs"][0].update(desing={"strategy": "all"}))
    assert_refused(tmp_path, capsys, path, "spec.yaml", "configs[0].desing", "unknown key")


def test_template_with_unknown_slot(tmp_path, capsys):
    def mutate(spec, d):
        (d / "bad_templates.jsonl").write_text(json.dumps(
            {"task": "qa", "source_dataset": "mine", "fields": {"context": "{person} left and {person.subjj} cried.",
                                                                "question": "Who left?"}, "answer": "{person}"}) + "\n")
        spec["template_files"] = [{"path": str(d / "bad_templates.jsonl")}]
    assert_refused(tmp_path, capsys, bad_spec(tmp_path, mutate), "{person.subjj}", "template t-", "'context'")


def test_lexicon_group_with_no_entries(tmp_path, capsys):
    def mutate(spec, d):
        spec["configs"][0]["groups"].append({"name": "martian"})
    assert_refused(tmp_path, capsys, bad_spec(tmp_path, mutate), "no entries", "martian")


def test_corpus_file_that_is_not_json_lines_with_malformed_error(tmp_path, capsys):
    # by default a broken line is quarantined (tests/test_malformed.py); malformed: error refuses the build
    def mutate(spec, d):
        lines = (DEFAULT_DATA / "data/demo/qa.jsonl").read_text().splitlines()
        lines[2] = lines[2][:-5]  # cut a record short
        (d / "qa.jsonl").write_text("\n".join(lines) + "\n")
        spec["sources"][0]["path"] = str(d / "qa.jsonl")
        spec["sources"][0]["options"] = {"malformed": "error"}
    assert_refused(tmp_path, capsys, bad_spec(tmp_path, mutate), "qa.jsonl", "line 3")
