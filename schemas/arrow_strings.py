"""The bytes of a string array's values, straight from its Arrow buffers (no Python strings)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def value_bytes(strings: pa.Array) -> memoryview:
    """The values of a ``string`` or ``large_string`` array (a slice included) back to back, as the data
    buffer holds them; empty when the array has no data."""
    _, offsets_buf, data_buf = strings.buffers()
    if data_buf is None or not len(strings):
        return memoryview(b"")
    width = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width)[strings.offset:strings.offset + len(strings) + 1]
    return memoryview(data_buf)[int(offsets[0]):int(offsets[-1])]
