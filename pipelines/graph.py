"""The build pipeline's graph, assembled from a spec.

    sources ─Ingest─► records ─Extract─► candidates ┐
    template files ─Import──────────────────────────┴─Flatten─► Filter ─► Dedup ─► templates
    lexicon files ─Load─► lexicons
    ── phase 1 ends: templates and lexicons in the staging directory ──
    templates + lexicons ─Plan─► shard tasks              (pure function, once)
    shard tasks ─Expand+Lint+Write─► Parquet shards, shard summaries   (phase 2)

Planning sits between two pipelines so that each shard task enters phase 2
through ``Create``: every runner (Dask included, whose bags keep the partitions
of their source) can then spread shards over its workers.
"""

from __future__ import annotations

import pickle
from typing import Mapping, Sequence
from dataclasses import replace

import apache_beam as beam

from schemas import storage

from schemas.quarantine import MAX_RECORD_BYTES
from schemas.records import LexiconEntry, Template, lexicons_table, templates_table
from transforms.extract import QUARANTINED, REJECTED, TEMPLATES, ExtractTemplates
from transforms.filter import KEPT, DedupTemplates, FilterTemplates
from transforms.ingest import RECORDS, IngestSources
from transforms.load import ImportTemplateFiles, LoadLexicons
from transforms.plan import templates_for
from transforms.shards import ExpandAndWriteShards
from transforms.write import write_table

#: phase 1's hand-off to the driver, under the staging folder, read back through the filesystem layer
PHASE1_DIR = "_phase1"
TEMPLATES_DUMP = "templates.pickle"
LEXICONS_DUMP = "lexicons.pickle"
REJECTED_DUMP = "rejected.pickle"
QUARANTINE_DUMP = "quarantine.pickle"


def _dump(value, staging_dir: str, name: str, sort_key=None) -> None:
    if sort_key is not None:
        value = sorted(value, key=sort_key)
    storage.write_bytes(storage.join(staging_dir, PHASE1_DIR, name), pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def template_graph(p: beam.Pipeline, spec, staging_dir: str) -> None:
    """Phase 1: sources and template files to the final template list; lexicons loaded.

    Hands the templates, the lexicons and, with sources, the count of records extraction rejected and
    the records set aside for their size before parsing (see pipelines.quarantine) to the driver as
    files under ``staging_dir/_phase1`` (``load_phase1``).
    """
    parts = []
    if spec.sources:
        # filters.max_record_bytes is every source's limit unless its options set one
        sources = [(replace(s, options={MAX_RECORD_BYTES: spec.filters.max_record_bytes, **s.options}),
                    spec.resolve(s.path)) for s in spec.sources]
        ingested = p | "Ingest" >> IngestSources(sources)
        extracted = ingested[RECORDS] | "Extract" >> ExtractTemplates(spec.extract, max_chars=spec.filters.max_chars)
        parts.append(extracted[TEMPLATES])
        _ = (extracted[REJECTED] | "CountRejected" >> beam.combiners.Count.Globally()
             | "DumpRejected" >> beam.Map(_dump, staging_dir, REJECTED_DUMP))
        _ = ((ingested[QUARANTINED], extracted[QUARANTINED]) | "AllQuarantined" >> beam.Flatten()
             | "CollectQuarantined" >> beam.combiners.ToList()
             | "DumpQuarantined" >> beam.Map(_dump, staging_dir, QUARANTINE_DUMP))
    if spec.template_files:
        parts.append(p | "ImportTemplates" >> ImportTemplateFiles(
            [(t, spec.resolve(t.path)) for t in spec.template_files]))
    if not parts:
        raise ValueError("the spec has neither 'sources' with 'extract' rules nor 'template_files'")
    filtered = parts | "AllCandidates" >> beam.Flatten() | "Filter" >> FilterTemplates(spec.filters)
    templates = filtered[KEPT] | "Dedup" >> DedupTemplates(spec.filters.dedup)
    _ = (templates | "CollectTemplates" >> beam.combiners.ToList()
         | "DumpTemplates" >> beam.Map(_dump, staging_dir, TEMPLATES_DUMP,
                                       sort_key=lambda t: (t["ordinal"], t["template_id"])))
    _ = (p | "LoadLexicons" >> LoadLexicons([(lx, spec.resolve(lx.path) if lx.path else "") for lx in spec.lexicons])
         | "DumpLexicons" >> beam.Map(_dump, staging_dir, LEXICONS_DUMP))


def shard_graph(p: beam.Pipeline, task_paths: list[str], staging_dir: str) -> None:
    """Phase 2: one element per shard task file; expand, lint and write; each shard leaves its summary."""
    _ = (p | "ShardTasks" >> beam.Create(task_paths, reshuffle=False)
         | "ExpandLintWrite" >> ExpandAndWriteShards(staging_dir))


def load_phase1(staging_dir: str) -> tuple[list[Template], dict[str, list[dict]], int, list[dict]]:
    """Read back and remove what phase 1 left: templates, lexicons, how many records extraction rejected,
    the records quarantined for their size."""
    root = storage.join(staging_dir, PHASE1_DIR)

    def take(name, default=None):
        path = storage.join(root, name)
        return pickle.loads(storage.read_bytes(path)) if storage.exists(path) else default

    templates = [Template.from_dict(t) for t in take(TEMPLATES_DUMP)]
    lexicons, rejected, quarantined = take(LEXICONS_DUMP), take(REJECTED_DUMP, 0), take(QUARANTINE_DUMP, [])
    storage.delete_tree(root)
    return templates, lexicons, rejected, quarantined


def write_catalogues(spec, templates: list[Template], lexicons: Mapping[str, Sequence[LexiconEntry]],
                     staging_dir: str) -> None:
    """templates.parquet and lexicons.parquet: exactly what the rows were built from (``lexicons``: the
    planned context's entries, so each entry is parsed and its id computed once per build)."""
    used = {t.template_id for c in spec.configs for t in templates_for(c, templates)}
    write_table(storage.join(staging_dir, "templates.parquet"),
                templates_table([t for t in templates if t.template_id in used]))
    names = sorted({c.lexicon for c in spec.configs} | {v for c in spec.configs for v in c.referents.values()})
    entries = [e for name in names for e in lexicons[name]]
    write_table(storage.join(staging_dir, "lexicons.parquet"), lexicons_table(entries))


