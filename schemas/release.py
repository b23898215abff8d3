"""A release's files as every stage reads them: its JSON files, its file list, its rows digest.

Parquet bytes are identical only for one pyarrow version (the footer records
it), so each config also gets a digest of its rows in a canonical form that
does not depend on the file format: per column, the value lengths and the
concatenated values, streamed in row order.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.errors import InputError
from schemas.ids import file_sha256
from schemas.records import FileEntry

MANIFEST = "manifest.json"


def read_release_json(path: str) -> dict:
    """A release's JSON file (manifest, validation); a clear InputError when absent or broken."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; not a biasbench release?") from None
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read JSON: {e}") from None


def _feed_column(chunk: pa.Array, lengths, values) -> None:
    if pa.types.is_list(chunk.type):
        lengths.update(np.asarray(pc.list_value_length(chunk).fill_null(-1), dtype=np.int64).tobytes())
        _feed_column(pc.list_flatten(chunk), lengths, values)
    elif pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
        lengths.update(np.asarray(pc.utf8_length(chunk).fill_null(-1), dtype=np.int64).tobytes())
        # the values' bytes straight from the Arrow buffers: no Python strings
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        _, offsets_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        if data_buf is not None and len(offsets):
            values.update(memoryview(data_buf)[int(offsets[0]):int(offsets[-1])])
    else:
        values.update(repr(chunk.to_pylist()).encode("utf-8"))


def canonical_rows_digest(paths: Iterable[str]) -> str:
    """sha256 over the rows of the files, in order, independent of Parquet layout."""
    files = list(paths)
    if not files:
        return hashlib.sha256(b"").hexdigest()
    schema = pq.read_schema(files[0])
    per_column = {name: (hashlib.sha256(), hashlib.sha256()) for name in schema.names}
    for path in files:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=65536):
            for name in schema.names:
                lengths, values = per_column[name]
                _feed_column(batch.column(name), lengths, values)
    total = hashlib.sha256()
    for name in schema.names:
        lengths, values = per_column[name]
        total.update(f"{name}:{lengths.hexdigest()}:{values.hexdigest()}\n".encode())
    return total.hexdigest()


def file_entries(release_dir: str, exclude: Iterable[str] = (MANIFEST,)) -> list[FileEntry]:
    """Every file of the release (sorted), with rows for Parquet files."""
    skip = set(exclude)
    out = []
    for root, dirs, files in os.walk(release_dir):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, release_dir).replace(os.sep, "/")
            if rel in skip or name.startswith(".") or name.startswith("_"):
                continue
            rows = pq.ParquetFile(full).metadata.num_rows if name.endswith(".parquet") else 0
            out.append(FileEntry(rel, rows, os.path.getsize(full), file_sha256(full)))
    return out
