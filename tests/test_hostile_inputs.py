"""Hostile inputs: oversized records are quarantined before parsing, and reads can be confined.

Each build here runs on a copy of the embedded default (configs/default.yaml beside a
copy of its data folder) in tmp_path, through the real CLI, Beam and spaCy.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from pipelines.cli import main
from pipelines.spec import default_spec_path, load_spec
from schemas.errors import SpecError
from schemas.quarantine import DEFAULT_MAX_RECORD_BYTES, Quarantined
from schemas.records import SourceRecord
from transforms.ingest import read_source

PROJECT = Path(__file__).resolve().parent.parent
DEMO_SPEC = Path(default_spec_path())


def demo_copy(root: Path, mutate=None) -> Path:
    """configs/default.yaml and its data folder copied under ``root``; ``mutate(spec dict)`` edits the spec."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEMO_SPEC.parent / "data", root / "data", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    spec = yaml.safe_load(DEMO_SPEC.read_text())
    if mutate:
        mutate(spec)
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def build(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def parquet_hashes(release: Path) -> dict[str, str]:
    manifest = json.loads((release / "manifest.json").read_text())
    return {f["path"]: f["sha256"] for f in manifest["files"] if f["path"].endswith(".parquet")}


def quarantine_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("[quarantine]")]


# --- 5. an oversized record never reaches spaCy -------------------------------------------------------

def test_a_900000_character_passage_is_quarantined_and_the_rest_builds_as_usual(default_release, tmp_path, capsys):
    spec = demo_copy(tmp_path / "demo")
    qa = spec.parent / "data/demo/qa.jsonl"
    line = len(qa.read_text().splitlines()) + 1  # appended: every other record keeps its line
    passage = ("Mary walked to the market and bought bread for her neighbours. " * 15_000)[:900_000]
    with qa.open("a") as f:
        f.write(json.dumps({"id": "qa-huge", "passage": passage, "question": "Who walked?", "answer": "Mary"}) + "\n")

    code, out, err = build(["build", str(spec), "--out", str(tmp_path / "out"), "--progress", "on"], capsys)
    assert code == 0, err
    release = Path(out.strip().splitlines()[-1])
    report = json.loads((release / "quarantine.json").read_text())
    assert report == {"counts": {"max_chars": 1}, "listed": 1, "records": [
        {"source": "demo_qa", "file": "data/demo/qa.jsonl", "line": line, "record_id": "qa-huge",
         "reason": "max_chars", "size": 900_000 + len("Who walked?"), "limit": 4000}]}
    [progress] = quarantine_lines(err)
    assert "data/demo/qa.jsonl, line" in progress and f"line {line}:" in progress and "900,011 characters" in progress
    assert "quarantined: max_chars=1" in err
    # nothing else changed: the same templates, the same rows
    assert (release / "templates.parquet").read_bytes() == (default_release / "templates.parquet").read_bytes()
    assert parquet_hashes(release) == parquet_hashes(default_release)
    # the release lists its quarantine file like every other file
    manifest = json.loads((release / "manifest.json").read_text())
    assert "quarantine.json" in {f["path"] for f in manifest["files"]}
    assert not (default_release / "quarantine.json").exists()


def test_a_50_mb_line_is_quarantined_by_its_raw_size(tmp_path, capsys):
    spec = demo_copy(tmp_path / "demo")
    nli = spec.parent / "data/demo/nli.jsonl"
    line = len(nli.read_text().splitlines()) + 1
    big = '{"id": "nli-big", "premise": "' + "Mary left. " * (50 * 1024 * 1024 // 11) + '", "hypothesis": "x"}'
    with nli.open("a") as f:
        f.write(big + "\n")

    code, out, err = build(["build", str(spec), "--out", str(tmp_path / "out"), "--progress", "on"], capsys)
    assert code == 0, err
    assert "E088" not in err
    report = json.loads((Path(out.strip().splitlines()[-1]) / "quarantine.json").read_text())
    assert report["records"] == [{"source": "demo_nli", "file": "data/demo/nli.jsonl", "line": line,
                                  "reason": "max_record_bytes", "size": len(big), "limit": DEFAULT_MAX_RECORD_BYTES}]
    [progress] = quarantine_lines(err)
    assert f"data/demo/nli.jsonl, line {line}: {len(big):,} bytes" in progress


def lines_file(path: Path, lines: list[str], end: str = "\n") -> str:
    path.write_bytes("".join(x + end for x in lines).encode())
    return str(path)


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_jsonl_lines_at_and_over_the_byte_limit(tmp_path, end):
    from schemas.spec import SourceSpec

    at = json.dumps({"id": "at", "t": "a" * 80})
    limit = len(at)
    over = json.dumps({"id": "ov", "t": "é" * 80}, ensure_ascii=False)  # as many characters, but more bytes
    assert len(over) == limit < len(over.encode())
    huge = json.dumps({"id": "huge", "t": "b" * 300_000})  # read past in chunks
    path = lines_file(tmp_path / "s.jsonl", [at, over, huge, '{"id": "after"}'], end)
    out = list(read_source(SourceSpec("s", "jsonl", "s.jsonl", id_field="id", options={"max_record_bytes": limit}),
                           path))
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["at", "after"]
    assert [q for q in out if isinstance(q, Quarantined)] == [
        Quarantined("s", "line", 2, "max_record_bytes", len(over.encode()), limit),
        Quarantined("s", "line", 3, "max_record_bytes", len(huge), limit)]


def test_text_csv_and_json_records_over_the_limit(tmp_path):
    from schemas.spec import SourceSpec

    opts = {"max_record_bytes": 100}
    text = lines_file(tmp_path / "t.txt", ["short", "x" * 101, "", "last"])
    out = list(read_source(SourceSpec("t", "text", "t.txt", options=opts), text))
    assert [getattr(r, "fields", None) for r in out] == [{"text": "short"}, None, {"text": "last"}]
    assert out[1] == Quarantined("t", "line", 2, "max_record_bytes", 101, 100)

    csv = lines_file(tmp_path / "c.csv", ["id,text", "a,fine", f'b,"{"y" * 120}"', "c,ok"])
    out = list(read_source(SourceSpec("c", "csv", "c.csv", id_field="id", options=opts), csv))
    assert out[1] == Quarantined("c", "line", 3, "max_record_bytes", 121, 100, record_id="b")
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["a", "c"]

    doc = tmp_path / "d.json"
    doc.write_text(json.dumps({"data": [{"q": "fine", "items": [1, 2]}, {"q": "z" * 200, "items": [3]}]}))
    out = list(read_source(SourceSpec("d", "json", "d.json", records="data",
                                      options={**opts, "explode": "items"}), str(doc)))
    # the parent is measured before it is exploded, and its quarantine entry passes through explode
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["0.0", "0.1"]
    assert out[2] == Quarantined("d", "record", 1, "max_record_bytes", 201, 100, record_id="1")


def test_a_zero_limit_reads_everything_and_a_bad_one_is_a_spec_error(tmp_path):
    from schemas.spec import SourceSpec

    path = lines_file(tmp_path / "s.jsonl", [json.dumps({"t": "w" * (DEFAULT_MAX_RECORD_BYTES + 10)})])
    [default] = read_source(SourceSpec("s", "jsonl", "s.jsonl"), path)
    assert isinstance(default, Quarantined) and default.limit == DEFAULT_MAX_RECORD_BYTES
    [record] = read_source(SourceSpec("s", "jsonl", "s.jsonl", options={"max_record_bytes": 0}), path)
    assert isinstance(record, SourceRecord)
    with pytest.raises(SpecError, match="option max_record_bytes"):
        read_source(SourceSpec("s", "jsonl", "s.jsonl", options={"max_record_bytes": "1MB"}), path)
    spec = demo_copy(tmp_path / "demo", lambda s: s["filters"].update(max_record_bytes=-1))
    with pytest.raises(SpecError, match="filters.*max_record_bytes"):
        load_spec(str(spec))


def test_extraction_quarantines_an_over_long_record_before_parsing():
    from schemas.spec import ExtractSpec
    from transforms.extract import extract_batch, load_nlp

    spec = ExtractSpec(source="demo", task="sentiment", fields={"sentence": "text"}, answer="label")
    recs = [{"source_dataset": "demo", "source_split": "test", "record_id": rid, "location": f"s.jsonl, line {n}",
             "source_license": "", "fields": {"text": text, "label": "positive"}}
            for n, (rid, text) in enumerate([("a", "Mary was glad she came."), ("b", "Tom sang. " * 20)], 1)]
    kept, quarantined = extract_batch(recs, spec, load_nlp(), max_chars=100)
    assert kept.fields["sentence"] == "{person} was glad {person.subj} came."
    assert quarantined == Quarantined("demo", "line", 2, "max_chars", len(("Tom sang. " * 20).strip()), 100,
                                      record_id="b")


# --- 7. --confine-inputs ------------------------------------------------------------------------------

def cli(argv: list[str]) -> subprocess.CompletedProcess:
    """The real command in a child process: its whole stderr is what a user sees."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], capture_output=True, text=True, env=env,
                          cwd=PROJECT, timeout=300)


def with_sentiment_path(path: str, **top):
    def mutate(spec):
        spec["sources"][2]["path"] = path
        spec.update(top)
    return mutate


def assert_refused_at_load(spec: Path, argv: list[str], key: str, path: str):
    out = spec.parent / "out"
    before = sorted(os.listdir(spec.parent))
    done = cli([*argv[:1], str(spec), *argv[1:], "--out", str(out)])
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert str(spec) in lines[0] and f"'{key}'" in lines[0] and repr(path) in lines[0], lines[0]
    assert sorted(os.listdir(spec.parent)) == before and not out.exists()


@pytest.mark.parametrize("path", ["../../secret.txt", "/etc/passwd"])
def test_confine_inputs_refuses_paths_outside_in_one_line(tmp_path, path):
    (tmp_path / "secret.txt").write_text('{"sentence": "Mary is the admin password."}\n')
    spec = demo_copy(tmp_path / "a" / "b", with_sentiment_path(path))
    assert_refused_at_load(spec, ["build", "--confine-inputs"], "sources[2].path", path)


def test_the_spec_key_confines_too_and_rebuild_honours_the_flag(tmp_path):
    spec = demo_copy(tmp_path / "a", with_sentiment_path("/etc/passwd", confine_inputs=True))
    assert_refused_at_load(spec, ["build"], "sources[2].path", "/etc/passwd")
    lexicon = demo_copy(tmp_path / "b", lambda s: s["lexicons"][0].update(path="../a/data/lexicons/first_names.jsonl"))
    assert_refused_at_load(lexicon, ["rebuild", "--confine-inputs"], "lexicons[0].path",
                           "../a/data/lexicons/first_names.jsonl")


def test_symlinks_zip_archives_urls_and_the_data_dir_under_confinement(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.jsonl").write_text("{}\n")
    with zipfile.ZipFile(outside / "corpus.zip", "w") as zf:
        zf.writestr("s.jsonl", "{}\n")
    spec = demo_copy(tmp_path / "demo")
    data = spec.parent / "data"
    os.symlink(outside / "s.jsonl", data / "link.jsonl")
    (data / "linked").mkdir()
    os.symlink(outside, data / "linked" / "dir")

    def load_with_source(written, data_dir=None):
        spec.write_text(yaml.safe_dump({**yaml.safe_load(DEMO_SPEC.read_text()), "confine_inputs": True,
                                        "sources": [{"name": "s", "format": "jsonl", "path": written}],
                                        "extract": []}))
        return load_spec(str(spec), data_dir=data_dir)

    def refused(written, match):
        with pytest.raises(SpecError, match=match) as e:
            load_with_source(written)
        assert str(spec) in str(e.value) and "'sources[0].path'" in str(e.value)

    out = re.escape(str(outside))
    refused("data/link.jsonl", f"resolves to {out}/s.jsonl, outside")
    refused("data/linked", f"holds a symlink leading outside .*linked/dir -> {out}")
    refused(f"{outside}/corpus.zip!s.jsonl", f"resolves to {out}/corpus.zip, outside")
    refused("gs://bucket/s.jsonl", "is a URL")

    shutil.copy(outside / "corpus.zip", data / "corpus.zip")
    assert load_with_source("data/corpus.zip!s.jsonl").sources[0].path == "data/corpus.zip!s.jsonl"
    assert load_with_source(str(data / "demo" / "qa.jsonl")).sources  # absolute, but inside the spec's folder
    # with --data-dir, relative paths resolve there (the lexicon) and the spec's folder stays allowed (the source)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(data / "lexicons", elsewhere / "data" / "lexicons")
    loaded = load_with_source(str(data / "demo" / "qa.jsonl"), data_dir=str(elsewhere))
    assert loaded.resolve(loaded.lexicons[0].path).startswith(str(elsewhere))


def test_without_confinement_paths_outside_are_read_as_before(tmp_path, capsys):
    shutil.copy(DEMO_SPEC.parent / "data/demo/sentiment.jsonl", tmp_path / "secret.jsonl")
    spec = demo_copy(tmp_path / "a" / "b", with_sentiment_path("../../secret.jsonl"))
    assert load_spec(str(spec)).resolve("../../secret.jsonl") == str(tmp_path / "secret.jsonl")
    code, out, err = build(["build", str(spec), "--out", str(tmp_path / "out"), "--progress", "on"], capsys)
    assert code == 0, err
    import datasets

    rows = datasets.load_dataset(out.strip().splitlines()[-1], "sentiment_gender", split="test")
    assert rows.num_rows > 0
