"""The build pipeline's graph, assembled from a spec.

    sources ─Ingest─► records ─Extract─► candidates ┐
    template files ─Import──────────────────────────┴─Flatten─► Filter ─► Dedup ─► templates
    lexicon files ─Load─► lexicons
    templates + lexicons ─Plan─► shard tasks ─Expand+Lint+Write─► shard summaries

Everything the driver needs afterwards (templates.parquet, lexicons.parquet,
the shard summaries) is written into the staging directory by the pipeline.
"""

from __future__ import annotations

import json
import os

import apache_beam as beam

from schemas.records import LexiconEntry, Template, lexicons_table, templates_table
from transforms.extract import ExtractTemplates
from transforms.filter import DedupTemplates, FilterTemplates
from transforms.ingest import IngestSources
from transforms.load import ImportTemplateFiles, LoadLexicons
from transforms.plan import plan_release, templates_for
from transforms.shards import ExpandAndWriteShards
from transforms.write import write_table

SHARD_SUMMARIES = "_shards.json"


def _write_catalogues(template_dicts, lexicons, spec, staging_dir):
    """templates.parquet and lexicons.parquet: exactly what the rows were built from."""
    templates = sorted((Template.from_dict(t) for t in template_dicts), key=lambda t: (t.ordinal, t.template_id))
    used = {t.template_id: t for c in spec.configs for t in templates_for(c, templates)}
    write_table(os.path.join(staging_dir, "templates.parquet"),
                templates_table([t for t in templates if t.template_id in used]))
    used_lexicons = sorted({c.lexicon for c in spec.configs} | {v for c in spec.configs for v in c.referents.values()})
    entries = [LexiconEntry.from_dict(e) for name in used_lexicons for e in lexicons[name]]
    write_table(os.path.join(staging_dir, "lexicons.parquet"), lexicons_table(entries))
    return len(used), len(entries)


def _plan(template_dicts, lexicons, spec):
    templates = [Template.from_dict(t) for t in template_dicts]
    entries = {name: [LexiconEntry.from_dict(e) for e in rows] for name, rows in lexicons.items()}
    return plan_release(spec, templates, entries)


def _write_summaries(summaries, staging_dir):
    summaries = sorted(summaries, key=lambda s: (s["config"], s["index"]))
    with open(os.path.join(staging_dir, SHARD_SUMMARIES), "w", encoding="utf-8") as f:
        json.dump(summaries, f, indent=1, sort_keys=True)


def build_graph(p: beam.Pipeline, spec, staging_dir: str) -> None:
    """Add every stage of ``spec``'s build to pipeline ``p``."""
    parts = []
    if spec.sources:
        records = p | "Ingest" >> IngestSources([(s, spec.resolve(s.path)) for s in spec.sources])
        parts.append(records | "Extract" >> ExtractTemplates(spec.extract))
    if spec.template_files:
        parts.append(p | "ImportTemplates" >> ImportTemplateFiles(
            [(t, spec.resolve(t.path)) for t in spec.template_files]))
    if not parts:
        raise ValueError("the spec has neither 'sources' with 'extract' rules nor 'template_files'")
    templates = (parts | "AllCandidates" >> beam.Flatten()
                 | "Filter" >> FilterTemplates(spec.filters)
                 | "Dedup" >> DedupTemplates())
    lexicons = p | "LoadLexicons" >> LoadLexicons([(lx, spec.resolve(lx.path) if lx.path else "")
                                                   for lx in spec.lexicons])
    all_templates = templates | "CollectTemplates" >> beam.combiners.ToList()
    _ = all_templates | "WriteCatalogues" >> beam.Map(
        _write_catalogues, lexicons=beam.pvalue.AsSingleton(lexicons), spec=spec, staging_dir=staging_dir)
    tasks = all_templates | "Plan" >> beam.FlatMap(_plan, lexicons=beam.pvalue.AsSingleton(lexicons), spec=spec)
    summaries = tasks | "ExpandLintWrite" >> ExpandAndWriteShards(staging_dir, lexicons, spec.article_overrides)
    _ = (summaries | "CollectSummaries" >> beam.combiners.ToList()
         | "WriteSummaries" >> beam.Map(_write_summaries, staging_dir=staging_dir))
