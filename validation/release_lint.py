"""Lint of release files: the row lint rules (``schemas.lint``) over Parquet files on disk.

``biasbench validate`` re-lints a release with these; a build lints its rows as
they are made (boundary lint, ``transforms.boundary_lint``) and never reads them back.
"""

from __future__ import annotations

import glob
import os
from typing import Mapping, Sequence

import pyarrow.parquet as pq

from schemas.lint import LintResult, default_text_columns, lint_batch


def lint_parquet_files(paths: Sequence[str], text_columns: Sequence[str] | None = None, *,
                       article_overrides: Mapping[str, str] | None = None, batch_size: int = 65_536) -> LintResult:
    """Lint Parquet files in the given order, reading only the id and text columns."""
    result = LintResult()
    for path in paths:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        cols = list(text_columns) if text_columns is not None else default_text_columns(schema)
        read = [c for c in ["example_id", *cols] if c in schema.names]
        for batch in pf.iter_batches(batch_size=batch_size, columns=read):
            result = result.merge(lint_batch(batch, cols, article_overrides=article_overrides))
    return result


def lint_release(release_dir: str, *, article_overrides: Mapping[str, str] | None = None) -> dict[str, LintResult]:
    """Lint every config under ``release_dir/data``: {config: LintResult}, configs sorted."""
    out = {}
    for cdir in sorted(glob.glob(os.path.join(release_dir, "data", "*"))):
        files = sorted(glob.glob(os.path.join(cdir, "*.parquet")))
        if files:
            out[os.path.basename(cdir)] = lint_parquet_files(files, article_overrides=article_overrides)
    return out
