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
import os

import apache_beam as beam

from schemas.records import LexiconEntry, Template, lexicons_table, templates_table
from transforms.extract import REJECTED, TEMPLATES, ExtractTemplates
from transforms.filter import KEPT, DedupTemplates, FilterTemplates
from transforms.ingest import IngestSources
from transforms.load import ImportTemplateFiles, LoadLexicons
from transforms.expand import LexiconContext
from transforms.plan import plan_release, templates_for
from transforms.shards import ExpandAndWriteShards
from transforms.write import write_table

SHARD_SUMMARIES = "_shards.pickle"
TEMPLATES_DUMP = "_templates.pickle"
LEXICONS_DUMP = "_lexicons.pickle"
REJECTED_DUMP = "_rejected.pickle"


def _dump(value, staging_dir: str, name: str, sort_key=None) -> None:
    if sort_key is not None:
        value = sorted(value, key=sort_key)
    # internal hand-off from the pipeline's workers to this driver (same machine or shared
    # filesystem), read back and deleted before the release is assembled
    with open(os.path.join(staging_dir, name), "wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)


def template_graph(p: beam.Pipeline, spec, staging_dir: str) -> None:
    """Phase 1: sources and template files to the final template list; lexicons loaded.

    Writes ``_templates.pickle`` and ``_lexicons.pickle`` into the staging directory.
    """
    parts = []
    if spec.sources:
        records = p | "Ingest" >> IngestSources([(s, spec.resolve(s.path)) for s in spec.sources])
        extracted = records | "Extract" >> ExtractTemplates(spec.extract)
        parts.append(extracted[TEMPLATES])
        _ = (extracted[REJECTED] | "CountRejected" >> beam.combiners.Count.Globally()
             | "DumpRejected" >> beam.Map(_dump, staging_dir, REJECTED_DUMP))
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


def shard_graph(p: beam.Pipeline, tasks, ctx: LexiconContext, staging_dir: str, local_token: str | None = None) -> None:
    """Phase 2: one element per shard task; expand, lint and write; summaries to ``_shards.pickle``.

    ``local_token``: see ``transforms.shards.local_context`` (only when ``p`` runs in this process)."""
    summaries = (p | "ShardTasks" >> beam.Create(tasks, reshuffle=False)
                 | "ExpandLintWrite" >> ExpandAndWriteShards(staging_dir, ctx, local_token=local_token))
    _ = (summaries | "CollectSummaries" >> beam.combiners.ToList()
         | "DumpSummaries" >> beam.Map(_dump, staging_dir, SHARD_SUMMARIES,
                                       sort_key=lambda s: (s["config"], s["index"])))


def load_phase1(staging_dir: str) -> tuple[list[Template], dict[str, list[dict]], int]:
    """Read back and remove what phase 1 left: templates, lexicons, records extraction rejected."""
    def take(name, default=None):
        path = os.path.join(staging_dir, name)
        if not os.path.exists(path):
            return default
        with open(path, "rb") as f:
            value = pickle.load(f)
        os.remove(path)
        return value

    templates = [Template.from_dict(t) for t in take(TEMPLATES_DUMP)]
    return templates, take(LEXICONS_DUMP), take(REJECTED_DUMP, 0)


def write_catalogues(spec, templates: list[Template], lexicons: dict[str, list[dict]], staging_dir: str) -> None:
    """templates.parquet and lexicons.parquet: exactly what the rows were built from."""
    used = {t.template_id for c in spec.configs for t in templates_for(c, templates)}
    write_table(os.path.join(staging_dir, "templates.parquet"),
                templates_table([t for t in templates if t.template_id in used]))
    names = sorted({c.lexicon for c in spec.configs} | {v for c in spec.configs for v in c.referents.values()})
    entries = [LexiconEntry.from_dict(e) for name in names for e in lexicons[name]]
    write_table(os.path.join(staging_dir, "lexicons.parquet"), lexicons_table(entries))


def plan_shards(spec, templates: list[Template], lexicons: dict[str, list[dict]]):
    """The shard tasks (a pure function of spec, templates and lexicons: same on every run), and the
    LexiconContext they were planned with, which the shard workers render with."""
    entries = {name: [LexiconEntry.from_dict(e) for e in rows] for name, rows in lexicons.items()}
    ctx = LexiconContext(entries, spec.article_overrides)
    return plan_release(spec, templates, entries, ctx), ctx
