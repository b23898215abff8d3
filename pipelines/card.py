"""The release's Hugging Face dataset card (README.md).

The YAML front matter is rendered by ``huggingface_hub.DatasetCardData``
(offline; ``card.validate()`` is never called, it asks the Hub). Its
``configs`` list maps each config to ``data/<config>/*.parquet`` in the
config's split, which is what lets ``datasets.load_dataset(<release dir>,
<config>, split=<split>)`` work on a local copy as well as on the Hub. The
licence is the Hub's identifier for it (``hub_license``), checked against the
Hub's list shipped beside the template.

The body is ``templates/card.md.j2`` (Jinja), filled by ``card_context`` from the
manifest, spec, stats and validation report only: no clock, no paths of the
build machine, so the same release gives the same card. It claims only the
checks that ran (those in validation.json), documents every column the configs
have, and scores each task by a method written for it.

``render_card(manifest, spec, stats, validation)`` returns the card's text; the
build writes it to the release's README.md. ``card_for_repo(text, repo_id)``
rewrites its loading snippet for the Hub repo it is published to.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, Sequence

import yaml

from schemas.records import TASK_FIELDS

#: Hub task categories per biasbench task.
TASK_CATEGORIES = {
    "qa": "question-answering",
    "nli": "text-classification",
    "sentiment": "text-classification",
    "decision": "text-classification",
    "statement": "text-generation",
}

#: What each column means; a column not listed is described as metadata (``_column_doc``).
_FIELD_DOCS = {
    "example_id": "stable id of the row (a hash of template, config, group and filler)",
    "template_id": "the template the row was rendered from (content-derived)",
    "counterfactual_set_id": "rows sharing it differ only in the group/filler: compare them with each other",
    "task": "qa, nli, sentiment, decision or statement",
    "source_dataset": "the corpus the template came from",
    "axis": "the demographic axis of the config (gender, race, …)",
    "group": "the group the filler belongs to",
    "filler": "the name or descriptor put into the template's slots",
    "fill_type": "explicit (the group is named) or implicit (signalled, e.g. by a name)",
    "answer": "the gold answer / label, rendered with the same filler (empty where the task has none)",
    "options": "answer options, when the task has them",
    "context": "rendered passage (qa)",
    "question": "rendered question (qa, decision)",
    "premise": "rendered premise (nli)",
    "hypothesis": "rendered hypothesis (nli)",
    "sentence": "rendered sentence (sentiment)",
    "text": "rendered statement (statement)",
    # HolisticBias
    "bucket": "the descriptor's bucket within the axis (HolisticBias)",
    "descriptor": "the descriptor phrase (HolisticBias)",
    "noun": "the person noun (HolisticBias)",
    "noun_phrase_type": "how descriptor and noun combine (HolisticBias)",
    "preference": "the descriptor's preference flag from HolisticBias (e.g. dispreferred)",
    "template": "the original sentence template",
    "article_fix": "the article this build changed by how the next word is read (\"a FTM\" → \"an FTM\"); empty when none",
    # decisions
    "age": "the person's age", "gender": "the person's gender", "race": "the person's race or ethnicity",
    "domain": "the decision's domain (lending, hiring, …)", "name": "the first name used (implicit fills)",
    # BBQ-style four-way rows
    "question_index": "the template's question index (BBQ)",
    "question_polarity": "`neg` (the question asks for the stereotyped answer) or `nonneg`",
    "context_condition": "`ambig` (the context does not say who) or `disambig`",
    "category": "the bias category", "subcategory": "the bias subcategory, where the template has one",
    "version": "the template version (BBQ)",
    "answer_info": "each option's name and group",
    "stereotyped_groups": "the groups the stereotype is about",
    "target_loc": "index of the option a biased answer picks",
    "label": "index of the correct option",
    "name1": "the first person", "name1_info": "the first person's group",
    "name2": "the second person", "name2_info": "the second person's group",
    "fixes": "the corrections this build applied to the row's template (empty when none)",
}

#: Check names of validation.json, by what they check (a name may carry ``:<column>``).
_CHECK_DOCS = {
    "data_present": "each config has data files", "min_rows": "rows per config at least the minimum",
    "column_exists": "required columns present", "not_null": "no nulls in required columns",
    "unique": "unique example ids", "group_in_declared": "every row's group is a declared group",
    "fill_type_in_set": "fill types explicit/implicit", "balanced_groups": "every template filled equally in every group",
    "lint_failures": "lint of the rendered text (agreement, articles, doubled words, empty fields)",
    "leftover_markers": "no slot markers left in the text", "grammar": "parser-based grammar check",
    "max_task_share": "no task takes more than its share",
}

#: A group with fewer fillers than this is named under "Limitations" (thin pool).
THIN_POOL = 10


@lru_cache(maxsize=None)
def hub_licenses() -> frozenset[str]:
    """The licence ids the Hub accepts (``templates/hub_licenses.txt``, from the Hub's documentation)."""
    text = resources.files("pipelines").joinpath("templates", "hub_licenses.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def hub_license(license_text: str) -> tuple[str, str]:
    """``(hub id, licence name)``: the spec's licence as the Hub's lower-case id; ``("other", text)`` when
    the Hub has no id for it, ``("unknown", "")`` when none is given.

    >>> hub_license("CC-BY-SA-4.0"), hub_license("MIT"), hub_license("My Licence 1.0")
    (('cc-by-sa-4.0', ''), ('mit', ''), ('other', 'My Licence 1.0'))
    """
    text = (license_text or "").strip()
    if not text:
        return "unknown", ""
    lowered = text.lower().replace(" ", "-")
    return (lowered, "") if lowered in hub_licenses() else ("other", text)


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if n < limit:
            return label
    return "100M<n<1B"


def card_data(manifest: Mapping[str, Any], spec) -> Any:
    """The YAML metadata of the card as a ``DatasetCardData``."""
    from huggingface_hub import DatasetCardData

    configs = manifest.get("configs", {})
    tasks = sorted({TASK_CATEGORIES.get(info.get("task", ""), "text-classification") for info in configs.values()})
    total = sum(int(info.get("rows", 0)) for info in configs.values())
    license_id, license_name = hub_license(spec.license)
    extra = {"license_name": license_name} if license_name else {}
    return DatasetCardData(
        language=["en"],
        license=license_id,
        pretty_name=spec.release.card_title or spec.benchmark,
        task_categories=tasks,
        size_categories=[_size_category(total)],
        tags=["bias", "fairness", "counterfactual", "biasbench"],
        configs=[{"config_name": name, "data_files": [{"split": info.get("split", "test"),
                                                       "path": f"data/{name}/*.parquet"}]}
                 for name, info in sorted(configs.items())],
        **extra,
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def loading_snippet(configs: Sequence[tuple[str, str]], where: str, revision: str = "") -> str:
    """The ``load_dataset`` lines for the first config, in its own split, and the other configs' names.

    ``configs`` is ``[(config, split), …]`` sorted; ``where`` a Hub repo id or a local release folder.
    """
    first, split = configs[0] if configs else ("CONFIG", "test")
    rev = f', revision="{revision}"' if revision else ""
    lines = ["```python", "from datasets import load_dataset", "",
             f'ds = load_dataset("{where}", "{first}", split="{split}"{rev})', "```"]
    others = [f"`{c}` ({s})" for c, s in configs[1:]]
    if others:
        lines += ["", "Other configs (split): " + ", ".join(others) + "."]
    return "\n".join(lines)


def _config_splits(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, info.get("split", "test")) for name, info in sorted(manifest.get("configs", {}).items())]


def _local_loading(manifest: Mapping[str, Any], benchmark: str, version: str) -> str:
    return (loading_snippet(_config_splits(manifest), f"releases/{benchmark}/{version}")
            + "\n\nThat loads the release folder as `biasbench build` wrote it; once published, load it by its Hub "
              f"repo id (`biasbench publish … --repo-id ORG/NAME` writes it here) with `revision=\"v{version}\"`.")


def card_for_repo(text: str, repo_id: str) -> str:
    """The card with its loading snippet pointing at Hub repo ``repo_id`` (tag ``v<version>``).

    The configs and splits are read from the card's own YAML front matter, so this needs the card only.
    """
    front = yaml.safe_load(text.split("---\n", 2)[1]) if text.startswith("---\n") else {}
    version = re.search(r"^# .* \(v([^)\s]+)\)$", text, re.M)
    configs = [(c["config_name"], c["data_files"][0]["split"]) for c in front.get("configs", [])]
    snippet = loading_snippet(configs, repo_id, f"v{version.group(1)}" if version else "")
    pattern = re.compile(r"(<!-- biasbench:loading -->\n).*?(\n<!-- /biasbench:loading -->)", re.S)
    return pattern.sub(lambda m: m.group(1) + snippet + m.group(2), text, count=1)


def _column_doc(name: str) -> str:
    return _FIELD_DOCS.get(name, "metadata column (from the template's metadata or the filler's lexicon entry)")


def _fields(configs: Mapping[str, Mapping[str, Any]]) -> str:
    """Every column of every config, in schema order, with its type and the configs that have it."""
    seen: dict[str, tuple[str, list[str]]] = {}
    for name, info in sorted(configs.items()):
        for col, typ in info.get("schema", []):
            seen.setdefault(col, (typ, []))[1].append(name)
    everywhere = len(configs)
    rows = [[f"`{col}`", typ, _column_doc(col), "all" if len(where) == everywhere else ", ".join(where)]
            for col, (typ, where) in seen.items()]
    return _table(["field", "type", "meaning", "configs"], rows)


def _columns(info: Mapping[str, Any]) -> set[str]:
    return {col for col, _ in info.get("schema", [])}


def _scoring(configs: Mapping[str, Mapping[str, Any]], stats: Mapping[str, Any]) -> list[dict]:
    """One scoring section per kind of config present, in a fixed order."""
    titles = {"four_way": "Two-person questions with context conditions (BBQ design)", "qa": "Question answering",
              "nli": "Natural language inference", "sentiment": "Sentiment", "decision": "Yes/no decisions",
              "statement": "Statements"}
    sections: dict[str, dict] = {}
    for name, info in sorted(configs.items()):
        cols = _columns(info)
        kind = "four_way" if {"context_condition", "target_loc"} <= cols else info.get("task", "")
        if kind not in titles:
            continue
        s = sections.setdefault(kind, {"kind": kind, "title": titles[kind], "configs": [], "options": False,
                                       "answers": False, "text_field": (TASK_FIELDS.get(kind) or ["text"])[0]})
        s["configs"].append(f"`{name}`")
        s["options"] = s["options"] or "options" in cols
        nulls = stats.get("configs", {}).get(name, {}).get("integrity", {}).get("nulls", {})
        s["answers"] = s["answers"] or ("answer" in cols and not nulls.get("answer"))
    return [sections[k] for k in titles if k in sections]


def _check_kind(name: str) -> str:
    return name.split(":", 1)[0]


def _checks(validation: Mapping[str, Any]) -> tuple[str, list[str], list[str]]:
    """The table of check kinds that ran (configs, passed), what did not run, and the failed checks."""
    kinds: dict[str, list[int]] = {}
    for c in validation.get("checks", []):
        n = kinds.setdefault(_check_kind(c["name"]), [0, 0])
        n[0] += 1
        n[1] += bool(c.get("passed"))
    rows = [[f"`{k}`", _CHECK_DOCS.get(k, "threshold on a figure of stats.json"), f"{ok}/{total}"]
            for k, (total, ok) in kinds.items()]
    not_run = []
    if "balanced_groups" not in kinds:
        not_run.append("group balance per template (`require_balanced_groups: false`)")
    if "grammar" not in kinds:
        not_run.append("the parser-based grammar check")
    failed = [f"{c.get('config', '*')}/{c['name']}" for c in validation.get("checks", []) if not c.get("passed")]
    return _table(["check", "what", "passed"], rows), not_run, failed


def _balance_note(validation: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    ran = any(_check_kind(c["name"]) == "balanced_groups" for c in validation.get("checks", []))
    unbalanced = {name: c.get("balance", {}) for name, c in stats.get("configs", {}).items()
                  if c.get("balance", {}).get("unbalanced_templates")}
    if ran and not unbalanced:
        return ("Every template is filled equally in every group (the `balanced_groups` check), so no group is "
                "advantaged by seeing easier templates more often; averaging per template is still the safer habit.")
    if not unbalanced:
        return ""
    worst = max(unbalanced.items(), key=lambda kv: kv[1]["unbalanced_templates"])
    return (f"Groups are **not** filled equally per template (no balance check ran; `stats.json` counts unbalanced "
            f"templates in {len(unbalanced)} config(s), e.g. {worst[1]['unbalanced_templates']} of "
            f"{worst[1].get('templates', '?')} in `{worst[0]}`): compare groups within a template, never over the "
            "pooled rows of a config.")


def _limitations(spec, manifest: Mapping[str, Any], stats: Mapping[str, Any], validation: Mapping[str, Any]) -> list[str]:
    """What this release does not measure or may confound, from the spec and the figures."""
    out = list(getattr(spec.release, "limitations", []) or [])
    configs = manifest.get("configs", {})
    fill_types = {c.fill_type for c in spec.configs}
    if "implicit" in fill_types:
        out.append("Implicit fills signal a group through a first name. Names carry more than the group (age, class, "
                   "region, how common they are), so a difference between groups may come from those.")
    per_lexicon = stats.get("lexicons", {}).get("per_lexicon", {})
    thin = set()
    for c in spec.configs:
        counts = per_lexicon.get(c.lexicon, {}).get("groups", {})
        for g in c.groups:
            n = counts.get(g.source_group)
            if n is not None and n < THIN_POOL:
                thin.add((g.name, n))
    if thin:
        shown = ", ".join(f"{g} ({n})" for g, n in sorted(thin)[:12]) + (" …" if len(thin) > 12 else "")
        out.append(f"Thin filler pools (fewer than {THIN_POOL} lexicon entries): {shown}. A result for such a group "
                   "rests on a few names or phrases and may reflect them rather than the group.")
    sources = sorted({s for c in stats.get("configs", {}).values() for s in c.get("templates_per_source", {})})
    if len(sources) == 1:
        out.append(f"All templates come from one source (`{sources[0]}`): its topics and style bound what the "
                   "benchmark covers.")
    unbalanced = sum(c.get("balance", {}).get("unbalanced_templates", 0) for c in stats.get("configs", {}).values())
    if unbalanced:
        out.append(f"{unbalanced:,} template × config pairs are not filled equally in every group (by design or by "
                   "lexicon size); see `stats.json` → `balance`.")
    axes = sorted({info.get("axis", "") for info in configs.values()})
    out.append(f"Measured: differences in model behaviour between groups of {', '.join(axes)}, one axis at a time, on "
               "English templates. Not measured: intersections of axes (unless a config is built for them), harms "
               "in open-ended generation beyond these prompts, other languages, or whether a difference is harmful "
               "in a given application.")
    return out


def _sources(spec, stats: Mapping[str, Any]) -> str:
    rows = []
    per_source = stats.get("templates", {}).get("per_source", {})
    spec_sources = {s.name: s.license for s in spec.sources}
    spec_sources.update({t.source_dataset: t.license for t in spec.template_files if t.source_dataset})
    for src in sorted(set(per_source) | set(spec_sources)):
        lic = per_source.get(src, {}).get("licenses") or ([spec_sources[src]] if spec_sources.get(src) else [])
        rows.append([src or "(unnamed)", "templates", per_source.get(src, {}).get("templates", ""),
                     ", ".join(lic) or "unknown"])
    for lex, info in sorted(stats.get("lexicons", {}).get("per_lexicon", {}).items()):
        rows.append([lex, "lexicon", info.get("entries", ""), ", ".join(info.get("licenses", [])) or "unknown"])
    return _table(["source", "kind", "entries", "licence"], rows) if rows else "(none recorded)"


def _citation(spec, version: str) -> str:
    if spec.release.citation:
        return spec.release.citation.strip()
    key = re.sub(r"[^A-Za-z0-9]", "", spec.benchmark) or "benchmark"
    title = spec.release.card_title or spec.benchmark
    return (f"@misc{{{key}_{version.replace('.', '_')},\n  title = {{{{{title}}}: version {version}}},\n"
            f"  note = {{Built with biasbench from the spec {spec.benchmark} (spec hash {spec.spec_hash})}}\n}}")


def _build_command(spec) -> tuple[str, str]:
    """The command that rebuilds this release, and a note when its inputs live outside the spec's folder."""
    shipped = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
    spec_path = os.path.abspath(spec.spec_path) if spec.spec_path else ""
    in_configs = spec_path and os.path.dirname(spec_path) == shipped
    name = (os.path.splitext(os.path.basename(spec_path))[0] if in_configs
            else os.path.basename(spec_path) or f"{spec.benchmark}.yaml")
    if in_configs and name == "default":
        name = ""
    spec_dir = os.path.dirname(spec_path) if spec_path else ""
    needs_data = bool(spec.base_dir) and os.path.abspath(spec.base_dir) != spec_dir
    command = " ".join(p for p in ("biasbench build", name, "--data-dir DIR" if needs_data else "") if p)
    note = ("`DIR` is the folder holding the inputs listed under \"Input hashes\" (the spec's relative paths resolve "
            "against it); each is checked against its hash." if needs_data else "")
    return command, note


def _curation(spec) -> str:
    """What a curator decided about the extracted templates (the spec's ``curation``), or ""."""
    decisions = spec.curation.counts()
    if not any(decisions.values()):
        return ""
    only = " Only accepted or edited templates are kept." if spec.curation.only_accepted else ""
    return (f"A curator reviewed the extracted templates: {decisions['accepted']} accepted, {decisions['rejected']} "
            f"rejected, {decisions['edited']} edited by hand (an edited template has a new id; its provenance names "
            f"the old one).{only}")


def _changelog(spec, manifest: Mapping[str, Any]) -> list[str]:
    return list(spec.release.changelog) + [e for e in manifest.get("changelog", []) if e not in spec.release.changelog]


def card_context(manifest: Mapping[str, Any], spec, stats: Mapping[str, Any],
                 validation: Mapping[str, Any]) -> dict[str, Any]:
    """Every value the template shows."""
    from validation.stats import HEADLINE, headline_rows

    version = manifest.get("version", spec.version)
    configs = manifest.get("configs", {})
    stat_configs = stats.get("configs", {})
    description = [p.strip() for p in (spec.description, spec.release.card_description) if p and p.strip()]
    config_rows = []
    for cname, info in sorted(configs.items()):
        st = stat_configs.get(cname, {})
        groups = st.get("groups") or {g: "" for g in info.get("groups", [])}
        config_rows.append([f"`{cname}`", info.get("task", ""), info.get("axis", ""), info.get("split", "test"),
                            info.get("rows", st.get("rows", "")),
                            ", ".join(f"{g} ({n})" if n != "" else g for g, n in groups.items())])
    checks_table, not_run, failed = _checks(validation)
    checks = validation.get("checks", [])
    lint = stats.get("lint", {}).get("counts")
    grammar = next((c["details"] for c in checks if c.get("name") == "grammar"), None)
    grammar_line = ""
    if grammar:
        grammar_line = (f"Grammar check by parser ({grammar.get('probes', 0):,} probe sentences covering "
                        f"{grammar.get('rows_checked', 0):,} rows; cells flagged): "
                        + (", ".join(f"{k} {v}" for k, v in sorted(grammar.get("counts", {}).items())) or "none") + ".")
    dropped = stats.get("dropped") or {}
    dropped_line = ""
    if dropped:
        dropped_line = ("Dropped before expansion (stage/reason: count; ids in `rejected.json`): "
                        + ", ".join(f"{k} {v:,}" for k, v in sorted(dropped.items())) + ".")
    license_id, license_name = hub_license(spec.license)
    command, data_dir_note = _build_command(spec)
    return {
        "title": spec.release.card_title or spec.benchmark, "version": version, "benchmark": spec.benchmark,
        "description": description,
        "loading": _local_loading(manifest, manifest.get("benchmark", spec.benchmark), version),
        "configs_table": _table(["config", "task", "axis", "split", "rows", "groups (rows)"], config_rows),
        "statistics_table": (_table(["config", *(label for label, _ in HEADLINE)], headline_rows(stats))
                             if stat_configs else ""),
        "similarity_method": stats.get("similarity_method", ""),
        "fields_table": _fields(configs),
        "scoring": _scoring(configs, stats),
        "balance_note": _balance_note(validation, stats),
        "limitations": _limitations(spec, manifest, stats, validation),
        "curation": _curation(spec),
        "changelog": _changelog(spec, manifest),
        "verdict": "passed" if validation.get("passed") else "FAILED",
        "passed_checks": sum(1 for c in checks if c.get("passed")), "total_checks": len(checks),
        "checks_table": checks_table, "not_run": not_run, "failed": failed,
        "lint_line": ("Lint (cells flagged): " + ", ".join(f"{k} {v}" for k, v in sorted(lint.items())) + ".")
        if lint else "",
        "grammar_line": grammar_line, "dropped_line": dropped_line,
        "license": license_id, "license_name": license_name or (spec.license if license_id == "unknown" else ""),
        "sources_table": _sources(spec, stats),
        "spec_hash": manifest.get("spec_hash", spec.spec_hash), "code_version": manifest.get("code_version", ""),
        "input_hashes": sorted(manifest.get("input_hashes", {}).items()),
        "build_command": command, "data_dir_note": data_dir_note,
        "citation": _citation(spec, version),
    }


@lru_cache(maxsize=1)
def _template():
    import jinja2

    source = resources.files("pipelines").joinpath("templates", "card.md.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(source)


def prepare_card() -> None:
    """Import what ``render_card`` needs and compile its template (a third of a second), ahead of the card."""
    import huggingface_hub.repocard  # noqa: F401

    _template()


def render_card(manifest: Mapping[str, Any], spec, stats: Mapping[str, Any], validation: Mapping[str, Any]) -> str:
    """The README.md text of a release: YAML front matter (configs, licence, tasks) and a body.

    Deterministic: the same arguments give the same text, ending in a newline.
    """
    from huggingface_hub import DatasetCard

    body = _template().render(**card_context(manifest, spec, stats, validation))
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    card = DatasetCard.from_template(card_data(manifest, spec), template_str="---\n{{ card_data }}\n---\n\n{{ body }}",
                                     body=body)
    return str(card).rstrip("\n") + "\n"


def judge_and_write_card(release_dir: str, versioned_spec, lint, stats: Mapping[str, Any],
                         grammar: Mapping[str, Any] | None, manifest: Mapping[str, Any], spec) -> dict:
    """The gate's report (``validation.gate.run_gate`` with the grammar check's figures, when there is one)
    written as validation.json, then the card written as README.md from it: what the build's last steps do
    in the process that prepared the card (``pipelines.shard_follower``). Returns the report."""
    from validation.gate import add_grammar_check, run_gate, write_validation

    report = run_gate(release_dir, versioned_spec, lint, stats)
    if grammar is not None:
        report = add_grammar_check(report, grammar, spec.validation.max_grammar_findings)
    write_validation(release_dir, report)
    with open(os.path.join(release_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(render_card(manifest, spec, stats, report))
    return report
