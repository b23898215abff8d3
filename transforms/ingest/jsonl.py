"""JSON Lines: one JSON object per line; blank lines are skipped.

>>> # data/qa.jsonl: {"id": "q1", "passage": "Mary was late.", "question": "Who was late?"}
>>> # read_source(SourceSpec("qa", "jsonl", "data/qa.jsonl", id_field="id"), "data/qa.jsonl")
"""

from __future__ import annotations

import json
from typing import Iterator

from schemas.errors import InputError
from schemas.records import SourceRecord
from transforms.ingest.base import iter_lines, make_record, register_reader


@register_reader("jsonl")
def read_jsonl(spec, path: str) -> Iterator[SourceRecord]:
    """Each non-blank line is a record; its position is its (1-based) line number."""
    for n, line in iter_lines(path, spec.options.get("encoding", "utf-8-sig")):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}, line {n}: not valid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}, line {n}: expected a JSON object, got {type(obj).__name__}")
        yield make_record(spec, path, "line", n, obj)
