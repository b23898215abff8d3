"""Plain text: one record per non-blank line, in the field ``text`` (option ``field``).

>>> import os, tempfile
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "sentences.txt")
>>> with open(path, "w", encoding="utf-8") as f:
...     _ = f.write("Mary was late.\\n\\nShe said sorry.\\n")
>>> [dict(r.fields) for r in read_source(SourceSpec("s", "text", "sentences.txt"), path)]
[{'text': 'Mary was late.'}, {'text': 'She said sorry.'}]
>>> tmp.cleanup()
"""

from __future__ import annotations

from typing import Iterator

from schemas.records import SourceRecord
from schemas.quarantine import Quarantined
from transforms.ingest.base import (BadLine, OversizedLine, iter_lines, make_record, malformed, oversized,
                                    record_byte_limit, register_reader)


@register_reader("text", options=("field", "keep_blank"))
def read_text(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """Lines as records; positions are (1-based) line numbers. A line over ``max_record_bytes`` is
    quarantined by its raw size, an undecodable one as malformed."""
    field = spec.options.get("field", "text")
    keep_blank = bool(spec.options.get("keep_blank", False))
    limit = record_byte_limit(spec)
    for n, line in iter_lines(path, spec.options.get("encoding", "utf-8-sig"), max_bytes=limit, tolerant=True):
        if isinstance(line, OversizedLine):
            yield oversized(spec, "line", n, line.size, limit)
        elif isinstance(line, BadLine):
            yield malformed(spec, "line", n, line.detail)
        elif line.strip() or keep_blank:
            yield make_record(spec, path, "line", n, {field: line})
