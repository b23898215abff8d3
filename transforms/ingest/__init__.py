"""Ingest: one reader per source format, and the ``IngestSources`` PTransform.

Formats: ``jsonl``, ``json``, ``csv``, ``tsv``, ``parquet``, ``xml``, ``text``, ``blocks``, and
``hf`` (a Hugging Face dataset through ``datasets``, imported only when used).
A path may name a zip member (``archive.zip!inner/file.jsonl``) or several files (a glob).
A malformed record is quarantined with its file, line and reason, and reading goes on;
a missing file raises :class:`schemas.errors.InputError`.

>>> from schemas.spec import SourceSpec
>>> sorted(set(READERS) & {'blocks', 'csv', 'json', 'jsonl', 'parquet', 'text', 'tsv', 'xml'})  # hf: once imported
['blocks', 'csv', 'json', 'jsonl', 'parquet', 'text', 'tsv', 'xml']
"""

from transforms.ingest.base import (READER_OPTIONS, READERS, get_path, make_record, open_binary, open_text,
                                    record_position, register_reader)
from transforms.ingest import blocks, delimited, jsonfile, jsonl, parquet, text, xmlfile  # noqa: F401  (register)
from transforms.ingest.registry import expand_paths, read_source

__all__ = ["READERS", "READER_OPTIONS", "register_reader", "read_source", "expand_paths", "record_position", "get_path",
           "make_record", "open_binary", "open_text", "IngestSources", "RECORDS", "QUARANTINED"]


def __getattr__(name):
    # Beam is imported only by code that builds a pipeline, not by readers used in tools
    if name in ("IngestSources", "RECORDS", "QUARANTINED"):
        from transforms.ingest import beam
        return getattr(beam, name)
    raise AttributeError(name)
