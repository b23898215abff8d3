"""Stats of a published benchmark that is not a biasbench release, on the same figures.

A folder (or one file) of JSON Lines (``.jsonl``, ``.json`` with one object a
line) or Parquet files: each file is one config, named by its file name
without extension (or by the first group of ``config_pattern`` matched against
it). In each file the text is the first of ``text_fields`` the file has, the
group the first of ``group_fields`` (none: one group ``all``), the source the
``source_field``. Templates are not known, so the template figures are
``None`` and the similarity is that of the sampled rows.

Usage: ``external_stats("../shared/data/calm/release", ["context", "premise", "sentence"], ["gender", "race"])``.
"""

from __future__ import annotations

import os
import re
from typing import Any, Sequence

import pyarrow as pa

from schemas.errors import InputError
from validation.stats import config_stats, release_figures, sorted_dicts
from validation.figures import PAIRWISE_SAMPLE, semantic_available
from schemas.tally import SAMPLE_ROWS, RowTally, sample_step

SUFFIXES = (".jsonl", ".json", ".parquet")


def benchmark_files(path: str) -> list[str]:
    """The data files under ``path`` (or ``path`` itself), sorted by relative path."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise InputError(f"{path}: no such file or folder")
    found = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(SUFFIXES)]
    if not found:
        raise InputError(f"{path}: no {', '.join(SUFFIXES)} files")
    return found


def read_table(path: str) -> pa.Table:
    """A JSON Lines or Parquet file as an Arrow table; an InputError naming the file when it is not one."""
    try:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.json as pj

        return pj.read_json(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: cannot read as {'Parquet' if path.endswith('.parquet') else 'JSON Lines'}: "
                         f"{str(e).splitlines()[0]}") from None


def _first(names: Sequence[str], present: Sequence[str]) -> str | None:
    return next((n for n in names if n in present), None)


def _config_name(path: str, pattern: str | None) -> str:
    stem = os.path.basename(path).rsplit(".", 1)[0]
    if pattern:
        m = re.fullmatch(pattern, stem)
        if m and m.groups():
            return m.group(1)
    return stem


def file_tally(path: str, text_fields: Sequence[str], group_fields: Sequence[str],
               source_field: str = "source_dataset") -> RowTally:
    """One file's rows tallied like a release config's (text sample, lengths, groups, sources)."""
    table = read_table(path)
    text = _first(text_fields, table.column_names)
    if text is None:
        raise InputError(f"{path}: none of the text fields {', '.join(text_fields)} is present "
                         f"(fields: {', '.join(table.column_names)})")
    if not (pa.types.is_string(table[text].type) or pa.types.is_large_string(table[text].type)):
        raise InputError(f"{path}: text field {text!r} is {table[text].type}, not text")
    group = _first(group_fields, table.column_names)
    columns = {text: table[text].cast(pa.string()),
               "group": table[group].cast(pa.string()) if group else pa.array(["all"] * table.num_rows)}
    if source_field in table.column_names:
        columns["source_dataset"] = table[source_field].cast(pa.string())
    tally = RowTally(text, [text], sample_step(table.num_rows))
    tally.add(pa.table(columns))
    return tally


def external_stats(path: str, text_fields: Sequence[str], group_fields: Sequence[str] = (),
                   source_field: str = "source_dataset", config_pattern: str | None = None,
                   similarity_method: str | None = None) -> dict[str, Any]:
    """The stats report (the figures of ``validation.stats``) of a benchmark published as files."""
    method = similarity_method or "tfidf-cosine"
    if method == "minilm" and not semantic_available():
        method = "tfidf-cosine"
    configs: dict[str, Any] = {}
    tallies: dict[str, RowTally] = {}
    for file in benchmark_files(path):
        name = _config_name(file, config_pattern)
        if name in configs:
            raise InputError(f"{file}: a second file for config {name!r}; name configs with --config-pattern")
        tally = file_tally(file, text_fields, group_fields, source_field)
        tallies[name] = tally
        configs[name] = {**config_stats(tally, "n/a", sorted(map(str, tally.groups)), None, method),
                         "file": os.path.relpath(file, path) if os.path.isdir(path) else os.path.basename(file)}
    return sorted_dicts({
        "benchmark": "/".join(os.path.normpath(os.path.abspath(path)).split(os.sep)[-2:]),  # e.g. calm/release
        "version": "",
        "configs": configs,
        "total_rows": sum(c["rows"] for c in configs.values()),
        "sample_rows_limit": SAMPLE_ROWS,
        "pairwise_sample_limit": PAIRWISE_SAMPLE,
        **release_figures(configs, tallies, method),
    })
