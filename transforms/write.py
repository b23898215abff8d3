"""Deterministic Parquet writing: same batches in, same bytes out.

Beam's ``WriteToParquet`` assigns tables to shards from a random start, so
release files are written here instead: a shard's batches arrive in a fixed
order, are regrouped into fixed-size row groups, and go to a temporary name
that is renamed only once the file is complete.

>>> import pyarrow as pa, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.parquet")
>>> with ParquetShardWriter(path, pa.schema([("a", pa.int64())]), row_group_size=2) as w:
...     w.write(pa.record_batch([pa.array([1, 2, 3])], names=["a"]))
>>> w.rows
3
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import storage
from schemas.records import TASK_FIELDS

#: Fixed writer settings: the file's bytes depend on nothing else but the rows.
PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, write_statistics=True, use_dictionary=True,
                       data_page_version="2.0", version="2.6")

#: Row columns with (about) one distinct value per row: the row's id, its counterfactual set's id and
#: the rendered text fields. A dictionary there is built for every row group only to be abandoned at
#: its size limit (HolisticBias: ~20% of the writing time, and the files come out a third larger).
UNIQUE_PER_ROW = frozenset({"example_id", "counterfactual_set_id"} | {f for fs in TASK_FIELDS.values() for f in fs})


def _leaf_paths(name: str, typ: pa.DataType):
    """Parquet column paths under one Arrow field (``options`` → ``options.list.element``)."""
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        yield from _leaf_paths(f"{name}.list.element", typ.value_type)
    elif pa.types.is_map(typ):
        yield from _leaf_paths(f"{name}.key_value.key", typ.key_type)
        yield from _leaf_paths(f"{name}.key_value.value", typ.item_type)
    elif pa.types.is_struct(typ):
        for child in typ:
            yield from _leaf_paths(f"{name}.{child.name}", child.type)
    else:
        yield name


def parquet_options(schema: pa.Schema) -> dict:
    """PARQUET_OPTIONS for files of ``schema``: dictionary encoding for every column but ``UNIQUE_PER_ROW``."""
    if not UNIQUE_PER_ROW.intersection(schema.names):
        return dict(PARQUET_OPTIONS)
    return dict(PARQUET_OPTIONS, use_dictionary=[path for f in schema if f.name not in UNIQUE_PER_ROW
                                                 for path in _leaf_paths(f.name, f.type)])


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


class ParquetShardWriter:
    """Streams record batches into one Parquet file, in fixed-size row groups."""

    def __init__(self, path: str, schema: pa.Schema, row_group_size: int = 100_000):
        self.path, self.schema, self.row_group_size = path, schema, row_group_size
        # locally a temporary name renamed when complete; an object store shows an object only once its
        # writer closes, so there the final name is written directly (a rename would be a copy)
        self.tmp_path = (path if storage.is_remote(path) else
                         os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp"))
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._sink = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> "ParquetShardWriter":
        self._sink = storage.open_write(self.tmp_path)
        self._writer = pq.ParquetWriter(self._sink, self.schema, **parquet_options(self.schema))
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.schema != self.schema:
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        while self._pending_rows >= self.row_group_size:
            self._flush(self.row_group_size)

    def _flush(self, size: int) -> None:
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        head, tail = table.slice(0, size), table.slice(size)
        self._writer.write_table(head.combine_chunks(), row_group_size=size)
        self._pending = tail.to_batches()
        self._pending_rows = tail.num_rows

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and self._pending_rows:
                self._flush(self._pending_rows)
        finally:
            self._writer.close()
            self._sink.close()
        if exc_type is not None:
            storage.delete(self.tmp_path)
        elif self.tmp_path != self.path:
            os.replace(self.tmp_path, self.path)


def write_table(path: str, table: pa.Table, sort_by: list[str] | None = None, row_group_size: int = 100_000) -> None:
    """One small table to one file, sorted for stability (templates, lexicons)."""
    if sort_by:
        table = table.sort_by([(c, "ascending") for c in sort_by])
    with ParquetShardWriter(path, table.schema, row_group_size) as writer:
        for batch in table.to_batches():
            writer.write(batch)
