"""Per-shard partial statistics of release rows, merged on the driver.

A :class:`RowTally` is filled batch by batch where the rows are made (the shard
writer) or read (``biasbench validate``, a benchmark that is not a biasbench
release), and tallies of many shards merge into the tally of a config. From a
merged tally the stats report (``validation.stats``) and the gate's row checks
(``validation.gate``) are computed without reading any shard again.

What it keeps, all of it exact except the text sample:

- rows; rows per group, per (template, group), per source dataset, per fill type;
- distinct templates per source dataset;
- words (whitespace tokens) of the first text field per group: count, sum, sum of squares,
  and a histogram;
- nulls per column; the example ids (an Arrow array: duplicates across shards are counted on the driver);
- the deterministic text sample: the rows whose index within the config is a
  multiple of ``sample_step`` (the shard knows its first row's index).

>>> import pyarrow as pa
>>> t = RowTally("text", ["group", "text"])
>>> t.add(pa.table({"group": ["a", "b"], "text": ["x y", None]}))
>>> t.rows, t.groups, t.nulls
(2, {'a': 1, 'b': 1}, {'text': 1})
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.arrow_strings import value_bytes
from schemas.lint import split_whitespace  # pyarrow's kernel reads past the last string: see there


#: At most this many rows of a config enter its text sample (the diversity figures).
SAMPLE_ROWS = 200_000
#: Length histograms have one bin per word count 0 … LENGTH_BINS - 2, the last bin holds longer texts.
LENGTH_BINS = 128
#: The row columns a tally reads besides the text field and the null-checked columns.
TALLIED_COLUMNS = ("group", "template_id", "source_dataset", "fill_type", "example_id")


def sample_step(rows: int, limit: int = SAMPLE_ROWS) -> int:
    """The stride of a config's text sample: every k-th row, k = ceil(rows / limit)."""
    return max(1, -(-rows // limit))


def _add_counts(into: dict, keys: Iterable, counts: Iterable[int]) -> None:
    for k, n in zip(keys, counts):
        into[k] = into.get(k, 0) + int(n)


def _add_value_counts(into: dict, col: pa.ChunkedArray | pa.Array) -> None:
    vc = pc.value_counts(col)
    _add_counts(into, vc.field("values").to_pylist(), vc.field("counts").to_pylist())


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list]:
    """Dictionary codes of a column without nulls (int64) and its distinct values, in order of first appearance."""
    encoded = pc.dictionary_encode(col)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def pair_counts(a: pa.ChunkedArray | pa.Array, b: pa.ChunkedArray | pa.Array) -> tuple[list[tuple], list[int]]:
    """The distinct (a, b) pairs of two columns in order of first appearance, and the rows of each.

    Arrow's ``group_by`` gives the same, but costs a millisecond of plan set-up per call, which is most of a
    shard writer's tally when it adds one template's rows at a time (hundreds of batches per build); dictionary
    codes and numpy take a tenth of that. Columns with nulls go to ``group_by`` (a null is a key there too).

    >>> pair_counts(pa.array(["t1", "t1", "t2", "t1"]), pa.array(["g", "h", "g", "g"]))
    ([('t1', 'g'), ('t1', 'h'), ('t2', 'g')], [2, 1, 1])
    """
    if a.null_count or b.null_count:
        got = pa.table({"a": a, "b": b}).group_by(["a", "b"]).aggregate([([], "count_all")])
        return list(zip(got["a"].to_pylist(), got["b"].to_pylist())), got["count_all"].to_pylist()
    codes_a, values_a = _codes(a)
    codes_b, values_b = _codes(b)
    keys, first, counts = np.unique(codes_a * max(len(values_b), 1) + codes_b, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    width = max(len(values_b), 1)
    return ([(values_a[k // width], values_b[k % width]) for k in keys[order].tolist()], counts[order].tolist())


def word_counts(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Whitespace tokens per text (null stays null).

    Texts of plain ASCII (``_plain_ascii``) are counted with the ASCII kernels, twice as fast as the UTF-8
    ones and the same counts on trimmed ASCII texts: the two split alike but for a trailing run of
    whitespace (``utf8_split_whitespace`` makes two empty tokens of it, the ASCII kernel one), and trimmed
    texts have none. The UTF-8 kernels also split at the information separators 0x1c-0x1f, so texts holding
    one take the UTF-8 path.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if _plain_ascii(texts):
        return pc.list_value_length(pc.ascii_split_whitespace(pc.ascii_trim_whitespace(texts)))
    return pc.list_value_length(split_whitespace(pc.utf8_trim_whitespace(texts)))


def _plain_ascii(texts: pa.Array) -> bool:
    """Whether the strings' bytes are all ASCII and none an information separator (0x1c-0x1f)."""
    data = np.frombuffer(value_bytes(texts), dtype=np.uint8)
    return not len(data) or (int(data.max()) < 0x80 and not np.any((data >= 0x1c) & (data <= 0x1f)))


class RowTally:
    """Partial statistics of some rows of one config (see the module docstring)."""

    def __init__(self, text_field: str, columns: Iterable[str], sample_step: int = 1, first_row: int = 0):
        self.text_field = text_field
        self.columns = list(columns)  # the columns whose nulls are counted
        self.sample_step = max(1, int(sample_step))
        self.position = int(first_row)  # index within the config of the next row added
        self.rows = 0
        self.groups: dict[str, int] = {}
        self.cells: dict[tuple[str, str], int] = {}
        self.sources: dict[str, int] = {}
        self.source_templates: dict[str, set[str]] = {}
        self.fill_types: dict[str, int] = {}
        self.words: dict[str, list[int]] = {}  # group -> [rows with text, sum, sum of squares]
        self.length_histogram: dict[str, np.ndarray] = {}  # group -> rows per length in words (last bin: more)
        self.nulls: dict[str, int] = {}
        self.ids: list[pa.Array] = []
        self.sample: list[pa.Array] = []

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Tally the rows of one batch, the next ones of the config in release order."""
        n = batch.num_rows
        if not n:
            return
        names = batch.schema.names
        col = lambda name: batch.column(names.index(name)) if name in names else None  # noqa: E731
        for name in self.columns:
            c = col(name)
            missing = n if c is None else c.null_count
            if missing:
                self.nulls[name] = self.nulls.get(name, 0) + missing
        group, tid, text = col("group"), col("template_id"), col(self.text_field)
        if group is not None:
            _add_value_counts(self.groups, group)
        if group is not None and tid is not None:
            _add_counts(self.cells, *pair_counts(tid, group))
        src = col("source_dataset")
        if src is not None:
            _add_value_counts(self.sources, src)
            if tid is not None:
                for s, t in pair_counts(src, tid)[0]:
                    self.source_templates.setdefault(s, set()).add(t)
        fill = col("fill_type")
        if fill is not None:
            _add_value_counts(self.fill_types, fill)
        ids = col("example_id")
        if ids is not None:
            self.ids.append(pc.drop_null(ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids))
        if text is not None:
            words = word_counts(text)
            keep = pc.is_valid(words)
            keys = pc.filter(group if group is not None else pa.array([""] * n), keep)
            w = pc.filter(words, keep).to_numpy(zero_copy_only=False).astype(np.int64)
            encoded = pc.dictionary_encode(keys)
            if isinstance(encoded, pa.ChunkedArray):
                encoded = encoded.combine_chunks()
            codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            k = len(encoded.dictionary)
            sums = np.bincount(codes, weights=w, minlength=k)
            squares = np.bincount(codes, weights=w * w, minlength=k)
            hist = np.bincount(codes * LENGTH_BINS + np.minimum(w, LENGTH_BINS - 1), minlength=k * LENGTH_BINS)
            for i, g in enumerate(encoded.dictionary.to_pylist()):
                acc = self.words.setdefault(g, [0, 0, 0])
                acc[0] += int(hist[i * LENGTH_BINS:(i + 1) * LENGTH_BINS].sum())
                acc[1] += int(sums[i])
                acc[2] += int(squares[i])
                self.length_histogram.setdefault(g, np.zeros(LENGTH_BINS, np.int64))
                self.length_histogram[g] += hist[i * LENGTH_BINS:(i + 1) * LENGTH_BINS]
            first = (-self.position) % self.sample_step
            if first < n:
                picked = pc.take(text, np.arange(first, n, self.sample_step, dtype=np.int64))
                if isinstance(picked, pa.ChunkedArray):
                    picked = picked.combine_chunks()
                self.sample.append(pc.drop_null(picked))
        self.rows += n
        self.position += n

    def merge(self, other: "RowTally") -> "RowTally":
        """This tally plus ``other`` (the rows after this tally's, in release order)."""
        self.rows += other.rows
        self.position = max(self.position, other.position)
        for mine, theirs in ((self.groups, other.groups), (self.cells, other.cells), (self.sources, other.sources),
                             (self.fill_types, other.fill_types), (self.nulls, other.nulls)):
            _add_counts(mine, theirs.keys(), theirs.values())
        for s, tids in other.source_templates.items():
            self.source_templates.setdefault(s, set()).update(tids)
        for g, acc in other.words.items():
            mine = self.words.setdefault(g, [0, 0, 0])
            for i in range(3):
                mine[i] += acc[i]
        for g, hist in other.length_histogram.items():
            mine_hist = self.length_histogram.setdefault(g, np.zeros(LENGTH_BINS, np.int64))
            mine_hist += hist
        self.ids += other.ids
        self.sample += other.sample
        return self

    def duplicate_ids(self) -> int:
        """Rows whose example id another row of the tally has already."""
        if not self.ids:
            return 0
        ids = pa.chunked_array(self.ids, pa.string())
        return int(len(ids) - pc.count_distinct(ids).as_py())

    def sample_texts(self) -> pa.Array:
        """The text sample in release order."""
        return pa.concat_arrays(self.sample) if self.sample else pa.array([], pa.string())

    def templates(self) -> list[str]:
        return sorted({t for t, _ in self.cells})

    def template_cells(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (t, g), n in self.cells.items():
            out.setdefault(t, {})[g] = n
        return out


def merged(tallies: Iterable[RowTally]) -> RowTally | None:
    """The tallies merged in the order given (shard order), or None when there are none."""
    total = None
    for t in tallies:
        total = t if total is None else total.merge(t)
    return total


def tally_files(paths: Iterable[str], text_field: str, columns: Iterable[str], sample_step: int = 1,
                batch_size: int = 65_536) -> RowTally:
    """One pass over some Parquet files (in the order given) into one tally."""
    import pyarrow.parquet as pq

    tally = RowTally(text_field, columns, sample_step)
    for path in paths:
        pf = pq.ParquetFile(path)
        needed = set(tally.columns) | set(TALLIED_COLUMNS) | {text_field}
        for batch in pf.iter_batches(batch_size=batch_size, columns=[c for c in pf.schema_arrow.names if c in needed]):
            tally.add(batch)  # a column absent from the file counts as null in every row
    return tally


def tally_state(tally: RowTally) -> dict[str, Any]:
    """A picklable, compact form (what a shard returns to the driver)."""
    return tally.__dict__


def tally_from_state(state: dict[str, Any]) -> RowTally:
    t = RowTally.__new__(RowTally)
    t.__dict__.update(state)
    return t
