"""The release gate: every check a release must pass before it is renamed into place.

``run_gate`` turns the stats (``transforms.stats``: merged shard tallies and
figures), the lint totals and the Parquet footers into facts, each a figure and
its bounds, and Great Expectations judges them all in one validation
(``validation.expectations``):

==========================  ======  =======================================
The report is ``{passed, checks: [{name, config, passed, observed, expected,
details}], thresholds, configs, article_overrides, benchmark, version}``, in a
fixed order (configs in spec order, then release-wide checks) and with no
timestamps. The caller raises ``ValidationFailed`` when ``passed`` is false;
``failed_summary`` names each failed check with its figure and threshold.

``validate_release`` re-checks a release on disk (``biasbench validate``):
the manifest's seal, sizes/sha256/rows of every listed file and nothing on disk
it does not list (``schemas.release``); the manifest against the card,
validation.json and the Parquet schemas (``validation.manifest_checks``); each
then the same checks as a build, with thresholds and declared groups taken from
the release's validation.json and manifest.json. A check about one file carries
``details = {path, problems}``.

What those checks judge depends on who wrote the release. When its manifest's
``code_version`` is this code's (``schemas.release.CODE_VERSION``), the figures
and lint counts are the ones sealed in its stats.json: the file sha256s pin
every byte of the rows and of stats.json, and this code would compute the
same figures from the same rows, so nothing is recomputed and each file is
read once (for its sha256). Otherwise, or with ``full=True`` (``biasbench
validate --full``), every row is re-read: each config's canonical rows digest
(``schemas.release``), the stats from one pass over each config's files, and
lint of every row.

A build calls ``run_gate(staging, spec, lint, stats)``, writes the report with
``write_validation`` and, when it did not pass, raises ``ValidationFailed``
with ``failed_summary(report)``.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import pyarrow.parquet as pq

from schemas.errors import InputError
from schemas.lint import LintResult
from schemas.records import required_columns
from schemas.release import (CODE_VERSION, MANIFEST, CorruptManifest, canonical_rows_digest, integrity_checks, read_manifest,
                             read_release_json)
from validation.manifest_checks import manifest_checks
from validation.expectations import Fact

# Rules counted against max_lint_failures; leftover_slot has its own threshold.
_LINT_FAILURE_RULES = ("agreement", "article_mismatch", "doubled_word", "empty_field")


@dataclass(frozen=True)
class ConfigInfo:
    """What the gate needs to know about one config."""

    name: str
    task: str
    axis: str
    groups: tuple[str, ...]


def _check(name: str, config: str, passed: bool, observed: Any, expected: Any, details: Any = None) -> dict:
    return {"name": name, "config": config, "passed": bool(passed), "observed": observed, "expected": expected,
            "details": details if details is not None else {}}


def _lint_counts(lint: Any) -> dict[str, int]:
    """Total counts per rule from a LintResult, its dict, or {config: either}."""
    if lint is None:
        return {}
    if isinstance(lint, LintResult):
        return dict(lint.counts)
    if isinstance(lint, Mapping) and "counts" in lint:
        return {k: int(v) for k, v in lint["counts"].items()}
    total: dict[str, int] = {}
    for value in (lint or {}).values():
        for rule, n in _lint_counts(value).items():
            total[rule] = total.get(rule, 0) + n
    return total


def _lint_examples(lint: Any) -> list[dict]:
    if isinstance(lint, LintResult):
        return list(lint.examples)
    if isinstance(lint, Mapping) and "counts" in lint:
        return list(lint.get("examples", []))
    out: list[dict] = []
    for key in sorted(lint or {}):
        out += [{**e, "config": key} for e in _lint_examples(lint[key])]
    return out


#: Figure thresholds of ``validation`` in the spec: name -> (where the figure is in a config's stats, bound side).
#: Unset (None) thresholds are not checked.
FIGURE_THRESHOLDS = {
    "min_templates": (("figures", "templates"), "low"),
    "min_sources": (("figures", "sources"), "low"),
    "min_template_length_mean": (("figures", "template_length", "mean"), "low"),
    "min_template_length_cv": (("figures", "template_length", "cv"), "low"),
    "max_template_similarity": (("figures", "template_similarity", "mean"), "high"),
    "max_row_similarity": (("figures", "row_similarity", "mean"), "high"),
    "min_distinct_1": (("diversity", "distinct_1"), "low"),
    "min_distinct_2": (("diversity", "distinct_2"), "low"),
    "min_distinct_3": (("diversity", "distinct_3"), "low"),
    "min_vocabulary": (("diversity", "vocabulary"), "low"),
    "max_self_bleu": (("figures", "self_bleu"), "high"),
    "max_source_share": (("figures", "source_shares"), "high"),  # the largest source's share
    "max_group_uniform_distance": (("figures", "group_uniform_distance"), "high"),
    "min_length_parity": (("figures", "length_parity"), "low"),
}


def _figure(config_stats: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = config_stats
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, Mapping):  # shares: the largest one
        value = max(value.values(), default=0.0)
    return value


class _Facts:
    """Checks in the making: each one's figure, bounds and details; Great Expectations judges them together."""

    def __init__(self, engine: str):
        self.engine = engine
        self.pending: list[tuple[dict, Any]] = []

    def add(self, name: str, config: str, observed: Any, *, low=None, high=None, details: Any = None,
            shown: Any = None) -> dict:
        expected = " and ".join([f">= {low}"] * (low is not None) + [f"<= {high}"] * (high is not None))
        check = _check(name, config, False, observed if shown is None else shown, expected, details)
        self.pending.append((check, Fact(f"{config}/{name}/{len(self.pending)}", observed, low, high)))
        return check

    def judged(self) -> list[dict]:
        from validation.expectations import judge_facts

        verdict = judge_facts([fact for _, fact in self.pending], self.engine)
        for check, fact in self.pending:
            check["passed"] = verdict[fact.key]
        return [check for check, _ in self.pending]


def _gate_checks(release_dir: str, configs: Sequence[ConfigInfo], thresholds, lint: Any,
                 stats: Mapping[str, Any], engine: str = "great_expectations") -> list[dict]:
    """Every check of the gate, from the stats (merged row tallies and figures) and the Parquet footers."""
    facts = _Facts(engine)
    config_stats = stats.get("configs", {})
    for c in configs:
        files = sorted(glob.glob(os.path.join(release_dir, "data", c.name, "*.parquet")))
        facts.add("data_present", c.name, len(files), low=1, details={"dir": f"data/{c.name}"})
        if not files:
            continue
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in files)
        facts.add("min_rows", c.name, rows, low=thresholds.min_rows)
        st = config_stats.get(c.name, {})
        integrity = st.get("integrity", {})
        columns = set(pq.read_schema(files[0]).names)
        for col in required_columns(c.task) + ["fill_type"]:
            facts.add(f"column_exists:{col}", c.name, int(col in columns), low=1, shown="present" if col in columns
                      else "missing")
        for col in required_columns(c.task):
            if col in columns:  # a missing column already fails column_exists
                facts.add(f"not_null:{col}", c.name, integrity.get("nulls", {}).get(col, 0), high=0)
        if "example_id" in columns:
            facts.add("unique:example_id", c.name, integrity.get("duplicate_example_ids", 0), high=0)
        if "group" in columns:
            facts.add("group_in_declared", c.name, integrity.get("rows_outside_declared_groups", 0), high=0,
                      details={"declared": list(c.groups)})
        if "fill_type" in columns:
            facts.add("fill_type_in_set", c.name, integrity.get("rows_with_unknown_fill_type", 0), high=0)
        balance = st.get("balance", {})
        if thresholds.require_balanced_groups:
            facts.add("balanced_groups", c.name, balance.get("unbalanced_templates", 0), high=0, details={
                "unbalanced_count": balance.get("unbalanced_templates", 0),
                "unbalanced_templates": [u["template_id"] for u in balance.get("unbalanced_examples", [])][:10]})
        for name, (path, side) in FIGURE_THRESHOLDS.items():
            bound = getattr(thresholds, name, None)
            value = _figure(st, path) if st else None
            if bound is None or value is None:
                continue
            facts.add(name, c.name, value, **{side: bound}, details={"figure": ".".join(path)})
    counts = _lint_counts(lint)
    examples = _lint_examples(lint)
    failures = sum(counts.get(r, 0) for r in _LINT_FAILURE_RULES)
    facts.add("lint_failures", "*", failures, high=thresholds.max_lint_failures,
              details={"counts": {r: counts.get(r, 0) for r in _LINT_FAILURE_RULES},
                       "examples": [e for e in examples if e["rule"] in _LINT_FAILURE_RULES]})
    facts.add("leftover_markers", "*", counts.get("leftover_slot", 0), high=thresholds.max_leftover_markers,
              details={"examples": [e for e in examples if e["rule"] == "leftover_slot"]})
    if getattr(thresholds, "max_task_share", None) is not None and stats.get("task_shares"):
        facts.add("max_task_share", "*", max(stats["task_shares"].values()), high=thresholds.max_task_share,
                  details={"figure": "task_shares"})
    return facts.judged()


def _report(checks: list[dict], configs: Sequence[ConfigInfo], thresholds, **extra) -> dict[str, Any]:
    return {
        "passed": all(c["passed"] for c in checks),
        "failed": [failed_label(c) for c in checks if not c["passed"]],
        "checks": checks,
        "configs": {c.name: {"task": c.task, "axis": c.axis, "groups": list(c.groups)} for c in configs},
        "thresholds": asdict(thresholds),
        **extra,
    }


def run_gate(release_dir: str, spec, lint: LintResult | Mapping[str, Any] | None, stats: Mapping[str, Any]) -> dict:
    """Check a staged release against ``spec.validation``; return the report (see module docstring).

    ``lint`` is a LintResult (or its ``to_dict()``) for the whole release, or
    ``{config: LintResult}``; ``stats`` is ``compute_stats``'s result.
    """
    configs = [ConfigInfo(c.name, c.task, c.axis, tuple(g.name for g in c.groups)) for c in spec.configs]
    checks = _gate_checks(release_dir, configs, spec.validation, lint, stats)
    return _report(checks, configs, spec.validation, benchmark=spec.benchmark, version=spec.version,
                   article_overrides=dict(sorted(spec.article_overrides.items())))


def failed_label(check: Mapping[str, Any]) -> str:
    """``config/name``, or ``name path (problems)`` for a check about one file."""
    details = check.get("details") or {}
    if details.get("path") and details.get("problems"):
        return f"{check['name']} {details['path']} ({'; '.join(details['problems'])})"
    return f"{check['config']}/{check['name']}"


def add_grammar_check(report: Mapping[str, Any], grammar: Mapping[str, Any], max_findings: int) -> dict:
    """The gate's report with the grammar check (``pipelines.grammar.grammar_report``'s figures) appended.

    A build-time check: it needs the templates rendered and parsed, so ``validate_release`` does not
    repeat it.
    """
    cells = int(grammar.get("cells", 0))
    check = _check("grammar", "*", cells <= max_findings, cells, f"<= {max_findings}", dict(grammar))
    checks = [*report["checks"], check]
    return {**report, "checks": checks, "passed": all(c["passed"] for c in checks),
            "failed": [failed_label(c) for c in checks if not c["passed"]]}


def failed_summary(report: Mapping[str, Any]) -> str:
    """One line naming the failed checks with their figure and threshold, for ValidationFailed's message."""
    failed = [failed_label(c) if (c.get("details") or {}).get("path") else
              f"{failed_label(c)} ({_shown(c['observed'])}, expected {c['expected']})"
              for c in report["checks"] if not c["passed"]]
    return f"validation failed: {', '.join(failed)}" if failed else "validation passed"


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def write_validation(release_dir: str, report: Mapping[str, Any]) -> str:
    """Write validation.json (sorted keys) and return its path."""
    path = os.path.join(release_dir, "validation.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        f.write("\n")
    return path


def _rows_digest(paths: list[str]) -> str | None:
    """The manifest's canonical rows digest of some files."""
    try:
        return canonical_rows_digest(paths)
    except Exception as e:  # noqa: BLE001 - an unreadable file is reported by file_integrity
        return f"unreadable: {type(e).__name__}"


def _path_check(name: str, config: str, path: str, problems, observed: Any = None, expected: Any = None) -> dict:
    """A check about one file of the release; ``details`` names it and says what is wrong."""
    return _check(name, config, not problems, observed if observed is not None else {},
                  expected if expected is not None else {}, {"path": path, "problems": list(problems)})


def _integrity_checks(release_dir: str, manifest: Mapping[str, Any], rows_digests: bool = True) -> list[dict]:
    """The release's files against its manifest (``schemas.release``), then the manifest against the
    card, validation.json and the Parquet schemas (``validation.manifest_checks``), then (``rows_digests``)
    each config's canonical rows digest. Later groups run only when the earlier ones passed: they read
    the files."""
    checks = [_path_check(c.name, "*", c.path, c.problems, dict(c.observed), dict(c.expected))
              for c in integrity_checks(release_dir, manifest)]
    if not all(c["passed"] for c in checks):
        return checks
    checks += [_path_check(c.name, c.config, c.path, c.problems) for c in manifest_checks(release_dir, manifest)]
    if not all(c["passed"] for c in checks) or not rows_digests:
        return checks
    digests = manifest.get("rows_sha256")
    digests = digests if isinstance(digests, Mapping) else {}
    for name, info in sorted(manifest["configs"].items()):
        observed = _rows_digest([os.path.join(release_dir, rel) for rel in info["files"]])
        checks.append(_check("rows_sha256", name, observed == digests.get(name), observed,
                             digests.get(name, "a digest under the manifest's rows_sha256")))
    return checks


def _sealed_stats(release_dir: str, manifest: Mapping[str, Any]) -> dict | None:
    """The release's stats.json when this code wrote it (same ``code_version``) and the manifest lists it;
    None when the figures and lint must be recomputed from the rows. Read only after the integrity checks
    passed, so its bytes are the sealed ones."""
    listed = {e.get("path") for e in manifest.get("files", ()) if isinstance(e, Mapping)}
    if manifest.get("code_version") != CODE_VERSION or "stats.json" not in listed:
        return None
    stats = read_release_json(os.path.join(release_dir, "stats.json"))
    return stats if isinstance(stats.get("lint"), Mapping) and isinstance(stats.get("configs"), Mapping) else None


def validate_release(release_dir: str, manifest: Mapping[str, Any] | None = None,
                     engine: str = "plain", full: bool = False) -> dict[str, Any]:
    """Re-check an existing release directory; return a report like ``run_gate``'s, with ``recomputed``:
    whether the figures, lint and rows digests were recomputed from the rows (see the module docstring).

    ``engine``: who judges the gate's facts (``validation.expectations.judge_facts``): ``plain``
    comparisons (no Great Expectations import: seconds saved) or ``great_expectations`` as in the build.
    ``full``: recompute from the rows even for a release this code wrote.

    ``manifest`` is release_dir's manifest.json already read (publish passes the
    one it will act on); read here when None. Integrity and manifest checks come
    first and end the report when one fails. Groups come from manifest.json's
    ``configs[<name>].groups`` or, failing that, validation.json's ``configs``;
    thresholds from validation.json (defaults of ``ValidationSpec`` when absent).
    """
    from schemas.spec import ValidationSpec

    defaults = ValidationSpec()
    if manifest is None:
        try:
            manifest = read_manifest(release_dir)
        except FileNotFoundError:
            raise InputError(f"{os.path.join(release_dir, MANIFEST)}: missing; not a biasbench release?") from None
        except CorruptManifest as e:
            return _report([_path_check("manifest_digest", "*", MANIFEST, [str(e).split(": ", 1)[-1]])], [],
                           defaults, benchmark="", version="")
    recompute = full or manifest.get("code_version") != CODE_VERSION
    checks = _integrity_checks(release_dir, manifest, rows_digests=recompute)
    if not all(c["passed"] for c in checks):
        # files that differ from the manifest cannot be trusted further: report what differs
        return _report(checks, [], defaults, benchmark=manifest.get("benchmark", ""),
                       version=manifest.get("version", ""), recomputed=recompute)
    sealed = None if recompute else _sealed_stats(release_dir, manifest)
    if sealed is None and not recompute:  # no sealed figures to judge: the rows' digests too, then
        recompute = True
        checks = _integrity_checks(release_dir, manifest)
        if not all(c["passed"] for c in checks):
            return _report(checks, [], defaults, benchmark=manifest.get("benchmark", ""),
                           version=manifest.get("version", ""), recomputed=recompute)
    vpath = os.path.join(release_dir, "validation.json")
    previous = read_release_json(vpath) if os.path.exists(vpath) else {}
    known = {f.name for f in fields(ValidationSpec)}
    thresholds = ValidationSpec(**{k: v for k, v in previous.get("thresholds", {}).items() if k in known})
    configs = []
    for name, info in sorted(manifest["configs"].items()):
        # manifest groups may be a list or {group: rows}; both iterate as names in declared order
        groups = list(info.get("groups") or previous.get("configs", {}).get(name, {}).get("groups") or [])
        if not groups:
            raise InputError(f"{os.path.join(release_dir, MANIFEST)}: config {name!r} declares no groups "
                             f"(configs.{name}.groups), and validation.json has none either")
        if "task" not in info:
            raise InputError(f"{os.path.join(release_dir, MANIFEST)}: config {name!r} has no task")
        configs.append(ConfigInfo(name, info["task"], info.get("axis", ""), tuple(groups)))
    if sealed is not None:
        stats, lint = sealed, sealed["lint"]
    else:
        from validation.release_lint import lint_release
        from validation.stats import config_stats, read_templates, tally_config

        templates = read_templates(release_dir)
        stats = {"configs": {}}
        for c in configs:
            if glob.glob(os.path.join(release_dir, "data", c.name, "*.parquet")):
                stats["configs"][c.name] = config_stats(tally_config(release_dir, c.name, c.task), c.task,
                                                        list(c.groups), templates)
        lint = lint_release(release_dir, article_overrides=previous.get("article_overrides") or None)
    checks += _gate_checks(release_dir, configs, thresholds, lint, stats, engine)
    return _report(checks, configs, thresholds, benchmark=manifest.get("benchmark", ""),
                   version=manifest.get("version", ""), recomputed=recompute)
