"""A malformed record in any source format is quarantined with its file and line; the rest is read.

One file per format, each with good records around one broken one, read together by the
ingest PTransform on the FnApiRunner; then a whole build whose corpus has a broken line.
"""

import json
import shutil
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.cli import main
from pipelines.spec import default_spec_path
from schemas.spec import SourceSpec, TaskMapping
from transforms.ingest import QUARANTINED, RECORDS, IngestSources, expand_paths

QA = TaskMapping(fields={"context": "c", "question": "q"}, answer="a")


def corpora(root: Path) -> list[tuple[SourceSpec, str, int, tuple]]:
    """(spec, path, good records, [(file, unit, position) quarantined]) per format."""
    out = []

    def add(spec, text, good, *where):
        path = root / spec.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        out.append((spec, str(path), good, where))

    add(SourceSpec("jl", "jsonl", "jl/qa.jsonl"), '{"c": "A."}\n{"c": "B.",}\n{"c": "C."}\n', 2,
        ("jl/qa.jsonl", "line", 2))
    add(SourceSpec("js", "json", "js/qa.json"), '{"0": {"c": "A."},\n "1": {"c": "B." "x"},\n "2": {"c": "C."}}', 2,
        ("js/qa.json", "line", 2))
    add(SourceSpec("cs", "csv", "cs/qa.csv"), 'c,q\nA.,Who?\nB.\nC.,Why?\n', 2, ("cs/qa.csv", "line", 3))
    add(SourceSpec("ts", "tsv", "ts/qa.tsv"), 'c\tq\nA.\tWho?\nB.\tx\ty\nC.\tWhy?\n', 2, ("ts/qa.tsv", "line", 3))
    add(SourceSpec("xm", "xml", "xm/qa.xml", records="r"), '<d>\n<r><c>A.</c></r>\n<r><c>B & C</c></r>\n'
        '<r><c>C.</c></r>\n</d>\n', 2, ("xm/qa.xml", "line", 3))
    add(SourceSpec("tx", "text", "tx/qa.txt"), b"A.\nB \xff.\nC.\n", 2, ("tx/qa.txt", "line", 2))
    add(SourceSpec("bl", "blocks", "bl/qa.tsv", options={"head": ["id", "c"], "item_columns": ["q", "a"]}),
        "#1\nA.\nWho?\tA\n\n#2\nB.\nWhy?\tB\textra\n\n#3\nC.\n", 3, ("bl/qa.tsv", "line", 7))
    add(SourceSpec("ma", "jsonl", "ma/qa.jsonl", task="qa", mapping=QA),
        '{"c": "A.", "q": "Who?", "a": "A"}\n{"c": "B.", "a": "B"}\n{"c": "C.", "q": "Why?", "a": "C"}\n', 2,
        ("ma/qa.jsonl", "line", 2))
    add(SourceSpec("jn", "tsv", "jn/main.tsv", options={"header": False, "columns": ["c"], "join": {
        "path": "ans.tsv", "format": "tsv", "options": {"header": False, "columns": ["a"]}}}),
        "A.\nB.\nC.\n", 2, ("jn/ans.tsv", "line", 2), ("jn/main.tsv", "line", 2))  # the pair is set aside
    (root / "jn" / "ans.tsv").write_text("1\n2\tx\n3\n")
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"c": ["A.", "B."]}), buf)
    add(SourceSpec("pq", "parquet", "pq/qa.parquet"), buf.getvalue().to_pybytes()[:-20], 0,
        ("pq/qa.parquet", "row", 0))  # a truncated file: its footer is gone
    (root / "gl").mkdir()
    (root / "gl" / "a.jsonl").write_text('{"c": "A."}\n')
    (root / "gl" / "b.jsonl").write_text('{"c": "B."}\nnot json\n')
    out.append((SourceSpec("gl", "jsonl", "gl/*.jsonl"), str(root / "gl" / "*.jsonl"), 2,
                [("gl/b.jsonl", "line", 2)]))
    return out


def test_a_malformed_record_in_every_format_is_quarantined_and_the_rest_is_read(tmp_path):
    cases = corpora(tmp_path)
    sources = [pair for spec, path, _, _ in cases for pair in expand_paths(spec, path)]
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | IngestSources(sources)
        counts = out[RECORDS] | "BySource" >> beam.Map(lambda d: d["source_dataset"]) | beam.combiners.Count.PerElement()
        where = out[QUARANTINED] | "Where" >> beam.Map(
            lambda q: (q["source"], q["file"], q["unit"], q["position"], q["reason"]))
        assert_that(counts, equal_to([(spec.name, good) for spec, _, good, _ in cases if good]), label="records")
        assert_that(where, equal_to([(spec.name, *w, "malformed") for spec, _, _, ws in cases for w in ws]),
                    label="quarantined")


def test_a_build_with_a_broken_line_completes_and_lists_it(tmp_path, capsys):
    demo = Path(default_spec_path()).parent
    root = tmp_path / "demo"
    shutil.copytree(demo / "data", root / "data", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (root / "spec.yaml").write_text((demo / "default.yaml").read_text())
    qa = root / "data/demo/qa.jsonl"
    lines = qa.read_text().splitlines()
    lines.insert(3, '{"id": "qa-broken", "passage": "Mary left early." "question": "Who left?"}')
    qa.write_text("\n".join(lines) + "\n")
    code = main(["build", str(root / "spec.yaml"), "--out", str(tmp_path / "out"), "--progress", "on"])
    out, err = capsys.readouterr()
    assert code == 0, err
    release = Path(out.strip().splitlines()[-1])
    report = json.loads((release / "quarantine.json").read_text())
    assert report["counts"] == {"malformed": 1} and report["by_source"] == {"demo_qa": 1}
    assert report["records"] == [{"source": "demo_qa", "file": "data/demo/qa.jsonl", "line": 4, "reason": "malformed",
                                  "detail": "not valid JSON: Expecting ',' delimiter (column 51)"}]
    assert "[quarantine] 1 source record set aside, malformed (malformed=1)" in err
    assert "data/demo/qa.jsonl, line 4: not valid JSON" in err
    assert yaml.safe_load((release / "manifest.json").read_text())["version"] == "0.1.0"
