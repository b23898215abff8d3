"""``read_source``: dispatch a SourceSpec to its format's reader, then the common options.

Without ``id_field`` a JSON Lines record's id is its line number; ``limit`` keeps the first records:

>>> import os, tempfile
>>> from schemas.spec import SourceSpec
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "qa.jsonl")
>>> with open(path, "w", encoding="utf-8") as f:
...     _ = f.write('{"passage": "Mary was late."}\\n{"passage": "Sam was early."}\\n{"passage": "Ann ran."}\\n')
>>> [r.record_id for r in read_source(SourceSpec("qa", "jsonl", "qa.jsonl", options={"limit": 2}), path)]
['1', '2']
>>> tmp.cleanup()
"""

from __future__ import annotations

import importlib
import itertools
from typing import Iterator

from schemas.errors import SpecError
from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import (READER_OPTIONS, READERS, explode, oversized, record_byte_limit,
                                    record_bytes_over, record_unit, record_position)


def _size_checked(records: Iterator[SourceRecord | Quarantined], spec,
                  limit: int) -> Iterator[SourceRecord | Quarantined]:
    for rec in records:
        size = None if isinstance(rec, Quarantined) else record_bytes_over(rec.fields, limit)
        yield rec if size is None else oversized(spec, record_unit(rec), record_position(rec), size, limit,
                                                 rec.record_id)


def read_source(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """The records of one source, in file order, and those quarantined for their size.

    Common options: ``explode`` (a list field to flatten into one record per item),
    ``limit`` (keep the first N records, quarantined ones included, after exploding),
    ``encoding`` (default utf-8), ``max_record_bytes`` (a record whose values take more
    UTF-8 bytes is quarantined, before exploding; default 1 MiB, 0 for no limit).
    """
    if spec.format not in READERS:
        # readers living in their own module register on import: transforms.ingest.<format>
        try:
            importlib.import_module(f"transforms.ingest.{spec.format}")
        except ModuleNotFoundError as e:
            if e.name != f"transforms.ingest.{spec.format}":
                raise
    reader = READERS.get(spec.format)
    if reader is None:
        raise SpecError(f"source {spec.name!r}: unknown format {spec.format!r}; known: {', '.join(sorted(READERS))}")
    unknown = sorted(set(spec.options) - READER_OPTIONS[spec.format])
    if unknown:
        raise SpecError(f"source {spec.name!r}: option(s) {', '.join(unknown)} not understood by format "
                        f"{spec.format!r}; it takes {', '.join(sorted(READER_OPTIONS[spec.format]))}")
    limit = record_byte_limit(spec)
    records = reader(spec, path)
    if limit:
        records = _size_checked(records, spec, limit)
    if spec.options.get("explode"):
        records = explode(records, spec.options["explode"])
    if spec.options.get("limit") is not None:
        records = itertools.islice(records, int(spec.options["limit"]))
    return records
