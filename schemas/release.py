"""A release's files: what makes a release directory intact, its JSON files, its file list, its rows digest.

Intact: its manifest seals itself and lists every file in it.
A manifest carries ``manifest_sha256``, the sha256 of its own canonical JSON
(sorted keys, no whitespace, UTF-8) without that key, so an edit by hand (a new
"version") is detected. ``integrity_checks`` compares a release directory with
its manifest and nothing else: the seal, then every listed file's sha256,
bytes and Parquet rows, then everything on disk the manifest does not list
(dotfiles and files outside ``data/`` included). A listed path that is
absolute, contains ``..``, or passes through a symlink is reported and never
opened; only regular files found by walking the release directory are read.

It is cheap (one sha256 pass over the files, Parquet footers only), so ``build``
and ``rebuild`` run it before saying that an existing release is unchanged.

Parquet bytes are identical only for one pyarrow version (the footer records
it), so each config also gets a digest of its rows in a canonical form that
does not depend on the file format: per column, the value lengths and the
concatenated values, streamed in row order (``canonical_rows_digest``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas import __version__
from schemas.arrow_strings import value_bytes
from schemas.errors import InputError
from schemas.ids import file_sha256
from schemas.records import FileEntry

MANIFEST = "manifest.json"
#: What wrote a release, recorded in its manifest: ``validate`` recomputes a release's figures, lint and rows
#: digests only when they were written by other code (or with ``--full``). Bump the version with the lint
#: rules or the figures.
CODE_VERSION = f"biasbench {__version__}; pyarrow {pa.__version__}"
DIGEST_KEY = "manifest_sha256"
_ENTRY_FIELDS = {"path": str, "rows": int, "bytes": int, "sha256": str}


class CorruptManifest(ValueError):
    """manifest.json exists but cannot be read as a manifest: a symlink, not JSON, not an object."""


@dataclass(frozen=True)
class FileCheck:
    """One integrity check of one path of a release; ``problems`` empty when it passed."""

    name: str  # manifest_digest | file_integrity | no_unlisted_files
    path: str
    problems: tuple[str, ...] = ()
    observed: Mapping[str, Any] = field(default_factory=dict)
    expected: Mapping[str, Any] = field(default_factory=dict)


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON, without its own ``manifest_sha256``."""
    body = {k: v for k, v in manifest.items() if k != DIGEST_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_text(manifest: Mapping[str, Any]) -> str:
    """manifest.json as written into a release: sealed (``manifest_sha256`` recomputed), sorted keys."""
    body = {**{k: v for k, v in manifest.items() if k != DIGEST_KEY}, DIGEST_KEY: manifest_digest(manifest)}
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def read_manifest(release_dir: str) -> dict[str, Any]:
    """The parsed manifest.json; FileNotFoundError when absent, CorruptManifest when not a JSON object."""
    path = os.path.join(release_dir, MANIFEST)
    if os.path.islink(path):
        raise CorruptManifest(f"{MANIFEST}: a symlink, not part of a release; not followed")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptManifest(f"{MANIFEST}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise CorruptManifest(f"{MANIFEST}: not a JSON object")
    return manifest


def unsafe_path_reason(rel: Any) -> str | None:
    """Why ``rel`` cannot name a file inside a release, or None when it can."""
    if not isinstance(rel, str) or not rel:
        return "not a path"
    if "\\" in rel or "\x00" in rel:
        return "path has a backslash or NUL"
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return "absolute path, outside the release; not opened"
    parts = rel.split("/")
    if ".." in parts:
        return "path leaves the release ('..'); not opened"
    if any(p in ("", ".") for p in parts):
        return "path is not in normal form"
    return None


def files_on_disk(release_dir: str) -> tuple[dict[str, int], dict[str, str]]:
    """Walk the release without following links: ({relpath: bytes} of regular files, {relpath: why not a file})."""
    regular: dict[str, int] = {}
    strange: dict[str, str] = {}

    def walk_error(err: OSError) -> None:
        strange[os.path.relpath(err.filename, release_dir).replace(os.sep, "/")] = f"cannot be listed: {err.strerror}"

    for base, dirs, names in os.walk(release_dir, onerror=walk_error):
        for name in sorted(dirs):
            full = os.path.join(base, name)
            if os.path.islink(full):  # os.walk does not descend into it; the link itself is a stray
                strange[os.path.relpath(full, release_dir).replace(os.sep, "/")] = "symlink to a directory"
        for name in sorted(names):
            full = os.path.join(base, name)
            rel = os.path.relpath(full, release_dir).replace(os.sep, "/")
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                strange[rel] = "symlink, not a file of the release; not followed"
            elif not stat.S_ISREG(st.st_mode):
                strange[rel] = "not a regular file"
            else:
                regular[rel] = st.st_size
    return regular, strange


def _entry_problems(entry: Any) -> list[str]:
    if not isinstance(entry, Mapping):
        return ["manifest entry is not an object"]
    return [f"manifest entry has no valid {key!r}" for key, kind in _ENTRY_FIELDS.items()
            if not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool)]


def _parquet_rows(path: str) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def _check_listed(release_dir: str, rel: str, entry: Mapping[str, Any], regular: Mapping[str, int],
                  strange: Mapping[str, str]) -> FileCheck:
    expected = {k: entry[k] for k in ("bytes", "rows", "sha256")}
    if rel in strange:
        return FileCheck("file_integrity", rel, (strange[rel],), {}, expected)
    if rel not in regular:
        parts = rel.split("/")
        through = [p for p in ("/".join(parts[:i]) for i in range(1, len(parts))) if p in strange]
        why = f"passes through {through[0]} ({strange[through[0]]})" if through else "missing"
        return FileCheck("file_integrity", rel, (why,), {}, expected)
    path = os.path.join(release_dir, rel)
    observed: dict[str, Any] = {"bytes": regular[rel], "sha256": file_sha256(path)}
    problems = []
    if observed["bytes"] != entry["bytes"]:
        problems.append("size differs")
    if observed["sha256"] != entry["sha256"]:
        problems.append("sha256 differs")
    if rel.endswith(".parquet"):
        try:
            observed["rows"] = _parquet_rows(path)
            if observed["rows"] != entry["rows"]:
                problems.append("row count differs")
        except Exception as e:  # noqa: BLE001 - any reader error means unreadable
            problems.append(f"unreadable Parquet: {type(e).__name__}")
    return FileCheck("file_integrity", rel, tuple(problems), observed, expected)


def integrity_checks(release_dir: str, manifest: Mapping[str, Any]) -> list[FileCheck]:
    """The seal, every listed file, then every unlisted path on disk (see module docstring)."""
    digest = manifest_digest(manifest)
    recorded = manifest.get(DIGEST_KEY)
    checks = [FileCheck("manifest_digest", MANIFEST,
                        () if recorded == digest else
                        (f"no {DIGEST_KEY}",) if recorded is None else
                        (f"changed after it was sealed ({DIGEST_KEY} differs)",),
                        {DIGEST_KEY: digest}, {DIGEST_KEY: recorded})]
    regular, strange = files_on_disk(release_dir)
    entries = manifest.get("files")
    if not isinstance(entries, list):
        entries = []
        checks.append(FileCheck("file_integrity", MANIFEST, ("no 'files' list",)))
    listed: set[str] = set()
    for i, entry in enumerate(entries):
        problems = _entry_problems(entry)
        rel = entry.get("path") if isinstance(entry, Mapping) else None
        label = rel if isinstance(rel, str) and rel else f"{MANIFEST} files[{i}]"
        reason = unsafe_path_reason(rel)
        if reason:
            problems.insert(0, reason)
        elif rel in listed:
            problems.append("listed twice")
        elif rel == MANIFEST:
            problems.append("the manifest cannot list itself")
        if problems:
            checks.append(FileCheck("file_integrity", label, tuple(problems)))
            if not reason:
                listed.add(rel)
            continue
        listed.add(rel)
        checks.append(_check_listed(release_dir, rel, entry, regular, strange))
    unlisted = sorted((set(regular) | set(strange)) - listed - {MANIFEST})
    for rel in unlisted:
        checks.append(FileCheck("no_unlisted_files", rel, (strange.get(rel, "not listed in the manifest"),)))
    if not unlisted:
        checks.append(FileCheck("no_unlisted_files", "*"))
    return checks


def first_problem(checks: list[FileCheck]) -> str | None:
    """``<path> <problem>`` of the first failed check (with how many more), or None when all passed."""
    failed = [c for c in checks if c.problems]
    if not failed:
        return None
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"{failed[0].path} {'; '.join(failed[0].problems)}{more}"


def read_release_json(path: str) -> dict:
    """A release's JSON file (manifest, validation); a clear InputError when absent or broken."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; not a biasbench release?") from None
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read JSON: {e}") from None


def _feed_column(column: pa.ChunkedArray | Sequence[pa.Array], typ: pa.DataType, lengths, values) -> None:
    """One column of a batch into its two streams, the batch given as consecutive chunks of one type: the same
    bytes as for the chunks concatenated, without concatenating them. Each kernel runs once over all the
    chunks (a shard's writer hands over batches of a few thousand rows: chunk by chunk, the rows digest of a
    holistic-bias build cost 0.3 s)."""
    if not isinstance(column, pa.ChunkedArray):
        column = pa.chunked_array(column, type=typ)
    if pa.types.is_list(typ):
        lengths.update(_lengths_bytes(pc.list_value_length(column)))
        _feed_column(pc.list_flatten(column), typ.value_type, lengths, values)
    elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
        lengths.update(_lengths_bytes(pc.utf8_length(column)))
        for chunk in column.chunks:
            values.update(value_bytes(chunk))
    else:
        values.update(repr(column.to_pylist()).encode("utf-8"))


def _lengths_bytes(lengths: pa.ChunkedArray) -> bytes:
    """Lengths as int64 bytes, a null as -1."""
    if lengths.null_count:
        lengths = lengths.fill_null(-1)
    return np.asarray(lengths.to_numpy(), dtype=np.int64).tobytes()


#: rows per batch ``canonical_rows_digest`` reads a file in: Arrow cuts a file's rows into batches of
#: this many, across row groups, the last one shorter (``tests/test_expand.py`` checks that it still does)
READ_BATCH_ROWS = 65_536


class RowsDigest:
    """The canonical rows digest of one file's rows, from the rows themselves as they are written.

    Each column feeds a pair of sha256 streams, the values' lengths and their bytes; a list column feeds
    its lists' lengths and then its values' lengths into one stream, batch by batch, so the digest depends
    on where the batches are cut: ``add`` regroups the rows into the batches ``canonical_rows_digest``
    reads back (``READ_BATCH_ROWS`` from the file's first row), whatever batches the writer had.
    """

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self._streams = {name: (hashlib.sha256(), hashlib.sha256()) for name in schema.names}
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        """The next rows written to the file."""
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        while self._pending_rows >= READ_BATCH_ROWS:
            self._feed_pending(READ_BATCH_ROWS)

    def _feed_pending(self, rows: int) -> None:
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        head, tail = table.slice(0, rows), table.slice(rows)
        for f in self.schema:  # the head's chunks as one batch, never copied into one
            _feed_column(head.column(f.name), f.type, *self._streams[f.name])
        self._pending, self._pending_rows = tail.to_batches(), tail.num_rows

    def feed(self, batch: pa.RecordBatch) -> None:
        """One batch as read back (``add`` cuts them)."""
        for f in self.schema:
            _feed_column([batch.column(f.name)], f.type, *self._streams[f.name])

    def hexdigest(self) -> str:
        if self._pending_rows:
            self._feed_pending(self._pending_rows)
        total = hashlib.sha256()
        for name in self.schema.names:
            lengths, values = self._streams[name]
            total.update(f"{name}:{lengths.hexdigest()}:{values.hexdigest()}\n".encode())
        return total.hexdigest()


def canonical_rows_digest(paths: Iterable[str]) -> str:
    """sha256 over the rows of the files, in order, independent of Parquet layout."""
    files = list(paths)
    if not files:
        return hashlib.sha256(b"").hexdigest()
    digest = RowsDigest(pq.read_schema(files[0]))
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH_ROWS):
            digest.feed(batch)
    return digest.hexdigest()


def file_entries(release_dir: str, exclude: Iterable[str] = (MANIFEST,)) -> list[FileEntry]:
    """Every file of the release (sorted), with rows for Parquet files.

    Nothing is skipped, dotfiles included: a release holds exactly the files
    its manifest lists (``integrity_checks``)."""
    skip = set(exclude)
    out = []
    for root, dirs, files in os.walk(release_dir):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, release_dir).replace(os.sep, "/")
            if rel in skip:
                continue
            rows = pq.ParquetFile(full).metadata.num_rows if name.endswith(".parquet") else 0
            out.append(FileEntry(rel, rows, os.path.getsize(full), file_sha256(full)))
    return out
