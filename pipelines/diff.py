"""What changed between two releases (``biasbench diff OLD NEW``), and which semver bump that is.

Rows are matched by ``example_id``: an id only in NEW is added, only in OLD
is removed, in both with any differing value (over the columns both have) is
changed. Groups (``groups``) are compared per config from the manifests: new
groups (a bucket a new upstream release added) and removed ones. Templates are matched by ``template_id``, lexicon entries by
``entry_id``. Schema changes (columns added, removed or retyped) are listed
per config and for templates.parquet / lexicons.parquet.

Semver (DESIGN.md, Releases): a schema change or a removed config is
**major**; new configs, templates, lexicon entries or rows are **minor**; a
fix that only changes or removes existing rows is a **patch** (with a
changelog entry); nothing changed is **none**.

``d = diff_releases(old_dir, new_dir)``; ``format_diff(d)`` is what the command
prints and ``suggest_bump(d)`` the bump.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.release import read_release_json

#: Ids listed per kind of change (all are counted).
MAX_EXAMPLES = 5


def _manifest(release_dir: str) -> dict[str, Any]:
    """The manifest; {} for a staged build not yet finished (``rebuild`` diffs it to choose its version)."""
    path = os.path.join(release_dir, "manifest.json")
    return read_release_json(path) if os.path.exists(path) else {}


def _configs(release_dir: str) -> list[str]:
    return sorted(os.path.basename(d) for d in glob.glob(os.path.join(release_dir, "data", "*"))
                  if glob.glob(os.path.join(d, "*.parquet")))


def _read(paths: list[str]) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")


def _config_table(release_dir: str, config: str) -> pa.Table:
    return _read(sorted(glob.glob(os.path.join(release_dir, "data", config, "*.parquet"))))


def _schema_change(old: pa.Schema, new: pa.Schema) -> dict[str, Any]:
    o = {f.name: str(f.type) for f in old}
    n = {f.name: str(f.type) for f in new}
    change = {
        "added_columns": [c for c in n if c not in o],
        "removed_columns": [c for c in o if c not in n],
        "changed_types": {c: {"old": o[c], "new": n[c]} for c in o if c in n and o[c] != n[c]},
    }
    return change if any(change.values()) else {}


def _comparable(col: pa.ChunkedArray) -> pa.Array:
    """A column as something ``pc.equal`` can compare: lists joined, everything else as is."""
    arr = col.combine_chunks()
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        return pc.binary_join(arr.cast(pa.list_(pa.string())), "\x1f")
    if pa.types.is_map(arr.type) or pa.types.is_struct(arr.type):
        return pa.array([json.dumps(v, sort_keys=True, default=str) for v in arr.to_pylist()])
    return arr


def _same(a: pa.Array, b: pa.Array) -> pa.Array:
    if a.type != b.type:
        a, b = a.cast(pa.string()), b.cast(pa.string())
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    return pc.or_(pc.fill_null(pc.equal(a, b), False), both_null)


def diff_tables(old: pa.Table, new: pa.Table, key: str) -> dict[str, Any]:
    """Rows added / removed / changed between two tables keyed by ``key`` (unique per table)."""
    old_ids, new_ids = old[key].combine_chunks(), new[key].combine_chunks()
    added = pc.filter(new_ids, pc.invert(pc.is_in(new_ids, value_set=old_ids)))
    removed = pc.filter(old_ids, pc.invert(pc.is_in(old_ids, value_set=new_ids)))
    o = old.filter(pc.is_in(old_ids, value_set=new_ids)).sort_by(key)
    n = new.filter(pc.is_in(new_ids, value_set=old_ids)).sort_by(key)
    differs = pa.array([False] * o.num_rows, pa.bool_())
    for name in o.column_names:
        if name == key or name not in n.column_names:
            continue  # columns on one side only are a schema change, not a row change
        differs = pc.or_(differs, pc.invert(_same(_comparable(o[name]), _comparable(n[name]))))
    changed = pc.filter(o[key].combine_chunks(), differs) if o.num_rows else pa.array([], pa.string())
    return {
        "rows_old": old.num_rows, "rows_new": new.num_rows,
        "added": len(added), "removed": len(removed), "changed": len(changed),
        "unchanged": o.num_rows - len(changed),
        "examples": {"added": sorted(added.to_pylist())[:MAX_EXAMPLES],
                     "removed": sorted(removed.to_pylist())[:MAX_EXAMPLES],
                     "changed": sorted(changed.to_pylist())[:MAX_EXAMPLES]},
    }


def _side_table(old_dir: str, new_dir: str, filename: str, key: str) -> tuple[dict[str, Any] | None, dict]:
    po, pn = os.path.join(old_dir, filename), os.path.join(new_dir, filename)
    if not (os.path.exists(po) and os.path.exists(pn)):
        return None, {}
    o, n = pq.read_table(po), pq.read_table(pn)
    result = diff_tables(o, n, key) if key in o.column_names and key in n.column_names else None
    return result, _schema_change(o.schema, n.schema)


def diff_releases(old_dir: str, new_dir: str) -> dict[str, Any]:
    """Compare two release directories; JSON-serialisable, deterministic (sorted)."""
    mo, mn = _manifest(old_dir), _manifest(new_dir)
    co, cn = _configs(old_dir), _configs(new_dir)
    out: dict[str, Any] = {
        "old": {"benchmark": mo.get("benchmark", ""), "version": mo.get("version", "")},
        "new": {"benchmark": mn.get("benchmark", ""), "version": mn.get("version", "")},
        "configs_added": [c for c in cn if c not in co],
        "configs_removed": [c for c in co if c not in cn],
        "configs": {},
        "schema": {},
    }
    for c in (c for c in co if c in cn):
        o, n = _config_table(old_dir, c), _config_table(new_dir, c)
        out["configs"][c] = diff_tables(o, n, "example_id")
        change = _schema_change(o.schema, n.schema)
        if change:
            out["schema"][c] = change
    for c in out["configs_added"]:
        rows = sum(pq.read_metadata(p).num_rows for p in glob.glob(os.path.join(new_dir, "data", c, "*.parquet")))
        out["configs"][c] = {"rows_old": 0, "rows_new": rows, "added": rows, "removed": 0, "changed": 0,
                             "unchanged": 0, "examples": {"added": [], "removed": [], "changed": []}}
    for name, filename, key in (("templates", "templates.parquet", "template_id"),
                                ("lexicons", "lexicons.parquet", "entry_id")):
        result, change = _side_table(old_dir, new_dir, filename, key)
        if result is not None:
            out[name] = {k: result[k] for k in ("added", "removed", "changed", "examples")}
        if change:
            out["schema"][filename] = change
    out["groups"] = group_changes(mo, mn)
    out["spec_hash_changed"] = mo.get("spec_hash") != mn.get("spec_hash")
    out["bump"] = suggest_bump(out)
    return out


def group_changes(old_manifest: dict[str, Any], new_manifest: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Per config in both releases, the groups only in NEW (``added``) and only in OLD (``removed``),
    from the manifests' group lists (a new upstream bucket, a retired one)."""
    old_c, new_c = old_manifest.get("configs", {}), new_manifest.get("configs", {})
    out = {}
    for name in sorted(set(old_c) & set(new_c)):
        og, ng = list(old_c[name].get("groups", {})), list(new_c[name].get("groups", {}))
        change = {"added": [g for g in ng if g not in og], "removed": [g for g in og if g not in ng]}
        if change["added"] or change["removed"]:
            out[name] = change
    return out


def suggest_bump(d: dict[str, Any]) -> str:
    """"major", "minor", "patch" or "none" for a ``diff_releases`` result (rules in the module docstring)."""
    if d.get("configs_removed") or d.get("schema"):
        return "major"
    configs = d.get("configs", {}).values()
    side = [d.get("templates") or {}, d.get("lexicons") or {}]
    if d.get("configs_added") or any(c.get("added") for c in configs) or any(s.get("added") for s in side):
        return "minor"
    if any(c.get("changed") or c.get("removed") for c in configs) or any(
            s.get("changed") or s.get("removed") for s in side):
        return "patch"
    return "none"


def format_diff(d: dict[str, Any]) -> str:
    """A plain-text summary of a diff, one line per fact."""
    lines = [f"{d['old']['benchmark']} {d['old']['version']} -> {d['new']['benchmark']} {d['new']['version']}"]
    for c in d["configs_added"]:
        lines.append(f"+ config {c} ({d['configs'][c]['rows_new']} rows)")
    for c in d["configs_removed"]:
        lines.append(f"- config {c}")
    for c, r in sorted(d["configs"].items()):
        if c in d["configs_added"]:
            continue
        lines.append(f"  {c}: {r['rows_old']} -> {r['rows_new']} rows; +{r['added']} -{r['removed']} ~{r['changed']}")
        for kind, sign in (("added", "+"), ("removed", "-"), ("changed", "~")):
            for ex in r["examples"][kind]:
                lines.append(f"    {sign} {ex}")
    for c, change in sorted(d.get("groups", {}).items()):
        lines.append(f"  {c} groups: " + "; ".join(f"{kind} {', '.join(change[kind])}"
                                                   for kind in ("added", "removed") if change[kind]))
    for name in ("templates", "lexicons"):
        if name in d:
            r = d[name]
            lines.append(f"  {name}: +{r['added']} -{r['removed']} ~{r['changed']}")
    for where, change in sorted(d["schema"].items()):
        parts = []
        if change.get("added_columns"):
            parts.append("added " + ", ".join(change["added_columns"]))
        if change.get("removed_columns"):
            parts.append("removed " + ", ".join(change["removed_columns"]))
        for col, t in sorted(change.get("changed_types", {}).items()):
            parts.append(f"{col}: {t['old']} -> {t['new']}")
        lines.append(f"  schema {where}: " + "; ".join(parts))
    lines.append(f"suggested bump: {suggest_bump(d)}")
    return "\n".join(lines) + "\n"
