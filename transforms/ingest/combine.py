"""Common reshaping options of ``read_source``: ``join`` a line-aligned side file, ``stack`` numbered columns.

- ``join: {path, format, options, into}``: the side file (a path relative to the source
  file's folder) is read with its own format and options; its n-th record's fields go
  into the n-th record of the source under ``into`` (default: the side file's stem).
  MCTest keeps its answers in ``mc500.test.ans`` beside ``mc500.test.tsv``. A record
  either file has and the other has not is quarantined as malformed.
- ``stack: {into, count, start, fields}``: numbered columns become a list of ``count``
  dicts under ``into``; each of ``fields`` (item key -> column name with ``{i}``, or a
  ``join``ed path) is read for i = start, start+1 … (MCTest's four questions per story).
  Usually followed by ``explode: <into>``.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from typing import Any, Iterator, Mapping

from schemas.errors import SpecError
from schemas.quarantine import MALFORMED, Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import get_path, record_position, record_unit, split_zip


def _side_path(path: str, rel: str) -> str:
    archive, member = split_zip(path)
    if member is not None:
        return f"{archive}!{os.path.join(os.path.dirname(member), rel)}"
    if "://" in path:
        return path.rsplit("/", 1)[0] + "/" + rel
    return os.path.join(os.path.dirname(path), rel)


def side_spec(spec, join: Mapping[str, Any]):
    """The SourceSpec of a ``join`` option's side file (same name, the side file as its path)."""
    if not isinstance(join, Mapping) or not join.get("path") or not join.get("format"):
        raise SpecError(f"source {spec.name!r}: option join needs path and format")
    rel = join["path"]
    spec_dir = spec.path.rsplit("/", 1)[0] + "/" if "/" in spec.path else ""
    return replace(spec, format=join["format"], path=spec_dir + rel, options=dict(join.get("options") or {}),
                   id_field="", id_prefix="", task="", mapping=None, records=join.get("records", ""))


def _unpaired(rec: SourceRecord, spec, path_named: str, detail: str) -> Quarantined:
    return Quarantined(spec.name, record_unit(rec), record_position(rec), MALFORMED, 0, 0, rec.record_id,
                       detail=detail, file=path_named)


def joined(records: Iterator[SourceRecord | Quarantined], spec, path: str,
           read) -> Iterator[SourceRecord | Quarantined]:
    """Records of the source with the side file's fields under ``into``, paired by order.

    Pairing is by entry, quarantined ones included, so one malformed line on either side
    sets aside its pair and never shifts the pairs after it. ``read(spec, path)`` reads the side file.
    """
    join = spec.options["join"]
    side = side_spec(spec, join)
    into = join.get("into") or os.path.splitext(os.path.basename(join["path"]))[0]
    for main, other in itertools.zip_longest(records, read(side, _side_path(path, join["path"]))):
        if isinstance(main, Quarantined) or isinstance(other, Quarantined):
            yield from (q for q in (main, other) if isinstance(q, Quarantined))
            if isinstance(main, SourceRecord):
                yield _unpaired(main, spec, spec.path, f"its line of {side.path} is malformed")
        elif main is None:
            yield _unpaired(other, side, side.path, f"a record of {side.path} with no record of {spec.path} to join")
        elif other is None:
            yield _unpaired(main, spec, spec.path, f"no record of {side.path} to join (it has fewer records)")
        else:
            yield replace(main, fields={**main.fields, into: dict(other.fields)})


def stacked(records: Iterator[SourceRecord | Quarantined], spec) -> Iterator[SourceRecord | Quarantined]:
    """Records with the ``stack`` option's numbered columns gathered into a list of dicts."""
    st = spec.options["stack"]
    if not isinstance(st, Mapping) or not st.get("into") or not st.get("count") or not st.get("fields"):
        raise SpecError(f"source {spec.name!r}: option stack needs into, count and fields")
    start, count, into = int(st.get("start", 1)), int(st["count"]), st["into"]
    used = {tpl.format(i=i) for tpl in st["fields"].values() for i in range(start, start + count)}
    for rec in records:
        if isinstance(rec, Quarantined):
            yield rec
            continue
        items = [{key: get_path(rec.fields, tpl.format(i=i)) for key, tpl in st["fields"].items()}
                 for i in range(start, start + count)]
        rest = {k: v for k, v in rec.fields.items() if k not in used}
        yield replace(rec, fields={**rest, into: items})
