"""CSV and TSV: one record per row, the header (or ``columns``) naming the fields.

Options (``SourceSpec.options``):

- ``delimiter``: default ``","`` for csv, ``"\\t"`` for tsv;
- ``header``: whether the first row names the columns (default true);
- ``columns``: field names; required without a header, renames the header's columns with one;
- ``quoting``: ``"minimal"`` (csv default) or ``"none"`` (tsv default: TSV files rarely
  quote, and a stray ``"`` in a sentence must not swallow the rest of the file);
- ``missing``: ``"error"`` (default) or ``"empty"`` — what a short row's missing cells become;
- ``rest``: a field name that collects, as a list, the cells beyond the last column
  (ragged files such as the relation-extraction corpus, whose answers trail the row);
  without it, extra cells are an error;
- ``skip_lines``: lines to skip before the header (comments, titles).

>>> import os, tempfile
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "dev.tsv")
>>> with open(path, "w", encoding="utf-8") as f:
...     _ = f.write("index\\tsentence1\\tsentence2\\tlabel\\n7\\tMary left.\\tSomeone left.\\t1\\n")
>>> [r] = read_source(SourceSpec("wnli", "tsv", "wnli/dev.tsv", id_field="index"), path)
>>> r.record_id, dict(r.fields)
('7', {'index': '7', 'sentence1': 'Mary left.', 'sentence2': 'Someone left.', 'label': '1'})
>>> tmp.cleanup()
"""

from __future__ import annotations

import csv
from typing import Iterator

from schemas.errors import InputError, SpecError
from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import has_bad_bytes, make_record, malformed, open_text, register_reader

_OPTIONS = ("delimiter", "header", "columns", "quoting", "missing", "rest", "skip_lines")
_QUOTING = {"minimal": csv.QUOTE_MINIMAL, "none": csv.QUOTE_NONE}

# CSV cells in real corpora (DROP passages, GAP texts) exceed the 128 KiB default
csv.field_size_limit(1 << 30)


def read_delimited(spec, path: str, *, delimiter: str, quoting: str) -> Iterator[SourceRecord | Quarantined]:
    """Rows as records; positions are the (1-based) file line where the row starts.

    A row with the wrong number of cells, broken quoting or undecodable bytes is
    quarantined as malformed with its line; the rows after it are read as usual.
    """
    opts = spec.options
    quoting = opts.get("quoting", quoting)
    if quoting not in _QUOTING:
        raise SpecError(f"source {spec.name!r}: option quoting must be one of {', '.join(_QUOTING)}, not {quoting!r}")
    header = opts.get("header", True)
    columns = list(opts.get("columns") or [])
    if not header and not columns:
        raise SpecError(f"source {spec.name!r}: option header is false, so option columns must name the fields")
    missing = opts.get("missing", "error")
    rest = opts.get("rest") or ""
    encoding = opts.get("encoding", "utf-8-sig")
    with open_text(path, encoding, newline="", errors="surrogateescape") as f:
        skipped = int(opts.get("skip_lines", 0))
        for _ in range(skipped):
            f.readline()
        reader = csv.reader(f, delimiter=opts.get("delimiter", delimiter), quoting=_QUOTING[quoting], strict=True)
        last, rows = 0, 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield malformed(spec, "line", last + 1 + skipped, f"not valid {spec.format}: {e}")
                last = reader.line_num
                continue
            start, last = last + 1, reader.line_num
            line = start + skipped
            rows += 1
            if header and rows == 1:
                names = columns or row
                if columns and len(columns) != len(row):
                    raise InputError(f"{path}, line {line}: the header has {len(row)} columns, "
                                     f"option columns names {len(columns)}")
                columns = [c.strip() for c in names]
                dup = sorted({c for c in columns if columns.count(c) > 1})
                if dup:
                    raise InputError(f"{path}, line {line}: duplicate column name(s) {', '.join(dup)}")
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if has_bad_bytes(row):
                yield malformed(spec, "line", line, f"not valid {encoding} text")
                continue
            extra: list[str] = []
            if len(row) > len(columns):
                if not rest:
                    yield malformed(spec, "line", line, f"{len(row)} cells, but there are {len(columns)} columns "
                                                        f"(set option rest: <field> to collect extra cells)")
                    continue
                row, extra = row[:len(columns)], row[len(columns):]
            if len(row) < len(columns):
                if missing != "empty":
                    yield malformed(spec, "line", line, f"{len(row)} cells, but there are {len(columns)} columns "
                                                        f"(set option missing: empty to accept short rows)")
                    continue
                row = row + [""] * (len(columns) - len(row))
            fields = dict(zip(columns, row))
            if rest:
                fields[rest] = extra
            yield make_record(spec, path, "line", line, fields)


@register_reader("csv", options=_OPTIONS)
def read_csv(spec, path: str) -> Iterator[SourceRecord]:
    """Comma-separated values with quoting (RFC 4180)."""
    return read_delimited(spec, path, delimiter=",", quoting="minimal")


@register_reader("tsv", options=_OPTIONS)
def read_tsv(spec, path: str) -> Iterator[SourceRecord]:
    """Tab-separated values, unquoted by default."""
    return read_delimited(spec, path, delimiter="\t", quoting="none")
