"""Hugging Face datasets, by name, config, split and revision, through ``datasets`` (imported only here).

``SourceSpec.path`` is a Hub dataset id (``nyu-mll/glue``) or a local dataset folder
(Parquet/JSON/CSV files in the Hub's layout, or a ``save_to_disk`` folder); the
spec's ``split`` is the split read. Options:

- ``config``: the dataset's configuration (``rte``);
- ``revision``: a branch, tag or commit of a Hub dataset (default ``main``); the commit
  it resolves to goes into the manifest (``resolved_revision``), so pin a commit to read
  the same rows forever;
- ``streaming``: read rows as they arrive (default true): nothing is downloaded whole or
  cached, which suits large datasets; ``false`` lets ``datasets`` download and cache
  (in ``cache_dir`` when given);
- ``data_files``, ``cache_dir``: passed to ``datasets.load_dataset``.

A row's position is its 0-based index (``row 0``). A dataset that cannot be loaded is an
InputError naming it; rows after a read error are quarantined as malformed from that row.
"""

from __future__ import annotations

import os
import re
from typing import Iterator

from schemas.errors import InputError, SpecError
from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import make_record, malformed, register_reader

_OPTIONS = ("config", "revision", "streaming", "data_files", "cache_dir")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def _is_saved(path: str) -> bool:
    """A folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, f))
                                       for f in ("dataset_dict.json", "state.json"))


def target(spec, path: str) -> str:
    """What ``datasets`` loads: the resolved local folder when there is one, else the Hub id as written."""
    return path if os.path.exists(path) else spec.path


def load_rows(spec, path: str):
    """The split's rows as a ``datasets`` Dataset or IterableDataset."""
    try:
        import datasets
    except ImportError:
        raise SpecError(f"source {spec.name!r}: format hf needs the datasets package: pip install '.[hf]'") from None

    opts = spec.options
    where = target(spec, path)
    try:
        if _is_saved(where):
            ds = datasets.load_from_disk(where)
            if isinstance(ds, datasets.DatasetDict):
                if spec.split not in ds:
                    raise InputError(f"{spec.path}: no split {spec.split!r} (it has {', '.join(ds)})")
                ds = ds[spec.split]
            return ds
        return datasets.load_dataset(where, name=opts.get("config") or None, split=spec.split,
                                     revision=opts.get("revision") or None,
                                     streaming=bool(opts.get("streaming", True)),
                                     data_files=opts.get("data_files") or None,
                                     cache_dir=opts.get("cache_dir") or None)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - datasets raises many kinds (offline, missing config, bad split)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{spec.path}: cannot load the dataset (config {opts.get('config') or 'default'}, "
                         f"split {spec.split}): {first}") from None


@register_reader("hf", options=_OPTIONS)
def read_hf(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """The split's rows as records, in the dataset's order."""
    rows = load_rows(spec, path)
    row = 0
    it = iter(rows)
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except Exception as e:  # noqa: BLE001 - a broken shard mid-stream: what was read stands
            yield malformed(spec, "row", row, f"cannot read from row {row}: {str(e).strip().splitlines()[0]}")
            return
        yield make_record(spec, path, "row", row, rec)
        row += 1


def resolved_revision(spec, path: str) -> str:
    """The commit of a Hub dataset the spec's revision names (a pinned commit as it is); ``""`` for a local
    folder, whose content hash the manifest records instead. Unresolvable offline: an InputError."""
    if os.path.exists(path):
        return ""
    revision = spec.options.get("revision") or "main"
    if _COMMIT.fullmatch(revision):
        return revision
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(spec.path, revision=revision).sha
    except Exception as e:  # noqa: BLE001 - offline, unknown repo or revision
        raise InputError(f"{spec.path}: cannot resolve revision {revision!r} of the Hub dataset "
                         f"({type(e).__name__}); pin a commit with options.revision") from None
