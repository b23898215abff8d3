"""Diversity and balance report of a release: stats.json and a self-contained stats.html.

Everything is read back from the release staging directory, so the report
describes exactly the files that ship. Per config it gives rows, rows per
group, whether every template has the same number of rows in every group,
fill types, templates per source dataset, and diversity of the config's first
text field (``TASK_FIELDS[task][0]``):

- ``distinct_1`` / ``distinct_2``: distinct word uni-/bigrams over all
  uni-/bigrams of the sample (lower-cased, whitespace tokens);
- ``type_token_ratio``: mean over texts of types/tokens within a text;
- ``compression_ratio``: raw bytes / zlib bytes of the sample joined by
  newlines (higher = more repetitive).

The diversity sample is deterministic: all rows when a config has at most
``SAMPLE_ROWS`` (200,000), else every k-th row in file order (files sorted by
name, rows in written order) with ``k = ceil(rows / SAMPLE_ROWS)``. Release
files are byte-identical for the same inputs, so the sample is too.

The output has sorted keys and no timestamps: the same release gives the same
stats.json, byte for byte.

>>> # stats = compute_stats("releases/demo/0.1.0.tmp", spec, lint=lint.to_dict())
>>> # write_stats("releases/demo/0.1.0.tmp", stats)
"""

from __future__ import annotations

import glob
import html
import json
import math
import os
import zlib
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.lint import split_whitespace
from schemas.records import TASK_FIELDS

#: At most this many rows per config enter the diversity metrics.
SAMPLE_ROWS = 200_000
#: Unbalanced templates listed per config (all are counted).
MAX_LISTED_TEMPLATES = 20


def config_files(release_dir: str, config: str) -> list[str]:
    """The Parquet shards of one config, sorted by name."""
    return sorted(glob.glob(os.path.join(release_dir, "data", config, "*.parquet")))


def read_config(release_dir: str, config: str, columns: list[str]) -> pa.Table:
    """The named columns of one config's shards (only those present), concatenated in file order."""
    files = config_files(release_dir, config)
    if not files:
        raise FileNotFoundError(f"{os.path.join(release_dir, 'data', config)}: no Parquet files")
    tables = []
    for path in files:
        names = pq.ParquetFile(path).schema_arrow.names
        tables.append(pq.read_table(path, columns=[c for c in columns if c in names]))
    return pa.concat_tables(tables)


def _value_counts(col: pa.ChunkedArray) -> dict[str, int]:
    counts = pc.value_counts(col.combine_chunks())
    return {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}


def template_group_balance(table: pa.Table, groups: list[str]) -> dict[str, Any]:
    """Rows per (template, group): is every template equally filled in every declared group?

    A group a template never reached counts 0. ``spread`` is max minus min
    over the groups of one template; a config is balanced when every spread is 0.
    """
    counts = table.group_by(["template_id", "group"]).aggregate([([], "count_all")])
    cells: dict[str, dict[str, int]] = {}
    for tid, grp, n in zip(counts["template_id"].to_pylist(), counts["group"].to_pylist(),
                           counts["count_all"].to_pylist()):
        cells.setdefault(tid, {})[grp] = n
    all_groups = list(groups) + sorted({g for c in cells.values() for g in c} - set(groups))
    unbalanced, spreads = [], []
    for tid in sorted(cells):
        row = {g: cells[tid].get(g, 0) for g in all_groups}
        spread = max(row.values()) - min(row.values())
        spreads.append(spread)
        if spread:
            unbalanced.append({"template_id": tid, "counts": row, "spread": spread})
    per_cell = [n for c in cells.values() for n in c.values()]
    return {
        "balanced": not unbalanced,
        "templates": len(cells),
        "unbalanced_templates": len(unbalanced),
        "unbalanced_examples": unbalanced[:MAX_LISTED_TEMPLATES],
        "max_spread": max(spreads, default=0),
        "rows_per_cell_min": min(per_cell, default=0),
        "rows_per_cell_max": max(per_cell, default=0),
    }


def sample_texts(col: pa.ChunkedArray, limit: int = SAMPLE_ROWS) -> pa.Array:
    """Every k-th value (k = ceil(n / limit)), nulls dropped: a deterministic, spread-out sample."""
    arr = col.combine_chunks()
    n = len(arr)
    if n > limit:
        step = math.ceil(n / limit)
        arr = pc.take(arr, pa.array(range(0, n, step), pa.int64()))
    return pc.drop_null(arr)


def sample_column(release_dir: str, config: str, column: str, rows: int, limit: int = SAMPLE_ROWS) -> pa.Array:
    """``sample_texts`` of one column, streamed batch by batch: the whole text never sits in memory."""
    step = max(1, math.ceil(rows / limit))
    picked, start = [], 0
    for path in config_files(release_dir, config):
        pf = pq.ParquetFile(path)
        if column not in pf.schema_arrow.names:
            return pa.array([], pa.string())
        for batch in pf.iter_batches(batch_size=65_536, columns=[column]):
            n = batch.num_rows
            first = (-start) % step  # the first global index in this batch divisible by step
            if first < n:
                picked.append(pc.take(batch.column(0), pa.array(range(first, n, step), pa.int64())))
            start += n
    if not picked:
        return pa.array([], pa.string())
    return pc.drop_null(pa.concat_arrays(picked))


def _mean_type_token_ratio(flat: pa.Array, parent: pa.Array) -> float:
    """Mean over texts (with a token) of distinct tokens / tokens; texts in order, as a group-by would list them."""
    if len(flat) == 0:
        return 0.0
    codes = pc.dictionary_encode(flat).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    owner = parent.to_numpy(zero_copy_only=False).astype(np.int64)
    distinct_pairs = np.unique(owner * (int(codes.max()) + 1) + codes) // (int(codes.max()) + 1)
    count = np.bincount(owner)
    present = count > 0
    distinct = np.bincount(distinct_pairs, minlength=len(count))
    ratios = pc.divide(pa.array(distinct[present]).cast(pa.float64()), pa.array(count[present]))
    return pc.mean(ratios).as_py() or 0.0


def diversity(texts: pa.Array) -> dict[str, float]:
    """distinct-1, distinct-2, mean type-token ratio and compression ratio of some texts.

    >>> import pyarrow as pa
    >>> d = diversity(pa.array(["the cat sat", "the cat ran"]))
    >>> d["distinct_1"], d["distinct_2"]
    (0.6667, 0.75)
    """
    if len(texts) == 0:
        return {"distinct_1": 0.0, "distinct_2": 0.0, "type_token_ratio": 0.0, "compression_ratio": 0.0,
                "sample_rows": 0}
    tokens = split_whitespace(pc.utf8_lower(texts))
    # split_whitespace yields "" for leading/trailing blanks: drop them.
    flat = pc.list_flatten(tokens)
    parent = pc.list_parent_indices(tokens)
    keep = pc.not_equal(flat, "")
    flat, parent = pc.filter(flat, keep), pc.filter(parent, keep)
    n = len(flat)
    d1 = pc.count_distinct(flat).as_py() / n if n else 0.0
    same = pc.equal(parent.slice(0, n - 1), parent.slice(1)) if n > 1 else pa.array([], pa.bool_())
    bigrams = pc.filter(pc.binary_join_element_wise(flat.slice(0, max(n - 1, 0)), flat.slice(1), " "), same)
    d2 = pc.count_distinct(bigrams).as_py() / len(bigrams) if len(bigrams) else 0.0
    ttr = _mean_type_token_ratio(flat, parent)
    raw = "\n".join(texts.to_pylist()).encode("utf-8")
    # zlib level 6 is deterministic and fast enough for a 200k-row sample.
    comp = len(raw) / len(zlib.compress(raw, 6)) if raw else 0.0
    return {"distinct_1": round(d1, 4), "distinct_2": round(d2, 4), "type_token_ratio": round(ttr, 4),
            "compression_ratio": round(comp, 4), "sample_rows": len(texts)}


def config_stats(release_dir: str, config: str, task: str, groups: list[str]) -> dict[str, Any]:
    """The report of one config (see the module docstring)."""
    text_field = TASK_FIELDS[task][0]
    table = read_config(release_dir, config, ["template_id", "group", "fill_type", "source_dataset"])
    rows = table.num_rows
    group_counts = {g: 0 for g in groups}
    group_counts.update(_value_counts(table["group"]) if rows else {})
    per_source: dict[str, int] = {}
    if rows and "source_dataset" in table.column_names:
        src = table.select(["source_dataset", "template_id"]).group_by("source_dataset").aggregate(
            [("template_id", "count_distinct")])
        per_source = dict(zip(src["source_dataset"].to_pylist(), src["template_id_count_distinct"].to_pylist()))
    texts = sample_column(release_dir, config, text_field, rows)
    div = diversity(texts)
    return {
        "rows": rows,
        "task": task,
        "text_field": text_field,
        "groups": group_counts,
        "balance": template_group_balance(table, groups),
        "fill_types": _value_counts(table["fill_type"]) if rows and "fill_type" in table.column_names else {},
        "templates_per_source": per_source,
        "diversity": div,
        "distinct_2": div["distinct_2"],  # the gated figure, also at the top for quick reports
    }


def _release_tables(release_dir: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    path = os.path.join(release_dir, "templates.parquet")
    if os.path.exists(path):
        t = pq.read_table(path, columns=["source_dataset", "source_license"])
        per_source: dict[str, dict[str, Any]] = {}
        for src, lic in zip(t["source_dataset"].to_pylist(), t["source_license"].to_pylist()):
            entry = per_source.setdefault(src or "", {"templates": 0, "licenses": set()})
            entry["templates"] += 1
            if lic:
                entry["licenses"].add(lic)
        out["templates"] = {"rows": t.num_rows, "per_source": {
            k: {"templates": v["templates"], "licenses": sorted(v["licenses"])} for k, v in per_source.items()}}
    path = os.path.join(release_dir, "lexicons.parquet")
    if os.path.exists(path):
        t = pq.read_table(path, columns=["lexicon", "axis", "group", "source", "license"])
        per_lex: dict[str, dict[str, Any]] = {}
        for lex, axis, grp, src, lic in zip(*(t[c].to_pylist() for c in ("lexicon", "axis", "group", "source", "license"))):
            e = per_lex.setdefault(lex, {"entries": 0, "axes": set(), "groups": {}, "sources": set(), "licenses": set()})
            e["entries"] += 1
            e["axes"].add(axis)
            e["groups"][grp] = e["groups"].get(grp, 0) + 1
            if src:
                e["sources"].add(src)
            if lic:
                e["licenses"].add(lic)
        out["lexicons"] = {"rows": t.num_rows, "per_lexicon": {
            k: {"entries": v["entries"], "axes": sorted(v["axes"]), "groups": v["groups"],
                "sources": sorted(v["sources"]), "licenses": sorted(v["licenses"])} for k, v in per_lex.items()}}
    return out


def _sorted(obj: Any) -> Any:
    """Dicts with sorted keys all the way down (lists keep their order)."""
    if isinstance(obj, Mapping):
        return {str(k): _sorted(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [_sorted(v) for v in obj]
    return obj


def _lint_summary(lint: Any) -> dict[str, Any] | None:
    """Accept a LintResult, its to_dict(), or {config: either}; return {"total", "counts", "per_config"?}."""
    if lint is None:
        return None
    if hasattr(lint, "to_dict"):
        lint = lint.to_dict()
    if "counts" in lint:
        return {"counts": dict(lint["counts"]), "total": sum(lint["counts"].values()),
                "examples": list(lint.get("examples", []))}
    per = {name: _lint_summary(v) for name, v in lint.items()}
    counts: dict[str, int] = {}
    for v in per.values():
        for rule, n in v["counts"].items():
            counts[rule] = counts.get(rule, 0) + n
    return {"counts": counts, "total": sum(counts.values()),
            "per_config": {k: {"counts": v["counts"], "total": v["total"]} for k, v in per.items()}}


def compute_stats(release_dir: str, spec, lint: Mapping[str, Any] | Any | None = None) -> dict[str, Any]:
    """The diversity and balance report of a release directory (JSON-serialisable, sorted keys).

    ``lint`` is the lint of the release's rows (``LintResult``, its
    ``to_dict()``, or ``{config: result}``); its totals are copied in.
    Configs of the spec without data are listed under ``missing_configs``.
    """
    configs: dict[str, Any] = {}
    missing = []
    for c in spec.configs:
        if not config_files(release_dir, c.name):
            missing.append(c.name)
            continue
        configs[c.name] = {**config_stats(release_dir, c.name, c.task, [g.name for g in c.groups]), "axis": c.axis}
    stats: dict[str, Any] = {
        "benchmark": spec.benchmark,
        "version": spec.version,
        "configs": configs,
        "missing_configs": missing,
        "total_rows": sum(c["rows"] for c in configs.values()),
        "sample_rows_limit": SAMPLE_ROWS,
        **_release_tables(release_dir),
    }
    summary = _lint_summary(lint)
    if summary is not None:
        stats["lint"] = summary
    return _sorted(stats)


def _bars_svg(counts: Mapping[str, int], width: int = 360, bar_h: int = 18) -> str:
    """Horizontal bars, one per group, scaled to the largest count."""
    top = max(counts.values(), default=0) or 1
    label_w = 140
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 70}" '
             f'height="{bar_h * len(counts) + 4}" role="img">']
    for i, (group, n) in enumerate(counts.items()):
        y = i * bar_h + 2
        w = round(width * n / top)
        parts.append(f'<text x="0" y="{y + bar_h - 5}" font-size="12">{html.escape(group)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h - 4}" fill="#4c78a8"/>'
                     f'<text x="{label_w + w + 4}" y="{y + bar_h - 5}" font-size="12">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[tuple], head: tuple) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def render_html(stats: Mapping[str, Any]) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts) of the stats."""
    title = f"{stats.get('benchmark', '')} {stats.get('version', '')}: statistics"
    out = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
           "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    configs = stats.get("configs", {})
    out.append(_table([(name, c["task"], c["axis"], c["rows"], "yes" if c["balance"]["balanced"] else "NO",
                        c["diversity"]["distinct_2"]) for name, c in configs.items()],
                      ("config", "task", "axis", "rows", "balanced", "distinct-2")))
    if stats.get("missing_configs"):
        out.append(f"<p>Configs without data: {html.escape(', '.join(stats['missing_configs']))}</p>")
    if "lint" in stats:
        out.append("<h2>Lint</h2>" + _table(sorted(stats["lint"]["counts"].items()), ("rule", "cells flagged")))
    for name, c in configs.items():
        b = c["balance"]
        out.append(f"<h2>{html.escape(name)}</h2>")
        out.append("<h3>Rows per group</h3>" + _bars_svg(c["groups"]))
        out.append("<h3>Balance</h3>" + _table(
            [(b["templates"], b["unbalanced_templates"], b["max_spread"], b["rows_per_cell_min"], b["rows_per_cell_max"])],
            ("templates", "unbalanced templates", "max spread", "rows/cell min", "rows/cell max")))
        if b["unbalanced_examples"]:
            out.append(_table([(u["template_id"], json.dumps(u["counts"], sort_keys=True)) for u in b["unbalanced_examples"]],
                              ("unbalanced template", "rows per group")))
        out.append(f"<h3>Diversity of <code>{html.escape(c['text_field'])}</code></h3>"
                   + _table(sorted(c["diversity"].items()), ("metric", "value")))
        out.append("<h3>Fill types</h3>" + _table(sorted(c["fill_types"].items()), ("fill type", "rows")))
        out.append("<h3>Templates per source dataset</h3>"
                   + _table(sorted(c["templates_per_source"].items()), ("source dataset", "templates")))
    out.append("</body></html>\n")
    return "\n".join(out)


def write_stats(release_dir: str, stats: Mapping[str, Any]) -> tuple[str, str]:
    """Write stats.json (sorted keys, 2-space indent) and stats.html; return both paths."""
    json_path = os.path.join(release_dir, "stats.json")
    html_path = os.path.join(release_dir, "stats.html")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(render_html(stats))
    return json_path, html_path
