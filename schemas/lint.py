"""Vectorised lint of rendered benchmark rows.

Every rule flags *cells* (one row × one text column); ``LintResult.counts``
holds, per rule, how many cells it flagged. The rules:

``leftover_slot``
    A slot marker survived rendering: a canonical or HolisticBias/BBQ brace
    slot (``{person}``, ``{noun_phrase}``, ``{{NAME1}}``), a CALM marker
    (``<PERSON>``, ``<he/she/they>``) or a discrim-eval placeholder (``[AGE]``).
``agreement``
    The pronoun "they" immediately followed by a singular verb: "they was",
    "they is", "they has", "they does" and their "n't" forms
    (case-insensitive, word-bounded).
``article_mismatch``
    "a"/"an" before a word where ``schemas.articles.indefinite_article``
    says the other one ("a FTM", "an European", "a hour").
``doubled_word``
    The same word twice in a row, case-insensitive ("the the", "The the").
    "that that" and "had had" are grammatical English and are not flagged; a
    word followed by punctuation ("bye. Bye") is not a doubling.
``empty_field``
    A null, empty or whitespace-only text field.

How it stays fast on millions of rows: each column is dictionary-encoded
first, so every rule runs once per *distinct* string (question fields repeat
across groups); leftover_slot, agreement and empty_field are single RE2
kernels; the two rules RE2 cannot express (no backreferences, no call into
the grammar) split the distinct strings into whitespace tokens with Arrow and
compare neighbouring tokens as whole arrays. Only the distinct (article, next word)
pairs — a few thousand at most — are checked in Python. Flags computed on the
dictionary are mapped back to rows with one ``take``.

Known blind spots: a capital letter used as a name ("Plan A is") is read as
an article; "that that"/"had had" are never flagged.

>>> import pyarrow as pa
>>> t = pa.table({"example_id": ["e1", "e2"], "text": ["They was an European.", "A fine day."]})
>>> r = lint_batch(t, ["text"])
>>> r.counts["agreement"], r.counts["article_mismatch"], r.total
(1, 1, 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.records import TASK_FIELDS
from schemas.articles import indefinite_article

RULES = ("leftover_slot", "agreement", "article_mismatch", "doubled_word", "empty_field")
#: Examples kept per rule: enough to see the defect, small enough for a report.
MAX_EXAMPLES = 3
_MAX_EXAMPLE_CHARS = 300

_LEFTOVER = (
    r"\{[^{}\s][^{}]*\}"  # {person}, {a:person}, {{NAME1}}
    r"|<[A-Z][A-Z0-9_]*>"  # CALM <PERSON>
    r"|<[A-Za-z]+(?:/[A-Za-z]+)+>"  # CALM <he/she/they>
    r"|\[[A-Z][A-Z0-9_]+\]"  # discrim-eval [AGE]
)
_AGREEMENT = r"(?i)\bthey\s+(?:was|is|has|does)(?:n['’]t)?\b"
_EMPTY = r"^\s*$"
_OPENING = "\"'“‘([*_"  # stripped from a token's start before comparing words
_CLOSING = ".,;:!?\"'”’)]*_"  # stripped from a token's end
#: Doublings that are grammatical English.
_ALLOWED_DOUBLES = ("that", "had")


@dataclass
class LintResult:
    """Per-rule counts of flagged cells, a few examples per rule, rows linted.

    >>> a = LintResult(counts={"agreement": 1}, rows=2)
    >>> a.merge(LintResult(counts={"agreement": 2}, rows=3)).counts["agreement"]
    3
    """

    counts: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, str]] = field(default_factory=list)
    rows: int = 0

    def __post_init__(self):
        self.counts = {rule: int(self.counts.get(rule, 0)) for rule in RULES}

    @property
    def total(self) -> int:
        """Cells flagged by any rule (a cell flagged by two rules counts twice)."""
        return sum(self.counts.values())

    def merge(self, other: "LintResult") -> "LintResult":
        """Sum of both; examples keep ``self``'s first, so merging in batch order is deterministic."""
        counts = {r: self.counts[r] + other.counts[r] for r in RULES}
        return LintResult(counts=counts, examples=_cap_examples([*self.examples, *other.examples]),
                          rows=self.rows + other.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(sorted(self.counts.items())), "examples": list(self.examples),
                "rows": self.rows, "total": self.total}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LintResult":
        return cls(counts=dict(data.get("counts", {})), examples=list(data.get("examples", [])),
                   rows=int(data.get("rows", 0)))


def _cap_examples(examples: Iterable[dict]) -> list[dict]:
    kept, per_rule = [], {}
    for ex in examples:
        n = per_rule.get(ex["rule"], 0)
        if n < MAX_EXAMPLES:
            per_rule[ex["rule"]] = n + 1
            kept.append(ex)
    return kept


def split_whitespace(values: pa.Array | pa.ChunkedArray) -> pa.ListArray:
    """``pc.utf8_split_whitespace`` of a string array, the same from call to call.

    pyarrow's kernel (seen in 25.0.1) reads the byte after the last string: where that byte is
    0x80 or above, the last string's trailing whitespace is glued to its last token ("they. "
    instead of "they.", ""). What follows the data in memory varies, so one batch could lint
    differently on two runs. An ASCII string appended after the last one makes that byte ours.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    padded = pa.concat_arrays([values, pa.array(["x"], values.type)])
    return pc.utf8_split_whitespace(padded).slice(0, len(values))


class _Tokens:
    """Whitespace tokens of many strings, as flat arrays of neighbour pairs.

    ``left[i]``/``right[i]`` are consecutive tokens; ``same[i]`` says they come
    from the same string, ``parent[i]`` which string. ``norm`` is lower-cased
    with opening punctuation stripped, computed once for both token rules.
    """

    def __init__(self, values: pa.Array):
        tokens = split_whitespace(values)
        flat = pc.list_flatten(tokens)
        parent = pc.list_parent_indices(tokens)
        norm = pc.utf8_ltrim(pc.utf8_lower(flat), characters=_OPENING)
        n = max(len(flat) - 1, 0)
        self.size = len(values)
        self.left, self.right = flat.slice(0, n), flat.slice(1, n)
        self.norm_left, self.norm_right = norm.slice(0, n), norm.slice(1, n)
        self.same = pc.equal(parent.slice(0, n), parent.slice(1, n))
        self.parent = parent.slice(0, n)

    def strings_with(self, hit: pa.Array) -> pa.Array:
        """Boolean mask over the strings: true where any of its neighbour pairs hit."""
        flagged = pc.unique(pc.filter(self.parent, hit))
        return pc.is_in(pa.array(range(self.size), pa.int64()), value_set=flagged.cast(pa.int64()))


def _article_mask(tok: _Tokens, overrides: Mapping[str, str] | None) -> pa.Array:
    # Cheap hash lookup first; everything after runs on the article positions only.
    is_art = pc.and_(tok.same, pc.is_in(tok.norm_left, value_set=pa.array(["a", "an"])))
    where = pc.indices_nonzero(is_art)
    if len(where) == 0:
        return pa.array([False] * tok.size, pa.bool_())
    art = pc.take(tok.norm_left, where)
    word = pc.utf8_ltrim(pc.take(tok.right, where), characters=_OPENING)
    keys = pc.binary_join_element_wise(art, word, "\x00")
    starts_word = pc.match_substring_regex(word, r"^[A-Za-z0-9]")
    distinct = pc.unique(pc.filter(keys, starts_word)).to_pylist()
    bad = []
    for key in distinct:  # distinct (article, word) pairs: few, so Python is cheap here
        article, next_word = key.split("\x00", 1)
        if indefinite_article(next_word, overrides) != article:
            bad.append(key)
    if not bad:
        return pa.array([False] * tok.size, pa.bool_())
    hit_at = pc.filter(where, pc.and_(starts_word, pc.is_in(keys, value_set=pa.array(bad, pa.string()))))
    flagged = pc.unique(pc.take(tok.parent, hit_at)).cast(pa.int64())
    return pc.is_in(pa.array(range(tok.size), pa.int64()), value_set=flagged)


def _doubled_mask(tok: _Tokens) -> pa.Array:
    second = pc.utf8_rtrim(tok.norm_right, characters=_CLOSING)
    hit = pc.and_(tok.same, pc.equal(tok.norm_left, second))
    where = pc.indices_nonzero(hit)
    if len(where) == 0:
        return pa.array([False] * tok.size, pa.bool_())
    # The first word must be a bare word: "bye. Bye" or "no, no" are not doublings.
    first = pc.take(tok.norm_left, where)
    real = pc.and_(pc.match_substring_regex(first, r"^[a-z][a-z'’-]*$"),
                   pc.invert(pc.is_in(first, value_set=pa.array(_ALLOWED_DOUBLES))))
    flagged = pc.unique(pc.take(tok.parent, pc.filter(where, real))).cast(pa.int64())
    return pc.is_in(pa.array(range(tok.size), pa.int64()), value_set=flagged)


def _rule_masks(values: pa.Array, overrides: Mapping[str, str] | None) -> dict[str, pa.Array]:
    """Per rule, a boolean mask over distinct, non-null strings."""
    tok = _Tokens(values)
    return {
        "leftover_slot": pc.match_substring_regex(values, _LEFTOVER),
        "agreement": pc.match_substring_regex(values, _AGREEMENT),
        "article_mismatch": _article_mask(tok, overrides),
        "doubled_word": _doubled_mask(tok),
        "empty_field": pc.match_substring_regex(values, _EMPTY),
    }


def lint_batch(batch: pa.RecordBatch | pa.Table, text_columns: Sequence[str], *,
               article_overrides: Mapping[str, str] | None = None, id_column: str = "example_id") -> LintResult:
    """Lint the text columns of one batch of rendered rows.

    ``article_overrides`` is the spec's ``article_overrides`` (the renderer's
    exceptions must also be the linter's). Examples name the row by
    ``id_column``, or by its position in the batch when that column is absent.

    >>> import pyarrow as pa
    >>> lint_batch(pa.table({"text": ["The the end.", "{person} left."]}), ["text"]).counts["doubled_word"]
    1
    """
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    return _lint_table(table, text_columns, article_overrides, id_column, [table.num_rows])


def lint_batches(batches: Sequence[pa.RecordBatch | pa.Table], text_columns: Sequence[str], *,
                 article_overrides: Mapping[str, str] | None = None, id_column: str = "example_id") -> LintResult:
    """``lint_batch`` of each batch, merged in order — computed in one pass over their concatenation.

    The result (counts, examples and their order, rows) is exactly that of
    ``lint_batch(b1).merge(lint_batch(b2))…``; only the kernel calls are shared,
    which matters when batches are small (a few hundred rows each).

    >>> import pyarrow as pa
    >>> a, b = pa.table({"text": ["they was"]}), pa.table({"text": ["fine", "{x}"]})
    >>> lint_batches([a, b], ["text"]).to_dict() == lint_batch(a, ["text"]).merge(lint_batch(b, ["text"])).to_dict()
    True
    """
    if not batches:
        return LintResult()
    tables = [b if isinstance(b, pa.Table) else pa.Table.from_batches([b]) for b in batches]
    keep = [c for c in [id_column, *text_columns] if c in tables[0].column_names]
    missing = [c for c in text_columns if c not in tables[0].column_names]
    if missing:
        raise KeyError(f"lint: no column {missing[0]!r} in the rows (have {tables[0].column_names})")
    table = pa.concat_tables([t.select(keep) for t in tables])
    return _lint_table(table, text_columns, article_overrides, id_column, [t.num_rows for t in tables])


def _first_per_segment(rows: np.ndarray, ends: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Of sorted row positions, the first ``limit`` in each segment (segments end at ``ends``), with their segment."""
    seg = np.searchsorted(ends, rows, side="right")
    if len(ends) == 1:
        return rows[:limit], seg[:limit]
    starts = np.r_[0, np.flatnonzero(np.diff(seg)) + 1]  # first flagged row of each segment present
    rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    keep = rank < limit
    return rows[keep], seg[keep]


def _lint_table(table: pa.Table, text_columns: Sequence[str], article_overrides, id_column: str,
                segments: Sequence[int]) -> LintResult:
    counts = {rule: 0 for rule in RULES}
    ends = np.cumsum(np.asarray(segments, dtype=np.int64))
    candidates: list[tuple[int, int, int, int]] = []  # (segment, rule, column, row): merge order of examples
    ids = table.column(id_column).combine_chunks() if id_column in table.column_names else None
    arrays = []
    for ci, column in enumerate(text_columns):
        if column not in table.column_names:
            raise KeyError(f"lint: no column {column!r} in the rows (have {table.column_names})")
        arr = table.column(column).combine_chunks()
        if pa.types.is_dictionary(arr.type):  # e.g. read with read_dictionary=: plain strings again
            arr = arr.cast(arr.type.value_type)
        if pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        arrays.append(arr)
        encoded = pc.dictionary_encode(arr)
        masks = _rule_masks(encoded.dictionary, article_overrides)
        for ri, rule in enumerate(RULES):
            row_mask = pc.fill_null(pc.take(pc.fill_null(masks[rule], False), encoded.indices), False)
            if rule == "empty_field":  # nulls are empty fields too
                row_mask = pc.or_(row_mask, pc.is_null(arr))
            n = pc.sum(row_mask).as_py() or 0
            counts[rule] += n
            if n:
                rows = pc.indices_nonzero(row_mask).to_numpy(zero_copy_only=False).astype(np.int64)
                rows, seg = _first_per_segment(rows, ends, MAX_EXAMPLES)
                candidates += [(int(s), ri, ci, int(r)) for r, s in zip(rows, seg)]
    # Examples in the order merging per-segment results gives: segment, then rule, column, row.
    examples: list[dict[str, str]] = []
    per_rule: dict[int, int] = {}
    for _, ri, ci, i in sorted(candidates):
        if per_rule.get(ri, 0) >= MAX_EXAMPLES:
            continue
        per_rule[ri] = per_rule.get(ri, 0) + 1
        offset = int(ends[_segment_of(ends, i)] - segments[_segment_of(ends, i)])
        text = arrays[ci][i].as_py()
        examples.append({
            "rule": RULES[ri], "column": text_columns[ci],
            "example_id": str(ids[i].as_py()) if ids is not None else str(i - offset),
            "text": "" if text is None else text[:_MAX_EXAMPLE_CHARS],
        })
    return LintResult(counts=counts, examples=examples, rows=table.num_rows)


def _segment_of(ends: np.ndarray, row: int) -> int:
    return int(np.searchsorted(ends, row, side="right"))


def default_text_columns(schema: pa.Schema) -> list[str]:
    """The task text fields present in a row schema, in TASK_FIELDS order."""
    names = set(schema.names)
    cols: list[str] = []
    for fields in TASK_FIELDS.values():
        cols += [f for f in fields if f in names and f not in cols]
    return cols


def lint_rows(table: pa.Table, text_columns: Sequence[str] | None = None, *,
              article_overrides: Mapping[str, str] | None = None, batch_size: int = 65_536) -> LintResult:
    """Lint a whole table batch by batch (bounded memory); columns default to its task text fields.

    >>> import pyarrow as pa
    >>> lint_rows(pa.table({"sentence": ["they is here", "fine"]})).counts["agreement"]
    1
    """
    cols = list(text_columns) if text_columns is not None else default_text_columns(table.schema)
    result = LintResult()
    for batch in table.to_batches(max_chunksize=batch_size):
        result = result.merge(lint_batch(batch, cols, article_overrides=article_overrides))
    return result
