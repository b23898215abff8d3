"""``read_source``: dispatch a SourceSpec to its format's reader, then the common options and the
task mapping; ``expand_paths``: a glob path as one source per file.

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

import glob
import importlib
import itertools
import os
from dataclasses import replace
from typing import Iterator

from schemas.errors import InputError, SpecError
from schemas.quarantine import MALFORMED, Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import (READER_OPTIONS, READERS, explode, oversized, record_byte_limit,
                                    record_bytes_over, record_unit, record_position)
from transforms.ingest.combine import joined, stacked
from transforms.ingest.mapping import map_record

GLOB_CHARS = "*?["


def _size_checked(records: Iterator[SourceRecord | Quarantined], spec,
                  limit: int) -> Iterator[SourceRecord | Quarantined]:
    for rec in records:
        size = None if isinstance(rec, Quarantined) else record_bytes_over(rec.fields, limit)
        yield rec if size is None else oversized(spec, record_unit(rec), record_position(rec), size, limit,
                                                 rec.record_id)


def _reader(spec):
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
    return reader


def _read_checked(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """The reader's records, those over ``max_record_bytes`` quarantined."""
    limit = record_byte_limit(spec)
    records = _reader(spec)(spec, path)
    return _size_checked(records, spec, limit) if limit else records


def _strict(records: Iterator[SourceRecord | Quarantined], spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    for rec in records:
        if isinstance(rec, Quarantined) and rec.reason == MALFORMED:
            where = path if rec.file in ("", spec.path) else rec.file
            raise InputError(f"{where}, {rec.where()}: {rec.detail}")
        yield rec


def read_source(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """The records of one source, in file order, and those quarantined (too big, or malformed).

    Common options: ``join`` and ``stack`` (``transforms.ingest.combine``), ``explode`` (a list
    field to flatten into one record per item), ``limit`` (keep the first N records,
    quarantined ones included, after exploding), ``encoding`` (default utf-8),
    ``max_record_bytes`` (a record whose values take more UTF-8 bytes is quarantined, before
    exploding; default 1 MiB, 0 for no limit), ``malformed`` (``quarantine``, the default, or
    ``error``: the first malformed record stops the run with an InputError naming file and line).
    A spec with ``task`` maps each record to the task's fields (``transforms.ingest.mapping``).
    """
    how = spec.options.get("malformed", "quarantine")
    if how not in ("quarantine", "error"):
        raise SpecError(f"source {spec.name!r}: option malformed must be quarantine or error, not {how!r}")
    if spec.options.get("join"):
        _reader(replace(spec, format=spec.options["join"].get("format", ""), options={}))
    records = _read_checked(spec, path)
    if spec.options.get("join"):
        records = joined(records, spec, path, _read_checked)
    if spec.options.get("stack"):
        records = stacked(records, spec)
    if spec.options.get("explode"):
        records = explode(records, spec.options["explode"], spec)
    if spec.task:
        records = (r if isinstance(r, Quarantined) else map_record(r, spec) for r in records)
    if how == "error":
        records = _strict(records, spec, path)
    if spec.options.get("limit") is not None:
        records = itertools.islice(records, int(spec.options["limit"]))
    return records


def expand_paths(spec, resolved: str) -> list[tuple[object, str]]:
    """``[(spec, path)]`` for one source: itself, or one per file a glob path matches, in name order.

    Each file of a glob reads as its own source of the same name, ``path`` the file as
    the spec would write it, its record ids prefixed with its name without extension
    (``task1/0``), so that ids stay unique and stable. A glob that matches nothing is an InputError.
    """
    if not any(c in spec.path for c in GLOB_CHARS) or "://" in resolved:
        return [(spec, resolved)]
    matches = sorted(glob.glob(resolved))
    if not matches:
        raise InputError(f"{spec.path}: no file matches (source {spec.name!r})")
    spec_dir = os.path.dirname(spec.path)
    out = []
    for m in matches:
        name = os.path.basename(m)
        out.append((replace(spec, path=os.path.join(spec_dir, name) if spec_dir else name,
                            id_prefix=f"{spec.id_prefix}{os.path.splitext(name)[0]}/"), m))
    return out
