"""The ``biasbench`` command line.

    biasbench build [SPEC] [--data-dir DIR] [--out DIR] [--version X.Y.Z] [--runner direct|dask|dataflow]
    biasbench extract SPEC [--data-dir DIR] [--out DIR]
    biasbench validate RELEASE [--full] [--verbose]
    biasbench stats RELEASE [--compare OTHER] [--text-field F] [--group-field G] [--json]
    biasbench diff OLD NEW
    biasbench publish RELEASE --repo-id ORG/NAME [--dry-run]
    biasbench rebuild SPEC [--publish ORG/NAME] [--json] [--lock-ttl SECONDS]
                          [--bump major|minor|patch [--force]] [--allow-fetch]
    biasbench --version

Every error is one line on stderr and a non-zero exit (2 for bad input or
spec, 3 for a release refused by validation, 4 when another run holds the
rebuild lock, 5 when a rebuild lost its lock while stalled, 130/143 when
stopped by SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
from typing import Sequence

# Parallelism is by processes (runner workers, the gate's process, embedding helpers), never by BLAS
# threads: a second BLAS thread competes with the build's other process for the second core and spins
# while it waits. Set before numpy is first imported (below); child processes inherit it; a user's value stays.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pipelines.release_store import local_view
from pipelines.run_lock import LockHeld, LockLost
from schemas import progress, storage
from schemas.errors import BiasbenchError, SpecError, ValidationFailed
from transforms.calm_inputs import NO_FETCH_ENV

EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_LOCKED, EXIT_LOCK_LOST = 2, 3, 4, 5

#: setup.py's ``driver`` extra, by import name: Dataflow workers never install it, the commands below need it
DRIVER_MODULES = ("yaml", "great_expectations", "pandas", "huggingface_hub", "psutil", "sacrebleu", "matplotlib",
                  "jinja2")
DRIVER_COMMANDS = ("build", "extract", "rebuild", "validate", "publish")


def missing_driver_modules() -> list[str]:
    import importlib.util

    return [m for m in DRIVER_MODULES if importlib.util.find_spec(m) is None]


#: the widest a printed table may be when the terminal's width is unknown (a pipe, a log)
DEFAULT_WIDTH = 100


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def _table(rows: list[list[str]], header: list[str], width: int | None = None) -> str:
    """Columns aligned; wider than ``width`` (default: the terminal's, else 100), the columns are cut into
    several tables, each repeating the first column."""
    width = width or _width()
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    parts, current = [], [0]
    for i in range(1, len(header)):
        if current != [0] and sum(widths[j] + 2 for j in current) + widths[i] > width:
            parts.append(current)
            current = [0]
        current.append(i)
    parts.append(current)

    def block(cols: list[int]) -> str:
        line = lambda r: "  ".join(str(r[i]).rjust(widths[i]) if i else str(r[i]).ljust(widths[i]) for i in cols)
        return "\n".join([line(header), "  ".join("-" * widths[i] for i in cols), *map(line, rows)])
    return "\n\n".join(block(cols) for cols in parts)


def _groups_text(groups: dict[str, int]) -> str:
    """``male=65 female=65 …``, or a count and range where there are too many groups to list."""
    if len(groups) <= 6:
        return " ".join(f"{g}={n:,}" for g, n in groups.items())
    low, high = min(groups.values()), max(groups.values())
    return f"{len(groups)} groups, {low:,} rows each" if low == high else f"{len(groups)} groups, {low:,}–{high:,} rows each"


def _print_summary(result) -> None:
    rows = []
    for name, info in result.configs.items():
        groups = _groups_text(info["groups"])
        rows.append([name, f"{info['rows']:,}", str(len(info["files"])), groups])
    checks = result.validation.get("checks", [])
    passed = sum(1 for c in checks if c.get("passed"))
    print(_table(rows, ["config", "rows", "shards", "groups"]), file=sys.stderr)
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    print(f"validation: {passed}/{len(checks)} checks passed; {timing}", file=sys.stderr)
    if result.quarantined:
        from pipelines.quarantine import QUARANTINE_FILE, counts_text

        print(f"quarantined: {counts_text(result.quarantined)} source records ({QUARANTINE_FILE})", file=sys.stderr)
    if result.dropped:
        from pipelines.drops import DROPS_FILE, counts_text

        print(f"dropped before expansion (stage/reason): {counts_text(result.dropped)} ({DROPS_FILE})", file=sys.stderr)
    if result.unused_overrides:
        print(f"article_overrides not used (no template or filler has the word): {', '.join(result.unused_overrides)}",
              file=sys.stderr)
    if result.unchanged:
        print(f"{result.release_dir} already holds this exact release; nothing changed", file=sys.stderr)
    print(result.release_dir)


def cmd_build(args) -> int:
    from validation.worker import GateWorker

    # a Dataflow job description (--template_location) runs no gate; any other build starts the gate's
    # process first, so that it imports Great Expectations while this one imports Beam
    describing = args.runner == "dataflow" and any(a.startswith("--template_location") for a in args.beam_args)
    with contextlib.nullcontext() if describing else GateWorker() as gate:
        from pipelines.build import build_release, describe_job
        from pipelines.runners import described_job
        from pipelines.spec import load_spec

        _freeze_imports()

        spec = load_spec(args.spec, data_dir=args.data_dir, confine_inputs=args.confine_inputs)
        if described_job(args.runner, args.beam_args):
            job = describe_job(spec, out_dir=args.out, version=args.version, beam_args=args.beam_args)
            print("phase 1 (ingest, extract, import, filter, dedup, lexicons) described for Dataflow and its package "
                  "staged to --temp_location; nothing ran and no release was written. Phase 2 (expand, lint, write) "
                  "is planned from phase 1's templates: build without --template_location to run both.",
                  file=sys.stderr)
            print(job)
            return 0
        result = build_release(spec, out_dir=args.out, version=args.version, runner=args.runner,
                               workers=args.workers, dask_address=args.dask_address, beam_args=args.beam_args,
                               gate=gate)
    _print_summary(result)
    return 0


def cmd_extract(args) -> int:
    """Candidates (Parquet), a review file and a report with every rejection counted, under --out."""
    from pipelines.extract_run import run_extract, summary_text
    from pipelines.spec import load_spec

    _freeze_imports()
    spec = load_spec(args.spec, data_dir=args.data_dir, confine_inputs=args.confine_inputs)
    if not spec.extract:
        raise SpecError(f"{args.spec}: no 'extract' rules: nothing to extract")
    result = run_extract(spec, args.out, runner=args.runner, workers=args.workers, dask_address=args.dask_address,
                         beam_args=args.beam_args)
    print(summary_text(result), file=sys.stderr)
    print(result.out_dir)
    return 0


# --- rebuild (scheduled runs): its outcome, as prose or one JSON object -------------------------

def cmd_rebuild(args) -> int:
    """Cut a new version only when the spec, an input or the rendering rules changed since the latest release."""
    with _fetching(args.allow_fetch):
        return _rebuild(args)


@contextlib.contextmanager
def _fetching(allowed: bool):
    """Without ``allowed`` no input is downloaded (transforms.calm_inputs): a scheduled job reads only what it
    was given. The environment carries it to worker processes; it is restored afterwards."""
    before = os.environ.get(NO_FETCH_ENV)
    if not allowed:
        os.environ[NO_FETCH_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(NO_FETCH_ENV, None)
        else:
            os.environ[NO_FETCH_ENV] = before


def _rebuild(args) -> int:
    from pipelines.rebuild import Outcome, rebuild
    from pipelines.spec import load_spec

    outcome = Outcome(status="failed")
    try:
        spec = load_spec(args.spec, data_dir=args.data_dir, confine_inputs=args.confine_inputs)
        outcome, result = rebuild(spec, args.out, bump=args.bump, force=args.force, runner=args.runner, workers=args.workers,
                                  dask_address=args.dask_address, beam_args=args.beam_args,
                                  publish_to=args.publish, lock_ttl=args.lock_ttl, outcome=outcome)
    except BaseException as e:  # an interruption too: the scheduler still gets its one JSON object
        outcome.status = "refused" if isinstance(e, ValidationFailed) else "failed"
        outcome.error = _one_line(e) if isinstance(e, Exception) else f"interrupted ({type(e).__name__} {e})"
        if isinstance(e, (LockHeld, LockLost)):
            outcome.lock_holder = e.holder
        if args.json:
            _print_outcome(outcome)
        raise
    if outcome.diff_text:  # the whole diff goes to stderr (a log), its summary into the JSON
        print(outcome.diff_text, file=sys.stderr, end="")
    if args.json:
        _print_outcome(outcome)
        return 0
    if outcome.status == "unchanged":
        print(f"{outcome.release} is up to date (same spec, inputs and rendering rules); no new version",
              file=sys.stderr)
    else:
        _print_summary(result)
    if outcome.published:
        p = outcome.published
        print(f"{'already published' if p['already_published'] else 'published'} {outcome.release} to "
              f"{p['repo_id']}: tag {p['tag']}, commit {p['commit']}", file=sys.stderr)
    if outcome.status == "unchanged":
        print(outcome.release)
    return 0


def _print_outcome(outcome) -> None:
    """``rebuild --json``: one JSON object on stdout, with the Hub token never in it."""
    from pipelines.publish import redact

    print(redact(json.dumps(outcome.to_dict(), sort_keys=True)))


def _add_rebuild_options(r: argparse.ArgumentParser) -> None:
    from pipelines.run_lock import DEFAULT_TTL

    r.add_argument("--bump", choices=["major", "minor", "patch"],
                   help="the version bump (default: the one the diff against the latest release implies; a smaller "
                        "one is refused unless --force)")
    r.add_argument("--force", action="store_true", help="allow a --bump smaller than the diff implies")
    r.add_argument("--allow-fetch", action="store_true",
                   help="let the spec download inputs it does not find locally (calm, calm-v1 without --data-dir); "
                        "scheduled runs are offline by default")
    r.add_argument("--json", action="store_true", help="print the outcome as one JSON object on stdout")
    r.add_argument("--publish", metavar="ORG/NAME",
                   help="publish a new version (or finish an interrupted publish) to this Hub dataset repo; "
                        "the token comes from HF_TOKEN or `hf auth login`")
    r.add_argument("--lock-ttl", type=float, default=DEFAULT_TTL, metavar="SECONDS",
                   help=f"how long the run's lock outlives a run that stopped renewing it (default {DEFAULT_TTL:.0f})")


def cmd_validate(args) -> int:
    from validation.gate import failed_summary, validate_release

    with local_view(args.release) as release:
        report = validate_release(release, engine="great_expectations" if args.great_expectations else "plain",
                                  full=args.full)
    print(validation_text(report["checks"], verbose=args.verbose))
    print("figures, lint and rows digests recomputed from the rows" if report.get("recomputed") else
          "figures and lint as sealed in stats.json by this code version (--full recomputes them from the rows)")
    failed = [c for c in report["checks"] if not c["passed"]]
    if failed:
        raise ValidationFailed(f"{args.release}: {failed_summary(report)}")
    return 0


def validation_text(checks: list[dict], verbose: bool = False) -> str:
    """Failed checks one a line, then a summary by check; ``verbose``: every check one a line."""
    shown = checks if verbose else [c for c in checks if not c["passed"]]
    kinds: dict[str, list[int]] = {}
    for c in checks:
        n = kinds.setdefault(c["name"].split(":", 1)[0], [0, 0])
        n[0] += 1
        n[1] += bool(c["passed"])
    failed = sum(1 for c in checks if not c["passed"])
    summary = ", ".join(f"{k} {ok}/{total}" for k, (total, ok) in kinds.items())
    import textwrap

    total = (f"{len(checks) - failed}/{len(checks)} checks passed" + (f", {failed} failed" if failed else "")
             + (f"; by check: {summary}" if summary else ""))
    return "\n".join([*(_check_line(c) for c in shown), *textwrap.wrap(total, width=_width(), subsequent_indent="  ")])


def _check_line(check: dict) -> str:
    """``ok   name where`` or ``FAIL name where: what is wrong``; a check about one file names it."""
    details = check.get("details") or {}
    if "path" in details:
        where = details["path"] if check.get("config", "*") == "*" else f"{check['config']} {details['path']}"
        line = f"{'ok  ' if check['passed'] else 'FAIL'} {check['name']} {where}"
        return line if check["passed"] else f"{line}: {'; '.join(details.get('problems') or [])}"
    line = f"{'ok  ' if check['passed'] else 'FAIL'} {check['name']} {check.get('config', '')}"
    if check["passed"]:
        return f"{line} {check.get('observed', '')}".rstrip()
    return f"{line}: observed {check.get('observed')}, expected {check.get('expected')}"


def load_stats(path: str, args) -> dict:
    """A release's stats.json, or the stats of a published benchmark's files (``pipelines.external``)."""
    release_stats = storage.join(path, "stats.json")
    if storage.exists(release_stats):  # a release, local or in an object store
        return json.loads(storage.read_bytes(release_stats))
    if storage.exists(storage.join(path, "manifest.json")):
        raise BiasbenchError(f"{path}: a release without stats.json")
    if not args.text_field:
        raise BiasbenchError(f"{path}: not a biasbench release (no stats.json); to read it as a published "
                             "benchmark, name its text field(s) with --text-field")
    from pipelines.external import external_stats

    return external_stats(path, args.text_field.split(","), args.group_field.split(",") if args.group_field else (),
                          args.source_field, args.config_pattern, args.similarity)


def cmd_stats(args) -> int:
    stats = load_stats(args.release, args)
    if not args.compare:
        print(json.dumps(stats, indent=1, sort_keys=True) if args.json else _format_stats(stats))
        return 0
    other = load_stats(args.compare, args)
    labels = (_label(args.release, stats), _label(args.compare, other))
    if args.json:
        print(json.dumps({labels[0]: stats, labels[1]: other}, indent=1, sort_keys=True))
    else:
        print(_format_comparison(labels, stats, other))
    if args.plot:
        from pipelines.plots import write_png

        write_png([(labels[0], stats), (labels[1], other)], args.plot)
        print(f"comparison plot: {args.plot}", file=sys.stderr)
    return 0


def _label(path: str, stats: dict) -> str:
    return f"{stats.get('benchmark') or os.path.basename(os.path.normpath(path))} {stats.get('version', '')}".strip()


def _format_stats(stats: dict) -> str:
    from validation.stats import HEADLINE, headline_rows

    lines = [_table(headline_rows(stats), ["config", *(label for label, _ in HEADLINE)]), "",
             _table([[name, _groups_text(c.get("groups", {}))] for name, c in sorted(stats.get("configs", {}).items())],
                    ["config", "groups"]), ""]
    if stats.get("similarity_method"):
        lines.append(f"similarity: {stats['similarity_method']}; task shares: "
                     + ", ".join(f"{k} {v:.3f}" for k, v in sorted(stats.get("task_shares", {}).items())))
    return "\n".join(lines)


def _format_comparison(labels: tuple[str, str], a: dict, b: dict) -> str:
    """Per config present in both, the headline figures of each side by side; the others listed after."""
    from validation.stats import HEADLINE, headline_rows

    rows_a = {r[0]: r[1:] for r in headline_rows(a)}
    rows_b = {r[0]: r[1:] for r in headline_rows(b)}
    out = []
    for name in sorted(set(rows_a) & set(rows_b)):
        table = [[label, va, vb] for (label, _), va, vb in zip(HEADLINE, rows_a[name], rows_b[name])]
        out += [f"{name}:", _table(table, ["figure", *labels]), ""]
    for label, rows, others in ((labels[0], rows_a, rows_b), (labels[1], rows_b, rows_a)):
        only = sorted(set(rows) - set(others))
        if only:
            out += [f"only in {label}:", _table([[n, *rows[n]] for n in only], ["config", *(h for h, _ in HEADLINE)]),
                    ""]
    return "\n".join(out).rstrip()


def cmd_diff(args) -> int:
    from pipelines.diff import diff_releases, format_diff

    with local_view(args.old) as old, local_view(args.new) as new:
        print(format_diff(diff_releases(old, new)))
    return 0


def cmd_publish(args) -> int:
    from pipelines.publish import format_plan, publish_release

    result = publish_release(args.release, args.repo_id, dry_run=args.dry_run, private=args.private)
    print(format_plan(result), end="")
    return 0


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder the spec's relative data paths resolve against "
                                      "(default: the spec's own folder)")
    p.add_argument("--confine-inputs", action="store_true",
                   help="refuse input paths outside --data-dir and the spec's folder (symlinks and .. resolved); "
                        "for scheduled runs of specs you did not write")
    p.add_argument("--out", default="releases", help="where releases go (default: releases)")
    p.add_argument("--runner", default="direct", choices=["direct", "dask", "dataflow"],
                   help="where the pipeline runs: Beam's in-process runner (default), a Dask cluster, or Dataflow")
    p.add_argument("--workers", type=int, default=1, help="local processes (direct) or Dask workers")
    p.add_argument("--dask-address", help="scheduler of a running Dask cluster (default: start one locally)")
    p.add_argument("--beam-arg", dest="beam_args", action="append", default=[],
                   help="extra Beam pipeline flag, e.g. --beam-arg=--project=my-project (repeatable)")
    p.add_argument("--progress", default="auto", choices=["auto", "on", "off"],
                   help="per-stage progress lines on stderr (default auto: when stderr is a terminal)")


def make_parser() -> argparse.ArgumentParser:
    from schemas import __version__

    parser = argparse.ArgumentParser(prog="biasbench", description="Build, validate and publish bias benchmarks.")
    parser.add_argument("--version", action="version", version=f"biasbench {__version__}",
                        help="print biasbench's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="build, rebuild, validate, stats, diff or publish (COMMAND --help for its options)")
    b = sub.add_parser("build", help="build a release from a spec (default: the embedded demo)")
    b.add_argument("spec", nargs="?", help="spec file or shipped spec name (calm, calm-v1, …); default: the demo. "
                                           "Without --data-dir, calm and calm-v1 download CALM's inputs (pinned "
                                           "commit, checked by sha256) unless HF_HUB_OFFLINE=1")
    b.add_argument("--version", help="release version X.Y.Z (default: the spec's)")
    _add_run_options(b)
    b.set_defaults(func=cmd_build)
    x = sub.add_parser("extract", help="extract template candidates from a spec's sources for a curator to review")
    x.add_argument("spec", help="spec file or shipped spec name (calm-extract, …)")
    _add_run_options(x)
    x.set_defaults(func=cmd_extract, out="extract")
    r = sub.add_parser("rebuild", help="build a new version only if the spec or inputs changed")
    r.add_argument("spec", help="spec file or shipped spec name, as for build")
    _add_rebuild_options(r)
    _add_run_options(r)
    r.set_defaults(func=cmd_rebuild)
    v = sub.add_parser("validate", help="re-check a release on disk: checksums, schema, expectations")
    v.add_argument("release", help="a release folder (OUT/<benchmark>/<version>, local, gs:// or s3://)")
    v.add_argument("--verbose", action="store_true", help="print every check, not only the failed ones")
    v.add_argument("--great-expectations", action="store_true",
                   help="judge the checks with Great Expectations, as the build does (slower: its import)")
    v.add_argument("--full", action="store_true",
                   help="recompute the figures, lint and rows digests from the rows even for a release this "
                        "code version wrote (otherwise only releases written by other code are re-read)")
    v.set_defaults(func=cmd_validate)
    s = sub.add_parser("stats", help="print the figures of a release, or of a published benchmark's files")
    s.add_argument("release", help="a release directory, or a folder/file of JSON Lines or Parquet (with --text-field)")
    s.add_argument("--compare", metavar="OTHER", help="a second release or benchmark: figures side by side")
    s.add_argument("--plot", default="stats-compare.png",
                   help="with --compare: where the comparison picture goes (default: stats-compare.png)")
    s.add_argument("--text-field", help="for files that are not a release: the text field(s), first present wins "
                                        "(e.g. context,premise,sentence)")
    s.add_argument("--group-field", help="for files: the group field(s), first present wins (e.g. gender,race)")
    s.add_argument("--source-field", default="source_dataset",
                   help="for files: the source field (default: source_dataset)")
    s.add_argument("--config-pattern", help="for files: a regex over the file name (no extension) whose first "
                                            "group names the config, e.g. '(.+)_dataset'")
    s.add_argument("--similarity", choices=("tfidf-cosine", "minilm"), default="tfidf-cosine",
                   help="for files: how the similarity figures are measured (a release's are sealed in its "
                        "stats.json, by its spec's validation.similarity_method); minilm needs the semantic extra")
    s.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    s.set_defaults(func=cmd_stats)
    d = sub.add_parser("diff", help="what changed between two releases")
    d.add_argument("old", help="the earlier release folder")
    d.add_argument("new", help="the later release folder")
    d.set_defaults(func=cmd_diff)
    pb = sub.add_parser("publish", help="upload a validated release to the Hugging Face Hub and tag it")
    pb.add_argument("release", help="a release folder; it is validated first")
    pb.add_argument("--repo-id", required=True, help="the Hub dataset repo, ORG/NAME (created if missing); the "
                                                     "token comes from HF_TOKEN or `hf auth login`")
    pb.add_argument("--dry-run", action="store_true", help="print the files and tag, touch no network")
    pb.add_argument("--private", action="store_true", help="create the repo private")
    pb.set_defaults(func=cmd_publish)
    return parser


_BEAM_CONTEXT = re.compile(r" \[while running '[^']*'\]")


def _one_line(exc: BaseException) -> str:
    """Beam wraps worker errors in long tracebacks; find our own message inside."""
    text = str(exc)
    if not isinstance(exc, BiasbenchError):
        for name in ("InputError", "SpecError", "SlotError", "ValidationFailed", "BiasbenchError", "ValueError",
                     "KeyError"):
            m = re.search(rf"{name}: (.+)", text)
            if m:
                text = m.group(1).strip().strip("'\"")
                break
    text = _BEAM_CONTEXT.sub("", text).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: loggers of libraries whose errors the CLI reports itself, in one line
_QUIET_LOGGERS = ("apache_beam", "great_expectations", "distributed", "dask", "urllib3", "huggingface_hub",
                  "datasets", "fsspec", "matplotlib")


def _not_quieted(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] not in _QUIET_LOGGERS


def _configure_logging() -> None:
    """Errors reach the user once, as the CLI's own line; BIASBENCH_DEBUG=1 shows libraries' logs."""
    if os.environ.get("BIASBENCH_DEBUG"):
        logging.basicConfig(level=logging.INFO)
        return
    logging.basicConfig(level=logging.ERROR)
    # a filter on the handlers, not logger levels: libraries set their own loggers' levels on import
    for handler in logging.getLogger().handlers:
        if _not_quieted not in handler.filters:
            handler.addFilter(_not_quieted)


def main(argv: Sequence[str] | None = None) -> int:
    from pipelines.interrupt import end_child_processes, handle_signals, interruption

    _configure_logging()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    args = make_parser().parse_args(argv)
    progress.configure(getattr(args, "progress", "auto"))
    missing = missing_driver_modules() if args.command in DRIVER_COMMANDS else []
    if missing:
        print(f"biasbench: {args.command} needs the driver packages ({', '.join(missing)} not installed): "
              f"pip install 'biasbench[driver]'", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with handle_signals():
            return args.func(args)
    except Exception as e:  # noqa: BLE001 - every error becomes one line and an exit code
        stop = interruption(e)  # a signal Beam re-raised as an ordinary exception
        if stop is None:
            return _report_error(e)
    except BaseException as e:
        stop = interruption(e)
        if stop is None:
            raise
    end_child_processes()
    print(f"biasbench: interrupted by {stop}; stopped cleanly, no release written", file=sys.stderr)
    return stop.exit_code


def _report_error(e: Exception) -> int:
    """One line on stderr for an error; the exit code."""
    if os.environ.get("BIASBENCH_DEBUG") and not isinstance(e, BiasbenchError):
        raise e
    line = _one_line(e)
    if "huggingface_hub" in sys.modules:  # a Hub error may echo its request; never print the token
        from pipelines.publish import redact

        line = redact(line)
    print(f"biasbench: {line}", file=sys.stderr)
    if isinstance(e, ValidationFailed):
        return EXIT_REFUSED
    if isinstance(e, LockHeld):
        return EXIT_LOCKED
    if isinstance(e, LockLost):
        return EXIT_LOCK_LOST
    return EXIT_BAD_INPUT  # bad input, spec or slot; Beam re-raises worker errors wrapped


#: True in the ``biasbench`` process (``run``); False where a caller, such as a test, runs ``main`` itself
_OWN_PROCESS = False


def _freeze_imports() -> None:
    """In the ``biasbench`` process (build, extract), leave what its imports made (Beam's modules,
    pyarrow's, ...) out of its later garbage collections (``gc.freeze``): they live as long as the process,
    and a full collection that walked them found nothing to free (a holistic-bias build's driver collected
    for 0.3 s after its imports, 0.06 s with them frozen). A process that calls ``main`` itself keeps its
    collector as it is."""
    if _OWN_PROCESS:
        import gc

        gc.freeze()


def run() -> None:
    """The ``biasbench`` process (the console script, ``python -m pipelines.cli``): ``main``, then exit.

    Before exiting, every object made so far is left out of the interpreter's last garbage
    collections (``gc.freeze``): at exit they walked all that Beam, pyarrow, spaCy and the rest had
    made, 0.8-0.9 s after a holistic-bias build (measured), where nothing needs collecting. Exit
    handlers, module teardown and flushes run as before. Only here: a process that calls ``main``
    itself (the tests) keeps its collector.
    """
    global _OWN_PROCESS
    _OWN_PROCESS = True
    code = main()
    import gc

    gc.disable()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
