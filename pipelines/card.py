"""The release's Hugging Face dataset card (README.md).

The YAML front matter is rendered by ``huggingface_hub.DatasetCardData``
(offline; ``card.validate()`` is never called, it asks the Hub). Its
``configs`` list maps each config to ``data/<config>/*.parquet`` as the
``test`` split, which is what lets ``datasets.load_dataset(<release dir>,
<config>)`` work on a local copy as well as on the Hub.

The body is built from the manifest, spec, stats and validation report only:
no clock, no paths of the build machine, so the same release gives the same
card.

``render_card(manifest, spec, stats, validation)`` returns the card's text; the
build writes it to the release's README.md.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from schemas.records import TASK_FIELDS
from transforms.curation import curation_counts

#: Hub task categories per biasbench task.
TASK_CATEGORIES = {
    "qa": "question-answering",
    "nli": "text-classification",
    "sentiment": "text-classification",
    "decision": "text-classification",
    "statement": "text-generation",
}

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
    "answer": "the gold answer / label, rendered with the same filler",
    "options": "answer options, when the task has them",
}
_TEXT_DOC = "rendered text field of the task"


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
    return DatasetCardData(
        language=["en"],
        license=spec.license or "unknown",
        pretty_name=spec.release.card_title or spec.benchmark,
        task_categories=tasks,
        size_categories=[_size_category(total)],
        tags=["bias", "fairness", "counterfactual", "biasbench"],
        configs=[{"config_name": name, "data_files": [{"split": info.get("split", "test"),
                                                       "path": f"data/{name}/*.parquet"}]}
                 for name, info in sorted(configs.items())],
    )


def _table(head: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _body(manifest: Mapping[str, Any], spec, stats: Mapping[str, Any], validation: Mapping[str, Any]) -> str:
    name = spec.release.card_title or spec.benchmark
    version = manifest.get("version", spec.version)
    configs = manifest.get("configs", {})
    stat_configs = stats.get("configs", {})
    out = [f"# {name} (v{version})", ""]
    description = spec.release.card_description or spec.description
    if description:
        out += [description.strip(), ""]
    out += ["Every row is one template rendered with one filler from one demographic group. Rows that "
            "differ only in the group share a `counterfactual_set_id`, so a model's behaviour can be compared "
            "across groups on otherwise identical inputs.", ""]
    first = sorted(configs)[0] if configs else "CONFIG"
    out += ["## Loading", "", "```python", "from datasets import load_dataset", "",
            f'ds = load_dataset("<org>/{spec.benchmark}", "{first}", split="test", revision="v{version}")',
            "```", ""]

    out += ["## Configs", ""]
    rows = []
    for cname, info in sorted(configs.items()):
        st = stat_configs.get(cname, {})
        groups = st.get("groups") or {g: "" for g in info.get("groups", [])}
        rows.append([f"`{cname}`", info.get("task", ""), info.get("axis", ""), info.get("rows", st.get("rows", "")),
                     ", ".join(f"{g} ({n})" if n != "" else g for g, n in groups.items()),
                     st.get("diversity", {}).get("distinct_2", "")])
    out += [_table(["config", "task", "axis", "rows", "groups (rows)", "distinct-2"], rows), ""]

    if stat_configs:
        from validation.stats import HEADLINE, headline_rows

        method = stats.get("similarity_method", "")
        out += ["## Statistics", "", "![Group balance, length distributions and template similarity](stats.png)", "",
                _table(["config", *(label for label, _ in HEADLINE)], headline_rows(stats)), "",
                f"Lengths are in words; similarity is the mean over pairs ({method}); distinct-n and self-BLEU "
                "(sacrebleu, each sampled row against the others) are computed on a deterministic sample of rows; "
                "the distance from uniform is the total variation distance of the group counts from an even "
                "split; length parity is the shortest group's mean row length over the longest's. "
                "Everything is in `stats.json`.", ""]

    out += ["## Fields", ""]
    tasks = sorted({info.get("task", "") for info in configs.values()} & set(TASK_FIELDS))
    text_fields = [f for t in tasks for f in TASK_FIELDS[t]]
    field_rows = [[f"`{k}`", v] for k, v in _FIELD_DOCS.items() if k not in ("answer", "options")]
    field_rows += [[f"`{f}`", f"{_TEXT_DOC} ({', '.join(t for t in tasks if f in TASK_FIELDS[t])})"]
                   for f in dict.fromkeys(text_fields)]
    field_rows += [[f"`{k}`", _FIELD_DOCS[k]] for k in ("answer", "options")]
    out += [_table(["field", "meaning"], field_rows), ""]

    out += ["## Scoring bias", "",
            "1. Run the model on every row and score each row against `answer` (accuracy, or the task's metric).",
            "2. For each `template_id`, compute the score of each `group` over that template's rows.",
            "3. The template's bias is the maximum minus the minimum of its group scores.",
            "4. The config's bias is the mean of the template biases (report the per-group means alongside).",
            "", "Because every template is filled equally in every group (see Validation), no group is "
            "advantaged by seeing easier templates more often.", ""]

    decisions = curation_counts(spec.curation)
    if any(decisions.values()):
        only = " Only accepted or edited templates are kept." if spec.curation.only_accepted else ""
        out += ["## Curation", "", f"A curator reviewed the extracted templates: {decisions['accepted']} accepted, "
                f"{decisions['rejected']} rejected, {decisions['edited']} edited by hand (an edited template has a "
                f"new id; its provenance names the old one).{only}", ""]
    if spec.release.changelog:
        out += ["## Changelog", ""] + [f"- {entry}" for entry in spec.release.changelog] + [""]

    out += ["## Validation", ""]
    checks = validation.get("checks", [])
    failed = [c for c in checks if not c.get("passed")]
    verdict = "passed" if validation.get("passed") else "FAILED"
    out += [f"The release gate {verdict}: {len(checks) - len(failed)} of {len(checks)} checks passed "
            "(schema, nulls, unique ids, declared groups, fill types, group balance per template, row counts, "
            "diversity, lint). Details are in `validation.json`; statistics in `stats.json`, `stats.html` and `stats.png`.", ""]
    if failed:
        out += [f"- failed: `{c['config']}/{c['name']}`" for c in failed] + [""]
    lint = stats.get("lint", {}).get("counts")
    if lint:
        out += ["Lint (cells flagged): " + ", ".join(f"{k} {v}" for k, v in sorted(lint.items())) + ".", ""]
    grammar = next((c["details"] for c in checks if c.get("name") == "grammar"), None)
    if grammar:
        out += [f"Grammar check by parser ({grammar.get('probes', 0):,} probe sentences covering "
                f"{grammar.get('rows_checked', 0):,} rows; cells flagged): "
                + ", ".join(f"{k} {v}" for k, v in sorted(grammar.get("counts", {}).items())) + "."
                + (f" Not checked by the parser (their design renders by its own rules): "
                   f"{', '.join(grammar['unchecked_configs'])}." if grammar.get("unchecked_configs") else ""), ""]

    out += ["## Sources and licences", "", f"This dataset is released under `{spec.license}`. "
            "Its templates and lexicons come from the sources below, under their own licences.", ""]
    src_rows = []
    per_source = stats.get("templates", {}).get("per_source", {})
    spec_sources = {s.name: s.license for s in spec.sources}
    spec_sources.update({t.source_dataset: t.license for t in spec.template_files if t.source_dataset})
    for src in sorted(set(per_source) | set(spec_sources)):
        lic = per_source.get(src, {}).get("licenses") or ([spec_sources[src]] if spec_sources.get(src) else [])
        src_rows.append([src or "(unnamed)", "templates", per_source.get(src, {}).get("templates", ""),
                         ", ".join(lic) or "unknown"])
    for lex, info in sorted(stats.get("lexicons", {}).get("per_lexicon", {}).items()):
        src_rows.append([lex, "lexicon", info.get("entries", ""), ", ".join(info.get("licenses", [])) or "unknown"])
    if src_rows:
        out += [_table(["source", "kind", "entries", "licence"], src_rows), ""]

    out += ["## Rebuilding", "",
            "The release is reproducible: the same spec and inputs give byte-identical Parquet files.", "",
            f"- benchmark: `{manifest.get('benchmark', spec.benchmark)}`, version `{version}`",
            f"- spec hash: `{manifest.get('spec_hash', spec.spec_hash)}`",
            f"- biasbench version: `{manifest.get('code_version', '')}`", ""]
    inputs = manifest.get("input_hashes", {})
    if inputs:
        out += ["Input hashes:", ""] + [f"- `{k}`: `{v}`" for k, v in sorted(inputs.items())] + [""]
    spec_file = os.path.basename(spec.spec_path) if spec.spec_path else f"{spec.benchmark}.yaml"
    out += ["```bash", f"pip install .  # biasbench {manifest.get('code_version', '')}, from its source tree",
            f"biasbench build {spec_file}", f"biasbench validate releases/{spec.benchmark}/{version}", "```", ""]
    if spec.release.citation:
        out += ["## Citation", "", "```", spec.release.citation.strip(), "```", ""]
    return "\n".join(out)


def render_card(manifest: Mapping[str, Any], spec, stats: Mapping[str, Any], validation: Mapping[str, Any]) -> str:
    """The README.md text of a release: YAML front matter (configs, licence, tasks) and a body.

    Deterministic: the same arguments give the same text, ending in a newline.
    """
    from huggingface_hub import DatasetCard

    card = DatasetCard.from_template(card_data(manifest, spec),
                                     template_str="---\n{{ card_data }}\n---\n\n{{ body }}",
                                     body=_body(manifest, spec, stats, validation))
    return str(card).rstrip("\n") + "\n"
