"""JSON Lines: one JSON object per line; blank lines are skipped.

A line longer than the source's ``max_record_bytes`` is quarantined by its raw size,
before it is decoded or parsed; a line that is not a JSON object is quarantined as malformed.

The demo corpus the default spec reads:

>>> import os, configs
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> path = os.path.join(os.path.dirname(configs.__file__), "data", "demo", "qa.jsonl")
>>> first = next(read_source(SourceSpec("demo_qa", "jsonl", "data/demo/qa.jsonl", id_field="id"), path))
>>> first.record_id, first.fields["question"]
('qa-01', 'Where does Mary ride the bicycle?')
"""

from __future__ import annotations

from typing import Iterator

from schemas.records import SourceRecord
from schemas.quarantine import Quarantined
from transforms.ingest.base import (BadLine, OversizedLine, iter_json_objects, make_record, malformed, oversized,
                                    record_byte_limit, register_reader)


@register_reader("jsonl")
def read_jsonl(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """Each non-blank line is a record; its position is its (1-based) line number."""
    limit = record_byte_limit(spec)
    for n, obj in iter_json_objects(path, spec.options.get("encoding", "utf-8-sig"), max_bytes=limit, tolerant=True):
        if isinstance(obj, OversizedLine):
            yield oversized(spec, "line", n, obj.size, limit)
        elif isinstance(obj, BadLine):
            yield malformed(spec, "line", n, obj.detail)
        else:
            yield make_record(spec, path, "line", n, obj)
