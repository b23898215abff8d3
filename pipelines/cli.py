"""The ``biasbench`` command line.

    biasbench build [SPEC] [--data-dir DIR] [--out DIR] [--version X.Y.Z] [--runner direct|dask|dataflow]
    biasbench validate RELEASE [--full]
    biasbench stats RELEASE [--compare OTHER] [--text-field F] [--group-field G] [--json]
    biasbench diff OLD NEW
    biasbench publish RELEASE --repo-id ORG/NAME [--dry-run]
    biasbench rebuild SPEC

Every error is one line on stderr and a non-zero exit (2 for bad input or
spec, 3 for a release refused by validation, 130/143 when stopped by
SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from typing import Sequence

from pipelines.release_store import local_view
from schemas import progress, storage
from schemas.errors import BiasbenchError, ValidationFailed

EXIT_BAD_INPUT, EXIT_REFUSED = 2, 3

#: setup.py's ``driver`` extra, by import name: Dataflow workers never install it, the commands below need it
DRIVER_MODULES = ("yaml", "great_expectations", "pandas", "huggingface_hub", "psutil", "sacrebleu", "matplotlib")
DRIVER_COMMANDS = ("build", "rebuild", "validate", "publish")


def missing_driver_modules() -> list[str]:
    import importlib.util

    return [m for m in DRIVER_MODULES if importlib.util.find_spec(m) is None]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def _groups_text(groups: dict[str, int]) -> str:
    """``male=65 female=65 …``, or a range where there are too many groups to list."""
    if len(groups) <= 6:
        return " ".join(f"{g}={n:,}" for g, n in groups.items())
    counts = list(groups.values())
    return f"{len(groups)} groups, {min(counts):,}–{max(counts):,} rows each"


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
    if result.unchanged:
        print(f"{result.release_dir} already holds this exact release; nothing changed", file=sys.stderr)
    print(result.release_dir)


def cmd_build(args) -> int:
    from pipelines.build import build_release, describe_job
    from pipelines.runners import described_job
    from pipelines.spec import load_spec

    spec = load_spec(args.spec, data_dir=args.data_dir, confine_inputs=args.confine_inputs)
    if described_job(args.runner, args.beam_args):
        job = describe_job(spec, out_dir=args.out, version=args.version, beam_args=args.beam_args)
        print("phase 1 (ingest, extract, import, filter, dedup, lexicons) described for Dataflow and its package "
              "staged to --temp_location; nothing ran and no release was written. Phase 2 (expand, lint, write) "
              "is planned from phase 1's templates: build without --template_location to run both.", file=sys.stderr)
        print(job)
        return 0
    result = build_release(spec, out_dir=args.out, version=args.version, runner=args.runner,
                           workers=args.workers, dask_address=args.dask_address, beam_args=args.beam_args)
    _print_summary(result)
    return 0


def cmd_rebuild(args) -> int:
    """Cut a new version only when the spec or an input changed since the latest release."""
    from pipelines.build import build_release, check_intact
    from pipelines.diff import diff_releases, format_diff
    from pipelines.manifest import input_hashes
    from pipelines.release_store import latest_release
    from pipelines.spec import load_spec

    spec = load_spec(args.spec, data_dir=args.data_dir, confine_inputs=args.confine_inputs)
    latest = latest_release(storage.join(args.out, spec.benchmark))
    version = spec.version
    if latest:
        old = check_intact(latest)  # "up to date" only for a release whose files are what its manifest says
        if old["spec_hash"] == spec.spec_hash and old["input_hashes"] == input_hashes(spec):
            print(f"{latest} is up to date (same spec and inputs); no new version", file=sys.stderr)
            print(latest)
            return 0
        major, minor, patch = map(int, old["version"].split("."))
        version = {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0",
                   "patch": f"{major}.{minor}.{patch + 1}"}[args.bump]
    result = build_release(spec, out_dir=args.out, version=version, runner=args.runner, workers=args.workers,
                           dask_address=args.dask_address, beam_args=args.beam_args)
    if latest:
        with local_view(latest) as old_dir, local_view(result.release_dir) as new_dir:
            print(format_diff(diff_releases(old_dir, new_dir)), file=sys.stderr)
    _print_summary(result)
    return 0


def cmd_validate(args) -> int:
    from validation.gate import failed_summary, validate_release

    with local_view(args.release) as release:
        report = validate_release(release, engine="great_expectations" if args.great_expectations else "plain",
                                  full=args.full)
    failed = [c for c in report["checks"] if not c["passed"]]
    for c in report["checks"]:
        print(_check_line(c))
    print("figures, lint and rows digests recomputed from the rows" if report.get("recomputed") else
          "figures and lint as sealed in stats.json by this code version (--full recomputes them from the rows)")
    print(f"{len(report['checks']) - len(failed)}/{len(report['checks'])} checks passed")
    if failed:
        raise ValidationFailed(f"{args.release}: {failed_summary(report)}")
    return 0


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
                          args.source_field, args.config_pattern)


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
    p.add_argument("--runner", default="direct", choices=["direct", "dask", "dataflow"])
    p.add_argument("--workers", type=int, default=1, help="local processes (direct) or Dask workers")
    p.add_argument("--dask-address", help="scheduler of a running Dask cluster (default: start one locally)")
    p.add_argument("--beam-arg", dest="beam_args", action="append", default=[],
                   help="extra Beam pipeline flag, e.g. --beam-arg=--project=my-project (repeatable)")
    p.add_argument("--progress", default="auto", choices=["auto", "on", "off"],
                   help="per-stage progress lines on stderr (default auto: when stderr is a terminal)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biasbench", description="Build, validate and publish bias benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a release from a spec (default: the embedded demo)")
    b.add_argument("spec", nargs="?", help="spec file or shipped spec name (calm, calm-v1, …)")
    b.add_argument("--version", help="release version X.Y.Z (default: the spec's)")
    _add_run_options(b)
    b.set_defaults(func=cmd_build)
    r = sub.add_parser("rebuild", help="build a new version only if the spec or inputs changed")
    r.add_argument("spec")
    r.add_argument("--bump", default="minor", choices=["major", "minor", "patch"])
    _add_run_options(r)
    r.set_defaults(func=cmd_rebuild)
    v = sub.add_parser("validate", help="re-check a release on disk: checksums, schema, expectations")
    v.add_argument("release")
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
    s.add_argument("--source-field", default="source_dataset", help="for files: the source field")
    s.add_argument("--config-pattern", help="for files: a regex over the file name (no extension) whose first "
                                            "group names the config, e.g. '(.+)_dataset'")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)
    d = sub.add_parser("diff", help="what changed between two releases")
    d.add_argument("old")
    d.add_argument("new")
    d.set_defaults(func=cmd_diff)
    pb = sub.add_parser("publish", help="upload a validated release to the Hugging Face Hub and tag it")
    pb.add_argument("release")
    pb.add_argument("--repo-id", required=True)
    pb.add_argument("--dry-run", action="store_true")
    pb.add_argument("--private", action="store_true")
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
    print(f"biasbench: {_one_line(e)}", file=sys.stderr)
    if isinstance(e, ValidationFailed):
        return EXIT_REFUSED
    return EXIT_BAD_INPUT  # bad input, spec or slot; Beam re-raises worker errors wrapped


if __name__ == "__main__":
    sys.exit(main())
