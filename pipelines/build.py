"""``biasbench build``: run the pipeline into a staging directory, validate, publish atomically.

A release directory appears only when every file is written and the gate has
passed: the pipeline writes into ``<out>/<benchmark>/.staging-*``, and the
finished directory is renamed to ``<out>/<benchmark>/<version>`` in one step.
A refused build is kept as ``.rejected-<version>`` for inspection, never where
a release belongs.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import apache_beam as beam

from pipelines.drops import DROPS_FILE, counts_text, drop_counts, write_drops
from pipelines.extract_check import refuse_unclean
from pipelines.grammar import grammar_from_plan, grammar_report, load_parser
from pipelines.graph import load_drops, load_phase1, shard_graph, template_graph, write_catalogues
from pipelines.manifest import build_manifest, input_hashes
from pipelines.plots import PNG_FILE, import_matplotlib, write_png
from pipelines.quarantine import progress_line, quarantine_counts, write_quarantine
from pipelines.runners import described_job, pipeline_options
from pipelines.shard_follower import (CARD_CLAIM, DRIVER, PNG_CLAIM, claim_once, driver_config_stats,
                                      follow_config_stats, import_matplotlib_unless_claimed)
from pipelines.release_store import commit_release, local_view, move_aside, release_exists, working_copy
from pipelines.staging import make_staging_dir, missing_folders, remove_if_empty, remove_stale_staging
from schemas import progress, storage
from schemas.errors import BiasbenchError, SpecError, ValidationFailed
from schemas.paths import check_version, confined_join
from schemas.release import (CODE_VERSION, MANIFEST, CorruptManifest, file_entries, first_problem, integrity_checks,
                             manifest_text, read_manifest)
from transforms.shard_summaries import SUMMARY_DIR, read_summaries
from transforms.shards import PLAN_DIR, ROWS_DIGEST, write_plan
from transforms.plan import filler_where_drops, layout_of, plan_shards
from transforms import rules


@dataclass
class BuildResult:
    release_dir: str
    configs: dict[str, dict]
    seconds: dict[str, float] = field(default_factory=dict)
    unchanged: bool = False
    validation: dict = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)  # reason -> source records set aside
    dropped: dict[str, int] = field(default_factory=dict)  # "stage/reason" -> records or templates dropped
    unused_overrides: list[str] = field(default_factory=list)  # article_overrides keys naming no word


_say = progress.say


def _merge_lint(summaries: Sequence[dict]):
    from schemas.lint import LintResult

    total = LintResult()
    for s in summaries:
        if s.get("lint"):
            total = total.merge(LintResult.from_dict(s["lint"]))
    return total


def _merge_tallies(summaries: Sequence[dict]) -> dict:
    """Each config's shard tallies merged in shard order."""
    from schemas.tally import merged, tally_from_state

    ordered = sorted((s for s in summaries if s.get("tally")), key=lambda s: (s["config"], s["index"]))
    configs = dict.fromkeys(s["config"] for s in ordered)
    return {c: merged(tally_from_state(s["tally"]) for s in ordered if s["config"] == c) for c in configs}


def _config_info(spec, summaries: Sequence[dict]) -> dict[str, dict]:
    info = {}
    for c in spec.configs:
        mine = sorted((s for s in summaries if s["config"] == c.name), key=lambda s: s["index"])
        groups: dict[str, int] = {}
        for s in mine:
            for g, n in s["groups"].items():
                groups[g] = groups.get(g, 0) + n
        info[c.name] = {
            "task": c.task, "axis": c.axis, "split": c.split, "fill_type": c.fill_type,
            "rows": sum(s["rows"] for s in mine), "files": [s["path"] for s in mine],
            "groups": {g.name: groups.get(g.name, 0) for g in c.groups},
            "schema": [[f.name, str(f.type)] for f in layout_of(c).schema],
        }
    return info


def check_intact(release_dir: str) -> dict:
    """The manifest of an existing release ``<out>/<benchmark>/<version>`` whose files pass
    ``schemas.release.integrity_checks`` and whose manifest names that version.

    Raises ValidationFailed naming the first corrupt file otherwise: a command
    must never call a release unchanged when only its manifest is. A release on an
    object store is checked on a local copy.
    """
    with local_view(release_dir) as local:
        try:
            manifest = read_manifest(local)
            problem = first_problem(integrity_checks(local, manifest))
            if not problem and manifest.get("version") != storage.basename(release_dir.rstrip("/")):
                problem = f"{MANIFEST} says version {manifest.get('version')!r}"
        except FileNotFoundError:
            problem = f"{MANIFEST} missing"
        except CorruptManifest as e:
            problem = str(e).replace(": ", " ", 1)
    if problem:
        raise ValidationFailed(f"{release_dir} is corrupt: {problem}; run biasbench validate")
    return manifest


def _same_release(existing_dir: str, staging_dir: str) -> bool:
    return check_intact(existing_dir) == read_manifest(staging_dir)


def _run_phase1(spec, staging_dir: str, make_runner, options) -> None:
    with beam.Pipeline(runner=make_runner(), options=options) as p:
        template_graph(p, spec, staging_dir)


def _release_paths(spec, out_dir: str, version: str) -> tuple[str, str]:
    """``(<out>/<benchmark>, <out>/<benchmark>/<version>)``, checked to stay under ``out_dir``."""
    try:
        check_version(version)
        parent = confined_join(out_dir, spec.benchmark)
        return parent, confined_join(parent, version)
    except ValueError as e:
        raise SpecError(f"--version/benchmark: {e}") from None


def describe_job(spec, out_dir: str = "releases", version: str | None = None, beam_args: Sequence[str] = ()) -> str:
    """Dataflow with ``--template_location``: Beam writes phase 1's job description and stages the
    package, and nothing runs; return the job file. No release is written.

    Phase 1 is constructed exactly as :func:`build_release` constructs it (same staging
    folder under ``out_dir``, removed afterwards). Phase 2's shard tasks are planned from
    phase 1's output, the templates, so no job description of phase 2 exists before phase 1 ran.
    """
    location = described_job("dataflow", beam_args)
    if not location:
        raise BiasbenchError("describing a Dataflow job needs --beam-arg=--template_location=FILE")
    parent, _ = _release_paths(spec, out_dir, version or spec.version)
    created = missing_folders(parent)
    staging = make_staging_dir(parent, version or spec.version)
    try:
        with pipeline_options("dataflow", extra_args=beam_args) as (make_runner, options):
            _run_phase1(spec, staging, make_runner, options)
    finally:
        storage.delete_tree(staging)
        remove_if_empty(created)
    if not os.path.exists(location) and "://" not in location:
        raise BiasbenchError(f"--template_location {location}: Beam wrote no job description there")
    return location


def run_pipeline(spec, staging_dir: str, runner: str, workers: int, dask_address: str | None,
                 beam_args: Sequence[str], seconds: dict[str, float] | None = None,
                 notes: dict | None = None, gate=None) -> list[dict]:
    """Phase 1 (templates), plan and phase 2 (shards); return the shard summaries.

    ``notes`` (when given) receives ``unused_overrides``: the spec's article_overrides keys no word uses,
    and ``grammar``: a function returning the grammar check's report (see ``finalize``), not yet called.

    Every hand-off between the driver and the workers is a file under ``staging_dir``, read and
    written through the filesystem layer, so the workers need no disk in common with the driver.
    ``gate`` (a :class:`validation.worker.GateWorker`): when this process has not loaded spaCy (no
    extraction, no parsing importer), the gate's process loads it while this one plans, and checks
    grammar while this one expands (on the other core); otherwise the check runs here, when ``finalize``
    asks for it (after the gate's work is handed over).
    """
    seconds = {} if seconds is None else seconds
    notes = {} if notes is None else notes
    with pipeline_options(runner, workers, dask_address, beam_args) as (make_runner, options):
        t0 = time.perf_counter()
        _run_phase1(spec, staging_dir, make_runner, options)
        templates, lexicons, rejected, quarantined, near_pairs = load_phase1(staging_dir)
        templates, unclean = refuse_unclean(spec, templates)
        seconds["templates"] = time.perf_counter() - t0
        _say(f"[templates] {len(templates):,} templates ({rejected:,} source records rejected by extraction), "
             f"{sum(map(len, lexicons.values())):,} lexicon entries in {seconds['templates']:.1f}s")
        if spec.filters.dedup == "near":
            _say(near_dedup_line(spec.filters, near_pairs))
        beside = gate is not None and bool(templates) and "spacy" not in sys.modules
        if beside:
            gate.submit_loading(load_parser)
        quarantine = progress_line(write_quarantine(spec, staging_dir, quarantined))
        if quarantine:
            _say(quarantine)
        t1 = time.perf_counter()
        tasks, ctx = plan_shards(spec, templates, lexicons)
        dropped = write_drops(staging_dir, [*load_drops(staging_dir), *unclean,
                                            *filler_where_drops(spec, templates, ctx)])
        if dropped:
            _say(f"[dropped] {counts_text(dropped)} (stage/reason; ids in {DROPS_FILE})")
        unused = unused_article_overrides(spec, templates, lexicons)
        notes["unused_overrides"] = unused
        if unused:
            _say(f"[article_overrides] {', '.join(unused)}: no template or filler has this word")
        write_catalogues(spec, templates, ctx.lexicons, staging_dir)
        task_paths = write_plan(staging_dir, tasks, ctx)
        seconds["plan"] = time.perf_counter() - t1
        _say(f"[plan] {len(tasks)} shards, {sum(t.rows for t in tasks):,} rows planned")
        if beside:
            pending = gate.submit(grammar_from_plan, staging_dir, task_paths)
        following = gate is not None and gate.in_child
        png = None if storage.is_remote(staging_dir) else os.path.join(staging_dir, PNG_FILE)
        if following and png:  # the gate's process draws stats.png unless the driver gets to it first:
            gate.submit_loading(import_matplotlib_unless_claimed, staging_dir)  # it imports matplotlib ahead
        elif gate is not None:  # the gate's process draws it at the end (in this one when it runs here)
            gate.submit_loading(import_matplotlib)
        if following:  # the gate's process computes figures as soon as their config's shards are written
            # and, once all are, draws stats.png (into a local staging folder: on an object store finalize
            # works on a copy, made when it starts, and draws it there)
            notes["config_stats"] = (gate.submit(follow_config_stats, staging_dir, spec,
                                                 Counter(t.layout.name for t in tasks), png, png is not None),
                                     staging_dir, png)
        t2 = time.perf_counter()
        with beam.Pipeline(runner=make_runner(), options=options) as p:
            shard_graph(p, task_paths, staging_dir)
        seconds["expand"] = time.perf_counter() - t2

    def grammar() -> dict:
        if beside:
            report, seconds["grammar"] = pending.result()
        else:
            t3 = time.perf_counter()
            report = grammar_report(tasks, ctx)
            seconds["grammar"] = time.perf_counter() - t3
        _say(f"[grammar] {report['probes']:,} probe sentences ({report['parsed']:,} parsed) for "
             f"{report['rows_checked']:,} rows: {report['findings']:,} findings in {report['cells']:,} cells, "
             f"{seconds['grammar']:.1f}s{' (beside the expansion)' if beside else ''}")
        return report

    grammar.beside = beside
    notes["grammar"] = grammar
    summaries = read_summaries(staging_dir, len(tasks))
    if not beside:  # the gate's process reads the plan until its check is done: finalize removes it then
        storage.delete_tree(storage.join(staging_dir, PLAN_DIR))
    if not following:  # otherwise the gate's process reads the shards' tallies until its figures are done
        storage.delete_tree(storage.join(staging_dir, SUMMARY_DIR))
    return summaries


def written_digests(summaries: Sequence[dict]) -> dict[str, str]:
    """The rows digests the shard writers computed (a writer does for a config of one shard only; the others
    are read back)."""
    return {s["config"]: s[ROWS_DIGEST] for s in summaries if ROWS_DIGEST in s}


def unused_article_overrides(spec, templates, lexicons: dict[str, list]) -> list[str]:
    """The spec's ``article_overrides`` keys that name no word of any template or lexicon entry: typos."""
    from schemas.articles import unused_overrides

    if not spec.article_overrides:
        return []
    texts = [text for t in templates for _, text in t.slot_texts()]
    texts += [e.value for entries in lexicons.values() for e in entries]
    return unused_overrides(spec.article_overrides, texts)


def near_dedup_line(filters, pairs: Sequence[dict]) -> str:
    """The progress line of near-duplicate removal: the method used (the fallback named), threshold, drops.

    >>> from schemas.spec import FilterSpec
    >>> near_dedup_line(FilterSpec(dedup="near", near_method="minhash"), [{"method": "minhash"}])
    '[dedup] near duplicates by minhash (threshold 0.6): 1 template dropped'
    """
    from transforms.near_dedup import DEFAULT_THRESHOLD, resolve_method

    method = resolve_method(filters.near_method)
    threshold = filters.near_threshold if filters.near_threshold is not None else DEFAULT_THRESHOLD[method]
    fallback = " (the lexical fallback: the semantic extra is not installed)" \
        if method == "minhash" and filters.near_method == "auto" else ""
    n = len(pairs)
    return (f"[dedup] near duplicates by {method}{fallback} (threshold {threshold}): "
            f"{n:,} template{'' if n == 1 else 's'} dropped")


def finalize(spec, staging_dir: str, version: str, summaries: Sequence[dict], gate=None,
             changelog: Sequence[str] = (), grammar=None, config_stats=None) -> tuple[dict, dict]:
    """Stats, validation, card and manifest into the staging dir; return (configs, report).

    ``gate`` is a :class:`validation.worker.GateWorker` (one is made when None); ``changelog`` is the
    release's own changelog (what ``rebuild`` cut), kept in the manifest and shown in the card;
    ``grammar``: ``run_pipeline``'s function giving the grammar check's report (None: no such check);
    ``config_stats``: ``run_pipeline``'s (future, staging folder, stats.png's path or None): the gate's
    process following the shards in that folder, computing configs' figures (``pipelines.shard_follower``)
    and drawing stats.png at that path once every shard is written; this process takes configs too, the
    largest first (after parsing for the grammar check, when it is this one's to do); None: all are
    computed here.

    The two processes share the work: the gate's process judges the gate and draws stats.png (at the end,
    unless the picture was drawn while it followed the shards, by it or by this process when this one was
    done with its figures first); the figures are computed by whichever gets to a config first; the card
    is rendered by the process that ran out of figures first (``pipelines.shard_follower``); the rows
    digests (of configs of several shards: a one-shard config's comes with its shard) by the process that
    did not check grammar.
    """
    from dataclasses import replace

    from pipelines.card import judge_and_write_card, prepare_card, render_card
    from pipelines.manifest import rows_digests
    from validation.stats import compute_stats, plot_stats, read_templates, resolve_similarity_method, write_stats
    from validation.gate import add_grammar_check, write_validation
    from validation.worker import GateWorker

    configs = _config_info(spec, summaries)
    own = GateWorker(warm=False) if gate is None else None
    worker = gate or own
    try:
        # the shards are read back for their digests by the process that did not check grammar
        digests_here = grammar is not None and grammar.beside
        written = written_digests(summaries)
        digesting = None if digests_here else worker.submit(rows_digests, staging_dir, configs, written)
        tallies = _merge_tallies(summaries)
        # this process's own work first: the gate's process may still be checking grammar (bbq-v1), and
        # the figures, which either process takes, balance whatever is done before them
        hashes = input_hashes(spec)
        digests = rows_digests(staging_dir, configs, written) if digests_here else None
        computed, grammar_found, followed, drawn, card_here = None, None, staging_dir, None, True
        if config_stats is not None:
            following, followed, drawn = config_stats
            if grammar is not None and not grammar.beside:
                grammar_found = grammar()  # only this process can: it parses while the other computes figures
            computed = driver_config_stats(followed, spec, tallies)
            if drawn is not None and claim_once(followed, PNG_CLAIM, DRIVER):  # the gate's process is still busy
                write_png([(spec.benchmark, plot_stats(spec, tallies, read_templates(followed),
                                                       resolve_similarity_method(spec)))], drawn)
            # the card is the gate's process's when it ran out of configs first (and claimed it, a local staging
            # folder only); else this one prepares it now, while it waits for the other
            card_here = drawn is None or claim_once(followed, CARD_CLAIM, DRIVER)
            if card_here:
                prepare_card()
            computed.update({c: r for c, r in following.result().items() if c not in computed})
        for folder in {staging_dir, followed}:  # the same folder unless the staging is on an object store
            storage.delete_tree(storage.join(folder, SUMMARY_DIR))  # what the figures were computed from
        lint = _merge_lint(summaries)
        stats = compute_stats(staging_dir, spec, lint.to_dict(), tallies=tallies, computed=computed)
        dropped = drop_counts(staging_dir)
        if dropped:
            stats["dropped"] = dropped  # shown in the card; the ids are in rejected.json
        write_stats(staging_dir, stats)
        versioned = replace(spec, version=version)  # validation.json records the version being built
        if card_here:
            pending = worker.submit_gate(staging_dir, versioned, lint, stats)
        if drawn is None:  # else the gate's process drew it from the same figures while this one computed some
            drawing = worker.submit(write_png, [(spec.benchmark, stats)], os.path.join(staging_dir, PNG_FILE))
        if grammar_found is None and grammar is not None:
            grammar_found = grammar()
        if digesting is not None:
            digests = digesting.result()
        # the card reads no file list: the files are listed once, when README.md and stats.png are written
        draft = build_manifest(staging_dir, spec, version, configs, hashes, CODE_VERSION, rows_sha256=digests,
                               rules_version=rules.RULES_VERSION, changelog=changelog, files=())
        if card_here:
            report = pending.result()
            if grammar_found is not None:
                report = add_grammar_check(report, grammar_found, spec.validation.max_grammar_findings)
            write_validation(staging_dir, report)
            with open(os.path.join(staging_dir, "README.md"), "w", encoding="utf-8") as f:
                f.write(render_card(draft.to_dict(), spec, stats, report))
        else:  # the gate's process judges, then writes validation.json and the card it prepared
            report = worker.submit(judge_and_write_card, staging_dir, versioned, lint, stats, grammar_found,
                                   draft.to_dict(), spec).result()
        if drawn is None:
            drawing.result()
    finally:
        if own is not None:
            own.close()
    storage.delete_tree(os.path.join(staging_dir, PLAN_DIR))  # what the grammar check read
    manifest = replace(draft, files=tuple(file_entries(staging_dir)))
    with open(os.path.join(staging_dir, MANIFEST), "w", encoding="utf-8") as f:
        f.write(manifest_text(manifest.to_dict()))
    return configs, report


def build_release(spec, out_dir: str = "releases", version: str | None = None, runner: str = "direct",
                  workers: int = 1, dask_address: str | None = None, beam_args: Sequence[str] = (),
                  decide_version=None, gate=None, fence=None) -> BuildResult:
    """Build ``spec`` into ``<out_dir>/<benchmark>/<version>`` (a local path or a ``gs://``/``s3://`` URL).

    ``decide_version(staged_dir)``, when given, sees the staged rows, templates and lexicons (no manifest
    yet) and returns ``(version, changelog)``, which replace ``version``: how ``rebuild`` numbers a
    release by what changed. ``gate``: a :class:`validation.worker.GateWorker` the caller started early and
    closes (``biasbench build`` starts it before importing Beam); one is made here when None. ``fence``:
    entered around the commit (``release_store.commit_release``; ``rebuild``'s lock check).
    """
    version = version or spec.version
    if described_job(runner, beam_args):
        raise BiasbenchError("--template_location only describes a Dataflow job and builds nothing: "
                             "use `biasbench build` with it, or leave it out to build")
    parent, final = _release_paths(spec, out_dir, version)
    if release_exists(final):
        check_intact(final)  # a corrupt release is refused before any work, and left as it is
    created = missing_folders(parent)
    staging = make_staging_dir(parent, version)
    removed = remove_stale_staging(parent)
    if removed:
        _say(f"[pipeline] removed {len(removed)} stale staging folder(s) of earlier runs: {', '.join(removed)}")
    seconds: dict[str, float] = {}
    from validation.worker import GateWorker

    own = GateWorker() if gate is None else None  # imports Great Expectations on the other core meanwhile
    gate = gate or own
    try:
        _say(f"[pipeline] {spec.benchmark} {version}: ingest → extract → filter → plan → expand → write "
             f"on the {runner} runner")
        notes: dict = {}
        summaries = run_pipeline(spec, staging, runner, workers, dask_address, beam_args, seconds, notes, gate)
        changelog: Sequence[str] = ()
        if decide_version is not None:
            with working_copy(staging) as local:
                version, changelog = decide_version(local)
            parent, final = _release_paths(spec, out_dir, version)
            if release_exists(final):
                check_intact(final)
        rows = sum(s["rows"] for s in summaries)
        _say(f"[expand] {rows:,} rows in {seconds['expand']:.1f}s ({rows / max(seconds['expand'], 1e-9):,.0f} rows/s)")
        t1 = time.perf_counter()
        _say("[validate] lint totals, Great Expectations suite, stats, card, manifest")
        with working_copy(staging) as local:
            configs, report = finalize(spec, local, version, summaries, gate, changelog, notes["grammar"],
                                       notes.get("config_stats"))
            same = release_exists(final) and _same_release(final, local)
        seconds["validate"] = time.perf_counter() - t1
        if not report.get("passed"):
            from validation.gate import failed_summary

            rejected = storage.join(parent, f".rejected-{version}")
            move_aside(staging, rejected)
            raise ValidationFailed(f"{failed_summary(report)}; nothing released; "
                                   f"report in {storage.join(rejected, 'validation.json')}")
        unchanged = release_exists(final)
        if unchanged and not same:
            raise BiasbenchError(f"{final} already exists with different content; releases are immutable: "
                                 f"build with --version X.Y.Z")
        if not unchanged:
            commit_release(staging, final, fence)
        return BuildResult(final, configs, seconds, unchanged, report, quarantined=quarantine_counts(final),
                           dropped=drop_counts(final), unused_overrides=notes.get("unused_overrides", []))
    except BaseException:
        gate.terminate()  # a failed or interrupted build does not wait for the gate's child
        raise
    finally:
        if own is not None:
            own.close()
        storage.delete_tree(staging)
        remove_if_empty(created)
