"""Parquet: one record per row, read in batches so large files stay out of memory.

>>> import os, tempfile
>>> import pyarrow as pa, pyarrow.parquet as pq
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "test.parquet")
>>> pq.write_table(pa.table({"premise": ["Mary ran.", "Sam sat."], "label": [0, 2]}), path)
>>> [(r.record_id, dict(r.fields)) for r in read_source(SourceSpec("snli", "parquet", "test.parquet"), path)]
[('0', {'premise': 'Mary ran.', 'label': 0}), ('1', {'premise': 'Sam sat.', 'label': 2})]
>>> tmp.cleanup()
"""

from __future__ import annotations

import io
from typing import Iterator

from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import make_record, malformed, open_binary, register_reader


@register_reader("parquet", options=("columns", "batch_size"))
def read_parquet(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """Rows as records; positions are 0-based row numbers (``row 0``). ``columns`` selects fields."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open_binary(path) as raw:
        # Parquet reads its footer first: a zip member or remote stream needs a seekable copy
        stream = raw if raw.seekable() else io.BytesIO(raw.read())
        row = 0
        try:
            pf = pq.ParquetFile(stream)
            columns = spec.options.get("columns") or None
            for batch in pf.iter_batches(batch_size=int(spec.options.get("batch_size", 4096)), columns=columns):
                for rec in batch.to_pylist():
                    yield make_record(spec, path, "row", row, rec)
                    row += 1
        except (pa.ArrowInvalid, OSError) as e:
            # a broken footer or page: what was read stands, the rest of the file is set aside
            yield malformed(spec, "row", row, f"not a readable Parquet file from row {row}: {str(e).splitlines()[0]}")
