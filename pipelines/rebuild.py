"""``biasbench rebuild``: one unattended run, under the benchmark's lock, with one machine-readable outcome.

The run holds ``<out>/<benchmark>/.rebuild.lock`` (``pipelines.run_lock``) while it
compares, builds and publishes, and makes sure it still holds it when it commits a
release and publishes one (``Lease.fenced``: a run that stalled past the expiry and lost
the lock stops with ``LockLost``, exit 5, before making anything visible). It compares
what the latest release was made from with what the spec would use now: the spec's
hash, every input's hash (``pipelines.manifest.input_hashes``: local files by sha256,
``gs://``/``s3://`` objects by the sha256 of their bytes, pinned CALM inputs by their
pin) and the version of the rendering rules (``transforms.rules``). Nothing changed: status
``unchanged``, no version cut. Otherwise the next version is built and diffed
against the latest (status ``new``); a build the gate refuses is ``refused``.

With ``publish``, a ``new`` release is published; an ``unchanged`` one is published
too when the Hub does not have it yet (an earlier publish was cut short), which
:func:`pipelines.publish.publish_release` finishes without committing twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from pipelines.release_store import local_view
from schemas import storage

#: the ``changed_inputs`` entries for what is not a file: the spec, and biasbench's rendering rules
SPEC, RULES = "(spec)", "(rendering rules)"


@dataclass
class Outcome:
    """What ``rebuild --json`` prints (README "Scheduled rebuilds")."""

    status: str  # new | unchanged | refused | failed
    benchmark: str = ""
    version: str | None = None  # the release this run leaves as the latest (built, or found current)
    previous: str | None = None  # the latest release before this run
    release: str | None = None
    changed_inputs: list[str] = field(default_factory=list)
    diff: dict[str, Any] | None = None
    published: dict[str, Any] | None = None
    error: str | None = None
    lock_holder: dict[str, Any] | None = None
    diff_text: str = field(default="", repr=False)  # format_diff's text, for the prose output

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "diff_text"}


def changed_inputs(old_manifest: dict, spec, hashes: dict[str, str], rules_version: str) -> list[str]:
    """What differs between the latest release's record and now: input paths as the spec writes them
    (added, removed or with another hash), ``(spec)`` and ``(rendering rules)``."""
    out = [SPEC] if old_manifest.get("spec_hash") != spec.spec_hash else []
    old = old_manifest.get("input_hashes", {})
    out += sorted(k for k in set(old) | set(hashes) if old.get(k) != hashes.get(k))
    if old_manifest.get("rules_version", "") != rules_version:
        out.append(RULES)
    return out


def diff_summary(d: dict[str, Any]) -> dict[str, Any]:
    """``pipelines.diff.diff_releases`` without the schema's column-level detail: per config the row counts
    (with up to five example ids of each kind), group changes, templates and lexicon entries."""
    rows = {c: {k: r[k] for k in ("rows_old", "rows_new", "added", "removed", "changed", "examples")}
            for c, r in sorted(d["configs"].items())}
    summary = {"bump": d["bump"], "configs_added": d["configs_added"], "configs_removed": d["configs_removed"],
               "groups": d.get("groups", {}), "rows": rows, "schema_changed": sorted(d["schema"])}
    for side in ("templates", "lexicons"):
        if side in d:
            summary[side] = d[side]
    return summary


def rebuild(spec, out_dir: str, *, bump: str | None = None, force: bool = False, runner: str = "direct", workers: int = 1,
            dask_address: str | None = None, beam_args: Sequence[str] = (), publish_to: str | None = None,
            lock_ttl: float | None = None, outcome: Outcome | None = None) -> tuple[Outcome, Any]:
    """Run one scheduled rebuild; ``(outcome, build result or None)``.

    ``outcome`` is filled in as the run goes, so a caller that catches an error still has
    what was known (the previous version, a release built before a failed publish).
    Raises ``LockHeld``, ``LockLost``, ``ValidationFailed`` (a corrupt latest release, a refused build,
    a refused publish) and the build's and publish's other errors.
    """
    from pipelines.build import build_release, check_intact
    from pipelines.bump import next_version
    from pipelines.diff import diff_releases, format_diff
    from pipelines.manifest import input_hashes
    from pipelines.release_store import latest_release
    from pipelines.run_lock import DEFAULT_TTL, holding_lock
    from transforms import rules

    outcome = outcome or Outcome(status="failed")
    outcome.benchmark = spec.benchmark
    parent = storage.join(out_dir, spec.benchmark)
    result = None
    with holding_lock(parent, DEFAULT_TTL if lock_ttl is None else lock_ttl) as lease:
        latest = latest_release(parent)
        hashes = input_hashes(spec)
        version, decide = spec.version, None  # the first release: the spec's version
        if latest:
            old = check_intact(latest)  # "unchanged" only for a release whose files are what its manifest says
            outcome.previous = old["version"]
            outcome.changed_inputs = changed_inputs(old, spec, hashes, rules.RULES_VERSION)
            if not outcome.changed_inputs:
                outcome.status, outcome.version, outcome.release = "unchanged", old["version"], latest
            else:
                version = next_version(old["version"], bump or "patch")  # replaced once the diff is known
                decide = version_decider(latest, old, spec, bump, force)
        if outcome.status != "unchanged":
            result = build_release(spec, out_dir=out_dir, version=version, runner=runner, workers=workers,
                                   dask_address=dask_address, beam_args=beam_args, decide_version=decide,
                                   fence=lease.fenced)
            # the version decide() chose names the release folder
            outcome.version = result.release_dir.rstrip("/").rsplit("/", 1)[-1]
            outcome.release = result.release_dir
            if latest:
                with local_view(latest) as old_dir, local_view(result.release_dir) as new_dir:
                    full = diff_releases(old_dir, new_dir)
                outcome.diff, outcome.diff_text = diff_summary(full), format_diff(full)
        if publish_to:
            with lease.fenced():
                outcome.published = publish(outcome.release, publish_to)
        outcome.status = "new" if result is not None else "unchanged"
    return outcome, result


def version_decider(latest: str, old: dict, spec, bump: str | None, force: bool):
    """``build_release``'s ``decide_version``: the staged rows diffed against ``latest`` give the version
    (``bump``, or the bump the diff implies) and the changelog with one entry more."""
    from pipelines.bump import changelog_entry, choose_bump, next_version
    from pipelines.diff import diff_releases
    from schemas.progress import say

    def decide(staged: str) -> tuple[str, list[str]]:
        with local_view(latest) as old_dir:
            d = diff_releases(old_dir, staged)
        d["spec_hash_changed"] = old["spec_hash"] != spec.spec_hash
        chosen = choose_bump(bump, d["bump"], force)
        new = next_version(old["version"], chosen)
        say(f"[rebuild] the diff against {old['version']} implies {d['bump']}; cutting {new} ({chosen})")
        return new, [*old.get("changelog", []), changelog_entry(old["version"], new, chosen, d)]

    return decide


def publish(release: str, repo_id: str) -> dict[str, Any]:
    """Publish (or finish publishing) ``release``; what the outcome records of it."""
    from pipelines.publish import publish_release

    with local_view(release) as local:
        plan = publish_release(local, repo_id, dry_run=False)
    return {"repo_id": repo_id, "tag": plan["tag"], "commit": plan["commit_oid"], "url": plan["url"],
            "already_published": plan["already_published"]}
