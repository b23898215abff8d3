"""The build pipeline's graph, assembled from a spec.

    sources ─Ingest─► records ─Extract─► candidates ─Filters (per source)─┐
    template files ─Import────────────────────────────────────────────────┴─Flatten─► Filter ─► Dedup (─► NearDedup) ─► Curate
                                                                                            ─► templates
    lexicon files ─Load─► lexicons
    ── phase 1 ends: templates and lexicons in the staging directory ──
    templates + lexicons ─Plan─► shard tasks              (pure function, once)
    shard tasks ─Expand+Lint+Write─► Parquet shards, shard summaries   (phase 2)

A source whose candidate filters hold a ``quota`` is extracted in quota order, only as far as the
quota fills (``transforms.quota_order``). Planning sits between two pipelines
so that each shard task enters phase 2 through ``Create``: every runner (Dask
included, whose bags keep the partitions of their source) can then spread
shards over its workers.
"""

from __future__ import annotations

import pickle
from typing import Mapping, Sequence
from dataclasses import replace

import apache_beam as beam

from pipelines.drops import candidate_filter_drop, extraction_drop, record_sample_drop
from schemas import storage

from schemas.quarantine import MAX_RECORD_BYTES
from schemas.records import LexiconEntry, Template, lexicons_table, templates_table
from transforms.candidate_filters import KEPT as KEPT_CANDIDATES, REJECTED as REJECTED_CANDIDATES, FilterCandidates
from transforms.candidate_filters import SampleRecords
from transforms.curation import CurateTemplates
from transforms.extract import QUARANTINED, REJECTED, TEMPLATES
from transforms.filter import DROPPED, KEPT, DedupTemplates, FilterTemplates
from transforms.filter import REJECTED as FILTER_REJECTED
from transforms.ingest import RECORDS, IngestSources, expand_paths
from transforms.load import ImportTemplateFiles, LoadLexicons
from transforms.near_dedup import KEPT as NEAR_KEPT, PAIRS as NEAR_PAIRS, NearDedupTemplates
from transforms.plan import templates_for
from transforms.parse_cache import DEFAULT_MAX_BYTES
from transforms.quota_order import UNREACHED_TAG as UNREACHED, ExtractInQuotaOrder
from transforms.shards import ExpandAndWriteShards
from transforms.write import write_table

#: phase 1's hand-off to the driver, under the staging folder, read back through the filesystem layer
PHASE1_DIR = "_phase1"
TEMPLATES_DUMP = "templates.pickle"
LEXICONS_DUMP = "lexicons.pickle"
REJECTED_DUMP = "rejected.pickle"
QUARANTINE_DUMP = "quarantine.pickle"
#: what extraction, filter and dedup dropped (``pipelines.drops``), read by ``load_drops``
DROPS_DIR = "_drops"
DROPS_DUMP = "drops.pickle"
NEAR_DUMP = "near_pairs.pickle"


def _write(pickled: bytes, staging_dir: str, name: str) -> None:
    storage.write_bytes(storage.join(staging_dir, PHASE1_DIR, name), pickled)


def _dump(value, staging_dir: str, name: str, sort_key=None) -> None:
    if sort_key is not None:
        value = sorted(value, key=sort_key)
    _write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), staging_dir, name)


def template_graph(p: beam.Pipeline, spec, staging_dir: str) -> None:
    """Phase 1: sources and template files to the final template list; lexicons loaded.

    Hands the templates, the lexicons and, with sources, the count of records extraction rejected and
    the records set aside for their size before parsing (see pipelines.quarantine) to the driver as
    files under ``staging_dir/_phase1`` (``load_phase1``).
    """
    parts, drops = [], []
    if spec.sources:
        # filters.max_record_bytes is every source's limit unless its options set one
        # a glob path reads as one source per file it matches (expand_paths), in name order
        sources = [pair for s in spec.sources for pair in expand_paths(
            replace(s, options={MAX_RECORD_BYTES: spec.filters.max_record_bytes, **s.options}), spec.resolve(s.path))]
        ingested = p | "Ingest" >> IngestSources(sources)
        sampled = ingested[RECORDS] | SampleRecords(spec.extract, spec.seed)
        extracted = extract_records(sampled[KEPT_CANDIDATES], spec)
        candidates = filter_candidates(extracted[TEMPLATES], spec)
        parts.append(candidates[KEPT_CANDIDATES])
        drops.append(sampled[REJECTED_CANDIDATES] | "SampleDrops" >> beam.Map(record_sample_drop))
        drops.append(extracted[UNREACHED] | "UnreachedDrops" >> beam.Map(record_sample_drop))
        drops.append(extracted[REJECTED] | "ExtractionDrops" >> beam.Map(extraction_drop))
        drops.append(candidates[REJECTED_CANDIDATES] | "CandidateFilterDrops" >> beam.Map(candidate_filter_drop))
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
    near = spec.filters.dedup == "near"
    deduped = filtered[KEPT] | "Dedup" >> DedupTemplates("exact" if near else spec.filters.dedup, report_dropped=True)
    templates = deduped[KEPT]
    if near:
        near_deduped = templates | "NearDedup" >> NearDedupTemplates(
            spec.filters.near_method, spec.filters.near_threshold,
            [s.name for s in spec.sources] + [t.source_dataset for t in spec.template_files])
        templates = near_deduped[NEAR_KEPT]
        drops.append(near_deduped[NEAR_PAIRS] | "NearDrops" >> beam.Map(
            lambda d: {"stage": "dedup", "reason": f"near ({d.get('method', 'near')})", "id": d["dropped"]}))
        _ = (near_deduped[NEAR_PAIRS] | "CollectNearPairs" >> beam.combiners.ToList()
             | "DumpNearPairs" >> beam.Map(_dump, staging_dir, NEAR_DUMP,
                                           sort_key=lambda d: (d["task"], d["kept"], d["dropped"])))
    templates = templates | CurateTemplates(spec.curation)
    _ = ((*drops, filtered[FILTER_REJECTED], deduped[DROPPED]) | "AllDrops" >> beam.Flatten()
         | "CollectDrops" >> beam.combiners.ToList()
         | "DumpDrops" >> beam.Map(lambda found: storage.write_bytes(
             storage.join(staging_dir, DROPS_DIR, DROPS_DUMP),
             pickle.dumps(sorted(found, key=lambda d: (d["stage"], d["reason"], str(d.get("id", "")))),
                          protocol=pickle.HIGHEST_PROTOCOL))))
    _ = (templates | "CollectTemplates" >> beam.combiners.ToList()
         | "DumpTemplates" >> beam.Map(_dump, staging_dir, TEMPLATES_DUMP,
                                       sort_key=lambda t: (t["ordinal"], t["template_id"])))
    _ = (p | "LoadLexicons" >> LoadLexicons([(lx, spec.resolve(lx.path) if lx.path else "") for lx in spec.lexicons])
         | "DumpLexicons" >> beam.Map(_write, staging_dir, LEXICONS_DUMP))  # pickled where they were loaded


def resolved_filters(spec, ex) -> list[dict]:
    """An extract spec's candidate filters with their data paths opened where the pipeline reads."""
    return [{**f, "path": spec.resolve(f["path"])} if "path" in f else dict(f) for f in ex.filters]


def source_filters(spec) -> dict[str, list[dict]]:
    """Source -> the candidate filters all its candidates get: those of its last extract entry that has
    filters (a source two entries read has one set of filters), data paths resolved."""
    return {ex.source: resolved_filters(spec, ex) for ex in spec.extract if ex.filters}


def extract_records(records, spec, quota_order: bool = True, parse_cache: bool = True):
    """Source record dicts -> ``{templates, rejected, quarantined, unreached}``: every extract entry applied,
    the records of a source with a ``quota`` in quota order, up to where it fills (``transforms.quota_order``),
    each distinct text parsed once a worker (``transforms.parse_cache``). ``quota_order=False`` extracts every
    record, ``parse_cache=False`` parses a text once a batch (the same kept candidates; what the tests compare
    with)."""
    return records | "Extract" >> ExtractInQuotaOrder(spec.extract, source_filters(spec) if quota_order else {},
                                                      spec.seed, max_chars=spec.filters.max_chars,
                                                      parse_cache_bytes=DEFAULT_MAX_BYTES if parse_cache else 0)


def filter_candidates(candidates, spec):
    """Extracted template dicts -> {kept, rejected}: each source's ``extract[].filters`` applied to its own
    candidates (sources without filters pass through); rejected are {template, stage, reason}."""
    kept, rejected = [], []
    with_filters = source_filters(spec)
    if not with_filters:
        return {KEPT_CANDIDATES: candidates, REJECTED_CANDIDATES: candidates | "NoCandidateFilters" >> beam.Filter(
            lambda _: False)}
    kept.append(candidates | "WithoutFilters" >> beam.Filter(lambda t, names: t["source_dataset"] not in names,
                                                             sorted(with_filters)))
    for name, filters in sorted(with_filters.items()):
        mine = candidates | f"Source[{name}]" >> beam.Filter(lambda t, n: t["source_dataset"] == n, name)
        out = mine | f"Filters[{name}]" >> FilterCandidates(filters, spec.seed)
        kept.append(out[KEPT_CANDIDATES])
        rejected.append(out[REJECTED_CANDIDATES])
    return {KEPT_CANDIDATES: kept | "KeptCandidates" >> beam.Flatten(),
            REJECTED_CANDIDATES: rejected | "RejectedCandidates" >> beam.Flatten()}


def shard_graph(p: beam.Pipeline, task_paths: list[str], staging_dir: str) -> None:
    """Phase 2: one element per shard task file; expand, lint and write; each shard leaves its summary."""
    _ = (p | "ShardTasks" >> beam.Create(task_paths, reshuffle=False)
         | "ExpandLintWrite" >> ExpandAndWriteShards(staging_dir))


def load_phase1(staging_dir: str) -> tuple[list[Template], dict[str, list[LexiconEntry]], int, list[dict], list[dict]]:
    """Read back and remove what phase 1 left: templates, lexicons, how many records extraction rejected,
    the records quarantined, and the near-duplicate pairs decided (``NearPair`` dicts; empty unless
    ``filters.dedup: near``)."""
    root = storage.join(staging_dir, PHASE1_DIR)

    def take(name, default=None):
        path = storage.join(root, name)
        return pickle.loads(storage.read_bytes(path)) if storage.exists(path) else default

    templates = [Template.from_dict(t) for t in take(TEMPLATES_DUMP)]
    lexicons, rejected, quarantined = take(LEXICONS_DUMP), take(REJECTED_DUMP, 0), take(QUARANTINE_DUMP, [])
    near_pairs = take(NEAR_DUMP, [])
    storage.delete_tree(root)
    return templates, lexicons, rejected, quarantined, near_pairs


def load_drops(staging_dir: str) -> list[dict]:
    """Read back and remove what phase 1 dropped (extraction, filter, dedup), one dict per drop."""
    root = storage.join(staging_dir, DROPS_DIR)
    path = storage.join(root, DROPS_DUMP)
    found = pickle.loads(storage.read_bytes(path)) if storage.exists(path) else []
    storage.delete_tree(root)
    return found


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


