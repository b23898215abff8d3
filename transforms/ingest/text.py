"""Plain text: one record per non-blank line, in the field ``text`` (option ``field``).

>>> # sentences.txt: "Mary was late.\\nShe said sorry."
>>> # read_source(SourceSpec("s", "text", "sentences.txt"), path)  -> {"text": "Mary was late."}, …
"""

from __future__ import annotations

from typing import Iterator

from schemas.records import SourceRecord
from schemas.quarantine import Quarantined
from transforms.ingest.base import OversizedLine, iter_lines, make_record, oversized, record_byte_limit, register_reader


@register_reader("text", options=("field", "keep_blank"))
def read_text(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """Lines as records; positions are (1-based) line numbers. A line over ``max_record_bytes`` is
    quarantined by its raw size."""
    field = spec.options.get("field", "text")
    keep_blank = bool(spec.options.get("keep_blank", False))
    limit = record_byte_limit(spec)
    for n, line in iter_lines(path, spec.options.get("encoding", "utf-8-sig"), max_bytes=limit):
        if isinstance(line, OversizedLine):
            yield oversized(spec, "line", n, line.size, limit)
        elif line.strip() or keep_blank:
            yield make_record(spec, path, "line", n, {field: line})
