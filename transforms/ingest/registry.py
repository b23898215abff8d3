"""``read_source``: dispatch a SourceSpec to its format's reader, then the common options.

>>> from schemas.spec import SourceSpec
>>> # [r.record_id for r in read_source(SourceSpec("qa", "jsonl", "qa.jsonl"), "/data/qa.jsonl")]
"""

from __future__ import annotations

import importlib
import itertools
from typing import Iterator

from schemas.errors import SpecError
from schemas.records import SourceRecord
from transforms.ingest.base import READER_OPTIONS, READERS, explode


def read_source(spec, path: str) -> Iterator[SourceRecord]:
    """The records of one source, in file order.

    Common options: ``explode`` (a list field to flatten into one record per item),
    ``limit`` (keep the first N records, after exploding), ``encoding`` (default utf-8).
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
    records = reader(spec, path)
    if spec.options.get("explode"):
        records = explode(records, spec.options["explode"])
    if spec.options.get("limit") is not None:
        records = itertools.islice(records, int(spec.options["limit"]))
    return records
