"""JSON Lines: one JSON object per line; blank lines are skipped.

>>> # data/qa.jsonl: {"id": "q1", "passage": "Mary was late.", "question": "Who was late?"}
>>> # read_source(SourceSpec("qa", "jsonl", "data/qa.jsonl", id_field="id"), "data/qa.jsonl")
"""

from __future__ import annotations

from typing import Iterator

from schemas.records import SourceRecord
from transforms.ingest.base import iter_json_objects, make_record, register_reader


@register_reader("jsonl")
def read_jsonl(spec, path: str) -> Iterator[SourceRecord]:
    """Each non-blank line is a record; its position is its (1-based) line number."""
    for n, obj in iter_json_objects(path, spec.options.get("encoding", "utf-8-sig")):
        yield make_record(spec, path, "line", n, obj)
