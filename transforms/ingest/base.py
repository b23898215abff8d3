"""The reader registry and what every reader shares: opening paths, records, errors.

A reader is ``fn(spec, path) -> Iterator[SourceRecord | Quarantined]``, registered
by format name. A record the reader cannot read (a line that is not JSON, a row
with the wrong number of cells, no value for the id field) comes out as a
``Quarantined`` entry with reason ``malformed``, its file and position and what is
wrong (``malformed(...)``), and the reader goes on with the next one.

Paths may be local, a URL Beam's filesystems know (``gs://…``), or a zip member
written ``archive.zip!inner/file.jsonl``. ``read_source`` quarantines any record over the source's ``max_record_bytes``; a line-based reader checks a line's
raw length before it parses it (``iter_lines(..., max_bytes=)``), so a huge line is
never built into an object.

>>> @register_reader("upper-lines")
... def _read_upper(spec, path):
...     with open_text(path) as f:
...         for n, line in enumerate(f, 1):
...             yield make_record(spec, path, "line", n, {"text": line.upper().rstrip()})
>>> "upper-lines" in READERS
True
>>> _ = READERS.pop("upper-lines")
"""

from __future__ import annotations

import json

import io
import re
import zipfile
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, NamedTuple

from schemas import storage
from schemas.errors import InputError, SpecError
from schemas.quarantine import DEFAULT_MAX_RECORD_BYTES, MALFORMED, MAX_RECORD_BYTES, Quarantined
from schemas.records import SourceRecord

Reader = Callable[..., Iterator[SourceRecord]]

#: format name -> reader. Other modules add formats with ``@register_reader``.
READERS: dict[str, Reader] = {}
#: format name -> the ``SourceSpec.options`` keys its reader understands
READER_OPTIONS: dict[str, frozenset[str]] = {}
#: options every format understands (applied by ``read_source`` after the reader)
COMMON_OPTIONS = frozenset({"explode", "limit", "encoding", MAX_RECORD_BYTES, "malformed", "join", "stack"})

ZIP_SEP = "!"
_POSITION = re.compile(r", (line|record|row) (\d+)(?:, item \d+)?$")
_CHUNK = 1 << 16  # how much of an over-long line is held at once while it is skipped


def register_reader(name: str, options: tuple[str, ...] = ()) -> Callable[[Reader], Reader]:
    """Register ``fn(spec, path)`` as the reader of format ``name``.

    ``options`` lists the ``SourceSpec.options`` keys it reads, so a misspelt option
    is an error instead of being ignored. Registering a second reader under one name is an error.
    """
    def deco(fn: Reader) -> Reader:
        if name in READERS and READERS[name] is not fn:
            raise ValueError(f"a reader for format {name!r} is already registered ({READERS[name].__module__})")
        READERS[name] = fn
        READER_OPTIONS[name] = frozenset(options) | COMMON_OPTIONS
        return fn
    return deco


def split_zip(path: str) -> tuple[str, str | None]:
    """``"a.zip!dir/f.jsonl"`` -> ``("a.zip", "dir/f.jsonl")``; other paths -> ``(path, None)``."""
    if ZIP_SEP in path:
        archive, member = path.split(ZIP_SEP, 1)
        if archive.lower().endswith(".zip"):
            return archive, member
    return path, None


@contextmanager
def open_binary(path: str) -> Iterator[io.BufferedIOBase]:
    """Open a local path, a Beam filesystem URL or a zip member for binary reading."""
    archive, member = split_zip(path)
    try:
        if member is not None:
            with storage.open_read(archive) as raw:
                # zipfile needs a seekable stream; remote files are read into memory first
                stream = raw if raw.seekable() else io.BytesIO(raw.read())
                with zipfile.ZipFile(stream) as zf:
                    try:
                        handle = zf.open(member)
                    except KeyError:
                        names = ", ".join(sorted(zf.namelist())[:10])
                        raise InputError(f"{path}: no member {member!r} in {archive} (it has: {names})") from None
                    with handle:
                        yield handle
        else:
            with storage.open_read(path) as f:
                yield f
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except zipfile.BadZipFile as e:
        raise InputError(f"{path}: not a zip archive: {e}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None


@contextmanager
def open_text(path: str, encoding: str = "utf-8-sig", newline: str | None = None,
              errors: str = "strict") -> Iterator[io.TextIOBase]:
    """Open ``path`` (see :func:`open_binary`) as text; a BOM is dropped by default.

    ``errors="surrogateescape"`` keeps undecodable bytes as lone surrogates (``has_bad_bytes``),
    so a reader can set aside the one record that holds them and read on."""
    with open_binary(path) as raw:
        yield io.TextIOWrapper(raw, encoding=encoding, newline=newline, errors=errors)


def has_bad_bytes(texts) -> bool:
    """Whether any of the texts holds bytes that did not decode (surrogate-escaped)."""
    return any(any("\udc80" <= c <= "\udcff" for c in t) for t in texts)


class OversizedLine(NamedTuple):
    """A line longer than the reader's byte limit: only its size was kept, never its text."""

    size: int  # bytes, without the line end


class BadLine(NamedTuple):
    """A line that could not be read (undecodable bytes, not JSON …): what is wrong, never its text."""

    detail: str


def _line_end(tail: bytes) -> int:
    return 2 if tail.endswith(b"\r\n") else 1 if tail.endswith(b"\n") else 0


def _bounded_lines(raw, max_bytes: int | None) -> Iterator[bytes | OversizedLine]:
    """Each line's bytes (line end included), or an OversizedLine for one over ``max_bytes``.

    An over-long line is read in chunks and dropped as it goes, so a 50 MB line never
    becomes one Python object.
    """
    while True:
        # max_bytes of text plus a two-byte line end still count as one complete line
        data = raw.readline(max_bytes + 2) if max_bytes else raw.readline()
        if not data:
            return
        if not max_bytes:
            yield data
            continue
        size = len(data) - _line_end(data)
        if data.endswith(b"\n") or len(data) < max_bytes + 2:
            yield OversizedLine(size) if size > max_bytes else data
            continue
        total, tail = len(data), data[-2:]
        while not tail.endswith(b"\n"):
            chunk = raw.readline(_CHUNK)
            if not chunk:
                break
            total, tail = total + len(chunk), (tail + chunk)[-2:]
        yield OversizedLine(total - _line_end(tail))


def iter_lines(path: str, encoding: str = "utf-8-sig", max_bytes: int | None = None,
               tolerant: bool = False) -> Iterator[tuple[int, str | OversizedLine | BadLine]]:
    """``(line number, text)`` per line, without the line end.

    Undecodable bytes are an InputError naming the line, or with ``tolerant`` a BadLine.
    With ``max_bytes``, a longer line comes as ``(line number, OversizedLine)``, its text unread.
    """
    with open_binary(path) as raw:
        for n, data in enumerate(_bounded_lines(raw, max_bytes), 1):
            if isinstance(data, OversizedLine):
                yield n, data
                continue
            try:
                text = data.decode(encoding if n == 1 else encoding.replace("-sig", ""))
            except UnicodeDecodeError as e:
                yield n, _bad(path, n, f"not valid {encoding} text: {e.reason}", tolerant)
                continue
            yield n, text.rstrip("\r\n")


def _bad(path: str, n: int, detail: str, tolerant: bool) -> BadLine:
    if not tolerant:
        raise InputError(f"{path}, line {n}: {detail}")
    return BadLine(detail)


def iter_json_objects(path: str, encoding: str = "utf-8-sig", max_bytes: int | None = None,
                      tolerant: bool = False) -> Iterator[tuple[int, dict | OversizedLine | BadLine]]:
    """``(line number, object)`` per non-blank line of a JSON Lines file.

    A line that is not JSON, or not an object, is an InputError naming file and line, or
    with ``tolerant`` a BadLine saying why. With ``max_bytes``, a longer line comes as an
    OversizedLine, never parsed.
    """
    for n, line in iter_lines(path, encoding, max_bytes, tolerant):
        if isinstance(line, (OversizedLine, BadLine)):
            yield n, line
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, _bad(path, n, f"not valid JSON: {e.msg} (column {e.colno})", tolerant)
            continue
        if not isinstance(obj, dict):
            yield n, _bad(path, n, f"expected a JSON object, got {type(obj).__name__}", tolerant)
            continue
        yield n, obj


def record_byte_limit(spec) -> int:
    """The source's ``max_record_bytes`` option (0: no limit), by default 1 MiB."""
    value = spec.options.get(MAX_RECORD_BYTES, DEFAULT_MAX_RECORD_BYTES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"source {spec.name!r}: option {MAX_RECORD_BYTES} must be a whole number of bytes "
                        f"(0 for no limit), not {value!r}")
    return value


def oversized(spec, unit: str, position: int, size: int, limit: int, record_id: str = "") -> Quarantined:
    """The quarantine entry of a record over the source's byte limit."""
    return Quarantined(spec.name, unit, position, MAX_RECORD_BYTES, size, limit, record_id, file=spec.path)


def malformed(spec, unit: str, position: int, detail: str, record_id: str = "") -> Quarantined:
    """The quarantine entry of a record that cannot be read, ``detail`` saying why (one line, no record text)."""
    return Quarantined(spec.name, unit, position, MALFORMED, 0, 0, record_id, detail=detail, file=spec.path)


def _leaves(value: Any) -> Iterator[str | bytes]:
    if isinstance(value, (str, bytes)):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif value is not None:
        yield str(value)


def record_bytes_over(fields: Mapping[str, Any], limit: int) -> int | None:
    """The UTF-8 size of a record's values when it is over ``limit`` bytes, else None.

    >>> record_bytes_over({"a": "é" * 3, "b": [1, 2]}, 8), record_bytes_over({"a": "é" * 3}, 6)
    (None, None)
    >>> record_bytes_over({"a": "é" * 3, "b": [10]}, 7)
    8
    """
    leaves = list(_leaves(fields))
    if 4 * sum(map(len, leaves)) <= limit:  # UTF-8 takes at most 4 bytes a character
        return None
    size = sum(len(s) if isinstance(s, bytes) else len(s.encode("utf-8", "surrogatepass")) for s in leaves)
    return size if size > limit else None


def make_record(spec, path: str, unit: str, position: int, fields: Mapping[str, Any],
                record_id: str | None = None) -> SourceRecord | Quarantined:
    """A SourceRecord whose id is ``spec.id_prefix`` and ``spec.id_field``'s value, else ``record_id``,
    else the position; a record without a value for ``id_field`` is quarantined as malformed.

    ``unit`` ("line", "record", "row") and ``position`` make the record's location,
    ``"data/qa.jsonl, line 12"``, which errors and provenance quote.
    """
    location = f"{path}, {unit} {position}"
    if spec.id_field:
        value = get_path(fields, spec.id_field)
        if value is None or value == "":
            return malformed(spec, unit, position, f"no value for id field {spec.id_field!r}")
        rid = str(value)
    else:
        rid = record_id if record_id is not None else str(position)
    return SourceRecord(source_dataset=spec.name, source_split=spec.split, record_id=spec.id_prefix + rid,
                        fields=dict(fields), source_license=spec.license, location=location)


def record_position(record: SourceRecord | Mapping[str, Any]) -> int:
    """The record's position in its file (the number in its location), 0 when unknown.

    Exploded children share their parent's position (their ids still differ).

    >>> record_position({"location": "qa.jsonl, line 12"}), record_position({"location": "d.json, record 3, item 1"})
    (12, 3)
    """
    location = record["location"] if isinstance(record, Mapping) else record.location
    m = _POSITION.search(location or "")
    return int(m.group(2)) if m else 0


def record_unit(record: SourceRecord) -> str:
    """How the record's position counts (``line``, ``record``, ``row``), ``record`` when unknown."""
    m = _POSITION.search(record.location or "")
    return m.group(1) if m else "record"


def get_path(data: Any, path: str) -> Any:
    """Look up ``path`` in nested dicts/lists: an exact key first, then dotted steps.

    >>> get_path({"a": {"b": [10, 20]}, "x.y": 1}, "a.b.1"), get_path({"x.y": 1}, "x.y")
    (20, 1)
    """
    if isinstance(data, Mapping) and path in data:
        return data[path]
    if isinstance(data, (list, tuple)) and path.isdigit():
        i = int(path)
        return data[i] if i < len(data) else None
    parts = path.split(".")
    # the longest key prefix that exists wins, so keys containing dots still resolve
    for cut in range(len(parts) - 1, 0, -1):
        head, rest = ".".join(parts[:cut]), ".".join(parts[cut:])
        if isinstance(data, Mapping) and head in data:
            return get_path(data[head], rest)
        if isinstance(data, (list, tuple)) and head.isdigit() and int(head) < len(data):
            return get_path(data[int(head)], rest)
    return None


def explode(records: Iterator[SourceRecord | Quarantined], field: str,
            spec=None) -> Iterator[SourceRecord | Quarantined]:
    """One record per item of the list at ``field``; item keys become ``<last segment>.<key>``.

    Used for corpora that nest many questions under one passage (DROP, DuoRC, MCScript):
    the parent's other fields repeat in every child, and the child id is ``<parent id>.<i>``.
    A quarantined record passes through as it is; one without the list is quarantined.
    """
    prefix = field.rsplit(".", 1)[-1]
    for rec in records:
        if isinstance(rec, Quarantined):
            yield rec
            continue
        items = get_path(rec.fields, field)
        if isinstance(items, Mapping):
            items = [items]  # one child element in XML, one item in JSON
        if not isinstance(items, (list, tuple)):
            what = "no field" if items is None else "not a list at field"
            yield Quarantined(rec.source_dataset, record_unit(rec), record_position(rec), MALFORMED, 0, 0,
                              rec.record_id, detail=f"{what} {field!r} to explode",
                              file=spec.path if spec is not None else _file_of(rec))
            continue
        top = field.split(".", 1)[0]
        base = {k: v for k, v in rec.fields.items() if k != top and k != field}
        for i, item in enumerate(items):
            child = dict(base)
            if isinstance(item, Mapping):
                child.update({f"{prefix}.{k}": v for k, v in item.items()})
            else:
                child[prefix] = item
            yield SourceRecord(rec.source_dataset, rec.source_split, f"{rec.record_id}.{i}", child,
                               rec.source_license, f"{rec.location}, item {i}", rec.task)


def _file_of(rec: SourceRecord) -> str:
    """The file part of a record's location (``"qa.jsonl, line 3"`` -> ``"qa.jsonl"``)."""
    m = _POSITION.search(rec.location or "")
    return rec.location[:m.start()] if m else rec.location
