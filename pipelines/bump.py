"""How ``rebuild`` numbers a new release: the semver bump its diff implies, or a larger one asked for.

>>> next_version("1.2.3", "minor"), next_version("1.2.3", "major"), next_version("1.2.3", "patch")
('1.3.0', '2.0.0', '1.2.4')
>>> choose_bump(None, "major", force=False), choose_bump("major", "minor", force=False)
('major', 'major')
>>> choose_bump("patch", "major", force=True)
'patch'
"""

from __future__ import annotations

from typing import Any, Mapping

from schemas.errors import SpecError

ORDER = ("none", "patch", "minor", "major")


def next_version(version: str, bump: str) -> str:
    major, minor, patch = (int(p) for p in version.split("-", 1)[0].split("."))
    return {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0", "patch": f"{major}.{minor}.{patch + 1}"}[bump]


def choose_bump(requested: str | None, implied: str, force: bool) -> str:
    """``requested`` (``--bump``) or, when None, what the diff implies; a spec or input change whose rows
    are identical is a patch. A bump smaller than the implied one is refused unless ``force``."""
    implied = "patch" if implied == "none" else implied
    if requested is None:
        return implied
    if ORDER.index(requested) < ORDER.index(implied) and not force:
        raise SpecError(f"--bump {requested}: the changes imply a {implied} version (see the diff); "
                        f"pass --bump {implied}, or --force to cut a {requested} version anyway")
    return requested


def changelog_entry(old_version: str, new_version: str, bump: str, diff: Mapping[str, Any]) -> str:
    """One line for the card's changelog: what changed between the two releases."""
    configs = diff.get("configs", {}).values()
    parts = []
    if diff.get("configs_added"):
        parts.append("configs added: " + ", ".join(diff["configs_added"]))
    if diff.get("configs_removed"):
        parts.append("configs removed: " + ", ".join(diff["configs_removed"]))
    rows = {k: sum(c.get(k, 0) for c in configs) for k in ("added", "removed", "changed")}
    parts.append(f"rows +{rows['added']:,} -{rows['removed']:,} ~{rows['changed']:,}")
    for side in ("templates", "lexicons"):
        d = diff.get(side)
        if d and (d["added"] or d["removed"] or d["changed"]):
            parts.append(f"{side} +{d['added']:,} -{d['removed']:,} ~{d['changed']:,}")
    if diff.get("schema"):
        parts.append("schema changed in " + ", ".join(sorted(diff["schema"])))
    if diff.get("spec_hash_changed"):
        parts.append("spec changed")
    return f"{new_version}: rebuilt from {old_version} ({bump}; the diff implied {diff.get('bump', 'none')}): " \
           + "; ".join(parts)
