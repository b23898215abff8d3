"""Ingest: every reader on small real files, zip members, errors that name file and line, the PTransform."""

import json
import zipfile

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.spec import SourceSpec
from schemas.errors import InputError, SpecError
from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest import READERS, IngestSources, read_source, record_position


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def ids(spec, path):
    return [r.record_id for r in read_source(spec, path)]


def bad(records):
    """(file as the spec names it, where, detail) of each malformed record."""
    return [(q.file, q.where(), q.detail) for q in records if isinstance(q, Quarantined) and q.reason == "malformed"]


def test_every_format_is_registered():
    assert {"jsonl", "json", "csv", "tsv", "parquet", "xml", "text"} <= set(READERS)


def test_jsonl_positions_ids_and_location(tmp_path):
    path = write(tmp_path / "qa.jsonl", '{"id": "a", "q": "x"}\n\n{"id": "b", "q": "y"}\n')
    recs = list(read_source(SourceSpec("qa", "jsonl", "qa.jsonl", license="MIT"), path))
    assert [r.record_id for r in recs] == ["1", "3"]  # line numbers; the blank line is skipped
    assert recs[1].location == f"{path}, line 3" and record_position(recs[1]) == 3
    assert recs[0].fields == {"id": "a", "q": "x"} and recs[0].source_license == "MIT"
    assert ids(SourceSpec("qa", "jsonl", "qa.jsonl", id_field="id"), path) == ["a", "b"]


def test_bad_jsonl_lines_are_quarantined_with_file_and_line(tmp_path):
    path = write(tmp_path / "qa.jsonl", '{"a": 1}\n{"a": 3 "b": 4}\n[1, 2]\n{"a": 2}\n')
    out = list(read_source(SourceSpec("qa", "jsonl", "data/qa.jsonl"), path))
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["1", "4"]
    assert bad(out) == [("data/qa.jsonl", "line 2", "not valid JSON: Expecting ',' delimiter (column 9)"),
                        ("data/qa.jsonl", "line 3", "expected a JSON object, got list")]
    # malformed: error stops at the first, naming the file as opened and the line
    with pytest.raises(InputError, match=r"qa\.jsonl, line 2: not valid JSON: Expecting ',' delimiter"):
        list(read_source(SourceSpec("qa", "jsonl", "data/qa.jsonl", options={"malformed": "error"}), path))


def test_missing_id_field_quarantines_the_line(tmp_path):
    path = write(tmp_path / "qa.jsonl", '{"id": "a"}\n{"other": 1}\n')
    out = list(read_source(SourceSpec("qa", "jsonl", "x", id_field="id"), path))
    assert out[0].record_id == "a" and bad(out) == [("x", "line 2", "no value for id field 'id'")]


def test_json_list_at_dotted_path_and_dict_of_records(tmp_path):
    path = write(tmp_path / "doc.json", json.dumps({"data": {"items": [{"t": "a"}, {"t": "b"}, "bare"]}}))
    recs = list(read_source(SourceSpec("d", "json", "x", records="data.items"), path))
    assert [r.record_id for r in recs] == ["0", "1", "2"]
    assert recs[2].fields == {"text": "bare"} and recs[1].location.endswith("record 1")
    path = write(tmp_path / "babi.json", json.dumps({"10": {"q": "Where?"}, "11": {"q": "Who?"}}))
    assert ids(SourceSpec("babi", "json", "x"), path) == ["10", "11"]


def test_json_errors_are_quarantined(tmp_path):
    # records nested in a broken document cannot be reached: the document is set aside, naming the line
    path = write(tmp_path / "bad.json", '{\n  "a": [1,\n  2,,\n]}')
    [q] = list(read_source(SourceSpec("d", "json", "x", records="a"), path))
    assert (q.where(), q.detail.split(" (")[0]) == ("line 3", "not valid JSON: Expecting value")
    path = write(tmp_path / "ok.json", '{"a": 5}')
    [q] = list(read_source(SourceSpec("d", "json", "x", records="b"), path))
    assert q.detail == "no records at 'b': found nothing, not a list or an object"
    # records at the top: each broken one is set aside with its line, the others are read
    path = write(tmp_path / "list.json", '[{"q": "one"},\n {"q": "two",, "x": 1},\n {"q": "th}ree", "n": [1, {"a": 2}]},'
                                         '\n "bare", {"q": "four"]')
    out = list(read_source(SourceSpec("d", "json", "x"), path))
    assert [(r.record_id, r.fields.get("q")) for r in out if isinstance(r, SourceRecord)] == [
        ("0", "one"), ("2", "th}ree"), ("3", None)]
    assert [q[1] for q in bad(out)] == ["line 2", "line 4"]


def test_explode_nested_questions(tmp_path):
    doc = {"p1": {"passage": "Text one.", "qa_pairs": [{"question": "Q1?", "answer": "A1"}, {"question": "Q2?"}]}}
    path = write(tmp_path / "drop.json", json.dumps(doc))
    recs = list(read_source(SourceSpec("drop", "json", "x", options={"explode": "qa_pairs"}), path))
    assert [r.record_id for r in recs] == ["p1.0", "p1.1"]
    assert recs[0].fields == {"passage": "Text one.", "qa_pairs.question": "Q1?", "qa_pairs.answer": "A1"}
    assert record_position(recs[1]) == 0


def test_csv_with_quotes_and_header(tmp_path):
    path = write(tmp_path / "snli.csv", 'premise,hypothesis,label\n"Mary, who sings, left.",She left.,0\nA,B,1\n')
    recs = list(read_source(SourceSpec("snli", "csv", "x"), path))
    assert recs[0].fields == {"premise": "Mary, who sings, left.", "hypothesis": "She left.", "label": "0"}
    assert [r.record_id for r in recs] == ["2", "3"]


def test_csv_bad_rows_are_quarantined_naming_the_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b'a,b,c\n1,2,3\n4,5\n"x"y,2,3\n6,7,8,9\n\xff,1,2\n10,11,12\n')
    out = list(read_source(SourceSpec("s", "csv", "s.csv"), str(path)))
    assert [r.fields["a"] for r in out if isinstance(r, SourceRecord)] == ["1", "10"]
    assert bad(out) == [("s.csv", "line 3", "2 cells, but there are 3 columns (set option missing: empty to accept "
                                            "short rows)"),
                        ("s.csv", "line 4", "not valid csv: ',' expected after '\"'"),
                        ("s.csv", "line 5", "4 cells, but there are 3 columns (set option rest: <field> to collect "
                                            "extra cells)"),
                        ("s.csv", "line 6", "not valid utf-8-sig text")]
    recs = list(read_source(SourceSpec("s", "csv", "x", options={"missing": "empty"}), str(path)))
    assert recs[1].fields == {"a": "4", "b": "5", "c": ""}


def test_tsv_without_header_unquoted_and_ragged(tmp_path):
    path = write(tmp_path / "re.tsv", 'born in\tWhere was "XXX" born?\tAda\tParis\nwork\tWho?\tBo\tNYC\textra1\textra2\n')
    opts = {"header": False, "columns": ["relation", "question", "subject", "answer"], "rest": "more"}
    recs = list(read_source(SourceSpec("re", "tsv", "x", options=opts), path))
    assert recs[0].fields["question"] == 'Where was "XXX" born?'  # quotes are text in TSV
    assert recs[0].fields["more"] == [] and recs[1].fields["more"] == ["extra1", "extra2"]
    with pytest.raises(SpecError, match="option columns must name the fields"):
        list(read_source(SourceSpec("re", "tsv", "x", options={"header": False}), path))


def test_custom_delimiter(tmp_path):
    path = write(tmp_path / "semi.csv", "a;b\n1;2\n")
    assert next(read_source(SourceSpec("s", "csv", "x", options={"delimiter": ";"}), path)).fields == {"a": "1", "b": "2"}


def test_parquet_rows(tmp_path):
    path = str(tmp_path / "t.parquet")
    pq.write_table(pa.table({"id": ["x", "y", "z"], "text": ["one", "two", "three"], "n": [1, 2, 3]}), path)
    recs = list(read_source(SourceSpec("p", "parquet", "x", options={"batch_size": 2}), path))
    assert [r.record_id for r in recs] == ["0", "1", "2"]
    assert recs[2].fields == {"id": "z", "text": "three", "n": 3}
    assert ids(SourceSpec("p", "parquet", "x", id_field="id"), path) == ["x", "y", "z"]
    broken = write(tmp_path / "bad.parquet", "not parquet")
    [q] = list(read_source(SourceSpec("p", "parquet", "x"), broken))
    assert q.reason == "malformed" and q.detail.startswith("not a readable Parquet file from row 0")


XML = """<?xml version="1.0"?>
<data>
  <instance id="0" scenario="baking">
    <text>Mary baked bread.</text>
    <questions>
      <question id="0" text="What did she bake?"><answer correct="True" text="bread"/><answer correct="False" text="cake"/></question>
      <question id="1" text="Who baked?"><answer correct="True" text="Mary"/></question>
    </questions>
  </instance>
  <instance id="1" scenario="rain"><text>It rained.</text><questions/></instance>
</data>
"""


def test_xml_elements_to_fields_and_explode(tmp_path):
    path = write(tmp_path / "mc.xml", XML)
    recs = list(read_source(SourceSpec("mc", "xml", "x", records="instance", id_field="id"), path))
    assert [r.record_id for r in recs] == ["0", "1"]
    assert recs[0].fields["scenario"] == "baking" and recs[0].fields["text"] == "Mary baked bread."
    qs = list(read_source(SourceSpec("mc", "xml", "x", records="instance", options={"explode": "questions.question",
                                                                                     "limit": 2}), path))
    assert [q.record_id for q in qs] == ["0.0", "0.1"]
    assert qs[0].fields["question.text"] == "What did she bake?"
    assert qs[0].fields["question.answer"][1] == {"correct": "False", "text": "cake"}
    assert qs[0].fields["text"] == "Mary baked bread."  # the passage repeats in every question


def test_xml_parse_error_quarantines_the_element_and_reads_on(tmp_path):
    path = write(tmp_path / "bad.xml", XML.replace('<text>It rained.</text>', '<text>It & rained.</text>')
                 .replace('<instance id="1"', '<instance id="9"><text>unclosed</text>\n  <instance id="1"'))
    out = list(read_source(SourceSpec("mc", "xml", "x", records="instance", id_field="id"), path))
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["0"]
    assert bad(out) == [("x", "line 10", "not valid XML: <instance> is not closed"),
                        ("x", "line 11", "not valid XML: not well-formed (invalid token)")]
    path = write(tmp_path / "bad2.xml", "<data>\n<instance>\n</data>\n")
    with pytest.raises(SpecError, match="needs 'records'"):
        list(read_source(SourceSpec("mc", "xml", "x"), path))


def test_text_lines(tmp_path):
    path = write(tmp_path / "s.txt", "Mary was late.\n\nShe said sorry.\n")
    recs = list(read_source(SourceSpec("s", "text", "x"), path))
    assert [(r.record_id, r.fields["text"]) for r in recs] == [("1", "Mary was late."), ("3", "She said sorry.")]


def test_bad_utf8_quarantines_the_line(tmp_path):
    path = tmp_path / "b.txt"
    path.write_bytes(b"fine\nbad \xff byte\nfine too\n")
    out = list(read_source(SourceSpec("s", "text", "b.txt"), str(path)))
    assert [r.record_id for r in out if isinstance(r, SourceRecord)] == ["1", "3"]
    assert bad(out) == [("b.txt", "line 2", "not valid utf-8-sig text: invalid start byte")]


def test_zip_members(tmp_path):
    archive = tmp_path / "corpus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/qa.jsonl", '{"q": "one"}\n{"q": "two"}\n{"q": \n')
        zf.writestr("inner/s.csv", "a,b\n1,2\n")
        buf = pa.BufferOutputStream()
        pq.write_table(pa.table({"t": ["p"]}), buf)
        zf.writestr("t.parquet", buf.getvalue().to_pybytes())
    member = f"{archive}!inner/qa.jsonl"
    it = read_source(SourceSpec("z", "jsonl", "x"), member)
    assert next(it).fields == {"q": "one"}
    assert [q[1] for q in bad(it)] == ["line 3"]
    with pytest.raises(InputError, match=r"corpus\.zip!inner/qa\.jsonl, line 3: not valid JSON"):
        list(read_source(SourceSpec("z", "jsonl", "x", options={"malformed": "error"}), member))
    assert next(read_source(SourceSpec("z", "csv", "x"), f"{archive}!inner/s.csv")).fields == {"a": "1", "b": "2"}
    assert next(read_source(SourceSpec("z", "parquet", "x"), f"{archive}!t.parquet")).fields == {"t": "p"}
    with pytest.raises(InputError, match="no member 'nope.jsonl'"):
        list(read_source(SourceSpec("z", "jsonl", "x"), f"{archive}!nope.jsonl"))


def test_missing_file_unknown_format_and_option(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(read_source(SourceSpec("s", "jsonl", "x"), str(tmp_path / "absent.jsonl")))
    with pytest.raises(SpecError, match="unknown format 'yaml'"):
        read_source(SourceSpec("s", "yaml", "x"), "x")
    with pytest.raises(SpecError, match="option.*delimitr.*not understood"):
        read_source(SourceSpec("s", "csv", "x", options={"delimitr": ";"}), "x")


def test_ingest_sources_pipeline(tmp_path):
    qa = write(tmp_path / "qa.jsonl", '{"id": "q1", "t": "a"}\n{"id": "q2", "t": "b"}\n')
    sent = write(tmp_path / "s.csv", "text,label\nHi,positive\n")
    sources = [(SourceSpec("qa", "jsonl", "qa.jsonl", id_field="id"), qa), (SourceSpec("sent", "csv", "s.csv"), sent)]
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | IngestSources(sources)
        assert_that(out.quarantined, equal_to([]), label="none quarantined")
        out = out.records
        assert_that(out | "Key" >> beam.Map(lambda r: (r["source_dataset"], r["record_id"])),
                    equal_to([("qa", "q1"), ("qa", "q2"), ("sent", "2")]), label="ids")
        assert_that(out, equal_to([r.to_dict() for s, path in sources for r in read_source(s, path)]),
                    label="records")
