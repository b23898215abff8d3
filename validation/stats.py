"""Diversity and balance report of a release: stats.json and a self-contained stats.html.

The report describes exactly the rows that ship. In a build it is computed
from the shards' partial tallies merged on the driver (``schemas.tally``:
each shard tallies the rows it writes); on a release on disk
(``biasbench validate``) or a benchmark that is not a biasbench release, from
one pass over each file. Per config it gives:

- rows, rows per group, whether every template has the same number of rows in
  every group, fill types, templates per source dataset;
- ``diversity`` of the config's first text field (``TASK_FIELDS[task][0]``) on
  the text sample: ``distinct_1/2/3`` (distinct word n-grams over all n-grams,
  lower-cased whitespace tokens), ``vocabulary`` (distinct tokens),
  ``type_token_ratio`` (mean over texts), ``compression_ratio`` (raw / zlib
  bytes of the sample joined by newlines; higher = more repetitive);
- ``figures`` (see ``validation.figures``): templates and sources; template
  length in words (mean, sd, cv) and the templates' mean pairwise similarity;
  row length in words over all rows (mean, sd, cv; per group) and the length
  parity of the groups; self-BLEU and pairwise similarity of a
  ``PAIRWISE_SAMPLE`` stride of the text sample; per-source shares of rows;
  the distance of the group counts from uniform;
- ``integrity``: nulls per required column, duplicate example ids, rows whose
  group is not declared or whose fill type is unknown (the gate's row checks).

And release-wide: ``task_shares``, ``source_shares``, ``similarity_method``.

The text sample is deterministic: all rows when a config has at most
``SAMPLE_ROWS`` (200,000), else every k-th row in release order (files sorted
by name, rows in written order) with ``k = ceil(rows / SAMPLE_ROWS)``; shards
take their part of it by their first row's index. The output has sorted keys
and no timestamps: the same release gives the same stats.json, byte for byte.

The build calls ``compute_stats(staging_dir, spec, lint=..., tallies=...)`` on the staged
release, then ``write_stats(staging_dir, stats)``.
"""

from __future__ import annotations

import glob
import html
import json
import os
import zlib
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas import storage
from schemas.records import FILL_TYPES, TASK_FIELDS, required_columns
from schemas.tally import SAMPLE_ROWS, RowTally, sample_step, tally_files
from validation.figures import (PAIRWISE_SAMPLE, distinct_n, length_figures, length_figures_from_sums,
                                length_parity, mean_type_token_ratio, pairwise_similarity, self_bleu,
                                semantic_available, shares, stride, stride_texts, template_text, token_codes,
                                uniform_distance)

#: Unbalanced templates listed per config (all are counted).
MAX_LISTED_TEMPLATES = 20


def config_files(release_dir: str, config: str) -> list[str]:
    """The Parquet shards of one config, sorted by name."""
    return sorted(glob.glob(os.path.join(release_dir, "data", config, "*.parquet")))


def tally_config(release_dir: str, config: str, task: str) -> RowTally:
    """One pass over a config's shards into a tally (the build has the shards' own tallies instead)."""
    files = config_files(release_dir, config)
    if not files:
        raise FileNotFoundError(f"{os.path.join(release_dir, 'data', config)}: no Parquet files")
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in files)
    return tally_files(files, TASK_FIELDS[task][0], required_columns(task), sample_step(rows))


def template_group_balance(cells: Mapping[str, Mapping[str, int]], groups: list[str]) -> dict[str, Any]:
    """Rows per (template, group): is every template equally filled in every declared group?

    A group a template never reached counts 0. ``spread`` is max minus min
    over the groups of one template; a config is balanced when every spread is 0.
    """
    all_groups = list(groups) + sorted({g for c in cells.values() for g in c} - set(groups), key=str)
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


def diversity(texts: pa.Array) -> dict[str, float]:
    """distinct-1/2/3, vocabulary, mean type-token ratio and compression ratio of some texts.

    >>> import pyarrow as pa
    >>> d = diversity(pa.array(["the cat sat", "the cat ran"]))
    >>> d["distinct_1"], d["distinct_2"], d["distinct_3"], d["vocabulary"], d["type_token_ratio"]
    (0.6667, 0.75, 1.0, 4, 1.0)
    """
    codes = token_codes(texts)
    out = {**distinct_n(texts, codes=codes), "sample_rows": len(texts)}
    if len(texts) == 0:
        return {**out, "type_token_ratio": 0.0, "compression_ratio": 0.0}
    # the texts joined by newlines, in Arrow (a third of the time of joining them as Python strings)
    values = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    raw = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values), "\n")[0].as_buffer()
    # zlib level 6 is deterministic and fast enough for a 200k-row sample.
    out["type_token_ratio"] = round(mean_type_token_ratio(texts, codes=codes), 4)
    out["compression_ratio"] = round(raw.size / len(zlib.compress(raw, 6)), 4) if raw.size else 0.0
    return out


def read_templates(release_dir: str) -> dict[str, dict[str, Any]]:
    """templates.parquet as {template_id: {source_dataset, text}} (text: ``figures.template_text``); read
    through the filesystem layer, so a staging folder on an object store is read where it is."""
    path = storage.join(release_dir, "templates.parquet")
    if not storage.exists(path):
        return {}
    with storage.open_read(path) as f:
        t = pq.read_table(f, columns=["template_id", "task", "fields", "source_dataset"])
    out = {}
    for tid, task, fields, src in zip(*(t[c].to_pylist() for c in ("template_id", "task", "fields", "source_dataset"))):
        by_name = dict(fields)
        out[tid] = {"source_dataset": src, "text": template_text([by_name.get(f, "") for f in TASK_FIELDS.get(task, ())])}
    return out


def text_figures(tally: RowTally, template_texts: list[str] | None, groups: list[str],
                 similarity_method: str | None = None) -> dict[str, Any]:
    """The ``figures`` of one config from its merged tally and its templates' texts (None: unknown)."""
    pairwise = stride_texts(tally.sample_texts(), PAIRWISE_SAMPLE)
    words = {g: length_figures_from_sums(*acc) for g, acc in tally.words.items()}
    total = [sum(acc[i] for acc in tally.words.values()) for i in range(3)]
    declared = _declared_groups(tally, groups)
    out: dict[str, Any] = {
        "templates": len(template_texts) if template_texts is not None else None,
        "sources": len(tally.sources),
        "source_shares": shares(tally.sources),
        "row_length": length_figures_from_sums(*total),
        "row_length_by_group": {str(g): f["mean"] for g, f in words.items()},
        "length_parity": length_parity({str(g): f["mean"] for g, f in words.items()}),
        "self_bleu": self_bleu(pairwise),
        "row_similarity": pairwise_similarity(pairwise, similarity_method),
        "pairwise_sample": len(pairwise),
        "group_uniform_distance": uniform_distance(declared),
        "template_length": None,
        "template_similarity": None,
    }
    if template_texts is not None:
        out["template_length"] = length_figures([len(t.split()) for t in template_texts])
        out["template_similarity"] = pairwise_similarity(stride(template_texts, PAIRWISE_SAMPLE), similarity_method)
    return out


def integrity(tally: RowTally, groups: list[str]) -> dict[str, Any]:
    """What the gate's row checks look at: nulls, duplicate ids, undeclared groups, unknown fill types."""
    return {
        "nulls": dict(tally.nulls),
        "duplicate_example_ids": tally.duplicate_ids(),
        "rows_outside_declared_groups": sum(n for g, n in tally.groups.items() if g not in set(groups)),
        "rows_with_unknown_fill_type": sum(n for f, n in tally.fill_types.items() if f not in FILL_TYPES),
    }


def config_stats(tally: RowTally, task: str, groups: list[str], templates: Mapping[str, Mapping[str, Any]] | None,
                 similarity_method: str | None = None) -> dict[str, Any]:
    """The report of one config from its merged tally (see the module docstring).

    ``templates``: ``read_templates``'s result, or None when the templates are not known.
    """
    texts = tally.sample_texts()
    div = diversity(texts)
    template_texts = _template_texts(tally, templates)
    return {
        "rows": tally.rows,
        "task": task,
        "text_field": tally.text_field,
        "groups": _group_rows(tally, groups),
        "balance": template_group_balance(tally.template_cells(), groups),
        "fill_types": {str(k): v for k, v in tally.fill_types.items()},
        "templates_per_source": {str(s): len(t) for s, t in tally.source_templates.items()},
        "diversity": div,
        "distinct_2": div["distinct_2"],  # the gated figure, also at the top for quick reports
        "figures": text_figures(tally, template_texts, groups, similarity_method),
        "integrity": integrity(tally, groups),
        "length_histogram": _length_histograms(tally),
    }


def plot_config_stats(tally: RowTally, groups: list[str], templates: Mapping[str, Mapping[str, Any]] | None,
                      similarity_method: str | None = None) -> dict[str, Any]:
    """What stats.png shows of a config (``pipelines.plots``), computed as ``config_stats`` computes it, at
    a fraction of the cost (no distinct-n, self-BLEU or row figures): the picture can be drawn from the
    tallies while the other figures are still being computed, and is the same picture."""
    template_texts = _template_texts(tally, templates)
    figures: dict[str, Any] = {"group_uniform_distance": uniform_distance(_declared_groups(tally, groups))}
    if template_texts is not None:
        figures["template_similarity"] = pairwise_similarity(stride(template_texts, PAIRWISE_SAMPLE),
                                                             similarity_method)
    if not figures.get("template_similarity"):  # the picture shows the rows' similarity then
        figures["row_similarity"] = pairwise_similarity(stride_texts(tally.sample_texts(), PAIRWISE_SAMPLE),
                                                        similarity_method)
    return {"groups": _group_rows(tally, groups), "length_histogram": _length_histograms(tally), "figures": figures}


def plot_stats(spec, tallies: Mapping[str, RowTally], templates: Mapping[str, Mapping[str, Any]] | None,
               method: str) -> dict[str, Any]:
    """``plot_config_stats`` of every config of the spec with a tally, as ``compute_stats`` names them."""
    configs = {c.name: plot_config_stats(tallies[c.name], [g.name for g in c.groups], templates, method)
               for c in spec.configs if c.name in tallies}
    return sorted_dicts({"benchmark": spec.benchmark, "version": spec.version, "configs": configs})


def _template_texts(tally: RowTally, templates: Mapping[str, Mapping[str, Any]] | None) -> list[str] | None:
    if templates is None:
        return None
    return [templates[t]["text"] for t in tally.templates() if t in templates]


def _group_rows(tally: RowTally, groups: list[str]) -> dict[str, int]:
    """Rows per group: the declared groups in order (0 where none), then any other group met."""
    return {**{g: tally.groups.get(g, 0) for g in groups}, **{str(g): n for g, n in tally.groups.items() if g not in groups}}


def _declared_groups(tally: RowTally, groups: list[str]) -> dict[str, int]:
    return {g: tally.groups.get(g, 0) for g in groups} if groups else dict(tally.groups)


def _length_histograms(tally: RowTally) -> dict[str, list[int]]:
    return {str(g): _trimmed(h) for g, h in tally.length_histogram.items()}


def _trimmed(hist) -> list[int]:
    values = [int(v) for v in hist]
    while values and not values[-1]:
        values.pop()
    return values


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


def sorted_dicts(obj: Any) -> Any:
    """Dicts with sorted keys all the way down (lists keep their order)."""
    if isinstance(obj, Mapping):
        return {str(k): sorted_dicts(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [sorted_dicts(v) for v in obj]
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


def release_figures(configs: Mapping[str, Mapping[str, Any]], tallies: Mapping[str, RowTally],
                    similarity_method: str) -> dict[str, Any]:
    """Release-wide figures: shares of rows per task and per source, and the similarity method."""
    per_task: dict[str, int] = {}
    per_source: dict[str, int] = {}
    for name, c in configs.items():
        per_task[c["task"]] = per_task.get(c["task"], 0) + c["rows"]
        for src, n in tallies[name].sources.items():
            per_source[str(src)] = per_source.get(str(src), 0) + n
    return {"task_shares": shares(per_task), "source_shares": shares(per_source), "similarity_method": similarity_method}


def resolve_similarity_method(spec, requested: str | None = None) -> str:
    """The similarity method the figures use: ``requested``, else the spec's; ``minilm`` falls back to
    ``tfidf-cosine`` when the ``semantic`` extra is not installed."""
    method = requested or spec.validation.similarity_method
    return "tfidf-cosine" if method == "minilm" and not semantic_available() else method


def spec_config_stats(config, tally: RowTally, templates: Mapping[str, Mapping[str, Any]] | None,
                      method: str) -> dict[str, Any]:
    """The report of one config of the spec (``config``: its ``ConfigSpec``) from its merged tally."""
    return {**config_stats(tally, config.task, [g.name for g in config.groups], templates, method),
            "axis": config.axis}


def compute_stats(release_dir: str, spec, lint: Mapping[str, Any] | Any | None = None,
                  tallies: Mapping[str, RowTally] | None = None, similarity_method: str | None = None,
                  computed: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The diversity and balance report of a release directory (JSON-serialisable, sorted keys).

    ``tallies``: each config's merged shard tallies (a build has them); configs
    without one are read from their files, once. ``lint`` is the lint of the
    release's rows (``LintResult``, its ``to_dict()``, or ``{config: result}``);
    its totals are copied in. Configs of the spec without data are listed under
    ``missing_configs``. ``similarity_method``: see ``figures.pairwise_similarity``.
    ``computed``: configs' reports already made by ``spec_config_stats`` from the same tallies (a
    build computes them in the gate's process while the shards are still being written).
    """
    method = resolve_similarity_method(spec, similarity_method)
    templates = None
    configs: dict[str, Any] = {}
    used: dict[str, RowTally] = {}
    missing = []
    for c in spec.configs:
        tally = (tallies or {}).get(c.name)
        if tally is None:
            if not config_files(release_dir, c.name):
                missing.append(c.name)
                continue
            tally = tally_config(release_dir, c.name, c.task)
        used[c.name] = tally
        if computed is not None and c.name in computed:
            configs[c.name] = computed[c.name]
            continue
        if templates is None:
            templates = read_templates(release_dir)
        configs[c.name] = spec_config_stats(c, tally, templates, method)
    stats: dict[str, Any] = {
        "benchmark": spec.benchmark,
        "version": spec.version,
        "configs": configs,
        "missing_configs": missing,
        "total_rows": sum(c["rows"] for c in configs.values()),
        "sample_rows_limit": SAMPLE_ROWS,
        "pairwise_sample_limit": PAIRWISE_SAMPLE,
        **release_figures(configs, used, method),
        **_release_tables(release_dir),
    }
    summary = _lint_summary(lint)
    if summary is not None:
        stats["lint"] = summary
    return sorted_dicts(stats)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


#: The headline figures of a config, as (column label, how to read it from the config's stats).
HEADLINE = (
    ("rows", lambda c: _fmt(c.get("rows"))),
    ("templates", lambda c: _fmt(c["figures"].get("templates"))),
    ("sources", lambda c: _fmt(c["figures"].get("sources"))),
    ("template words mean/sd/cv", lambda c: "n/a" if not c["figures"].get("template_length") else
     "{mean:.1f}/{sd:.1f}/{cv:.2f}".format(**c["figures"]["template_length"])),
    ("template similarity", lambda c: _fmt((c["figures"].get("template_similarity") or {}).get("mean"))),
    ("row words mean/cv", lambda c: "{mean:.1f}/{cv:.2f}".format(**c["figures"]["row_length"])),
    ("row similarity", lambda c: _fmt(c["figures"]["row_similarity"]["mean"])),
    ("distinct-1/2/3", lambda c: "/".join(_fmt(c["diversity"][f"distinct_{n}"]) for n in (1, 2, 3))),
    ("vocabulary", lambda c: _fmt(c["diversity"]["vocabulary"])),
    ("self-BLEU", lambda c: _fmt(c["figures"]["self_bleu"], 1)),
    ("largest source share", lambda c: _fmt(max(c["figures"]["source_shares"].values(), default=None))),
    ("distance from uniform", lambda c: _fmt(c["figures"]["group_uniform_distance"])),
    ("length parity", lambda c: _fmt(c["figures"]["length_parity"])),
)


def headline_rows(stats: Mapping[str, Any]) -> list[list[str]]:
    """One row per config (sorted): its name, then the ``HEADLINE`` figures as text ("n/a" where a report
    made before a figure existed lacks it)."""
    def cell(read, c):
        try:
            return read(c)
        except (KeyError, TypeError, ValueError):
            return "n/a"
    return [[name] + [cell(read, c) for _, read in HEADLINE] for name, c in sorted(stats.get("configs", {}).items())]


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
    out.append("<h2>Figures</h2>" + _table([tuple(r) for r in headline_rows(stats)],
                                           ("config", *(label for label, _ in HEADLINE))))
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
