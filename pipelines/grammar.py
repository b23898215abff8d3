"""The grammar check of a build: probes rendered (transforms), parsed once each (spaCy), checked (validation).

``grammar_report(tasks, ctx)`` renders every template of the planned release
once per class of filler (``transforms.grammar_probes``), parses each distinct
probe sentence once, checks it (``validation.grammar_check``) and counts each
finding against the rows of its template × filler class: those are the
figures of the gate's ``grammar`` check in validation.json. spaCy is loaded
once per process, and only when there are probes to parse.

The report has no timings (validation.json is deterministic); the build
prints the time on stderr.
"""

from __future__ import annotations

from typing import Any, Sequence

from validation.grammar_check import RULES, check_doc, needs_parse, needs_tags

#: Findings listed in full in validation.json (all are counted); the ones touching most rows first.
MAX_LISTED = 50
_MAX_TEXT = 300


def grammar_report(tasks: Sequence, ctx, nlp=None) -> dict[str, Any]:
    """Findings of the parser-based grammar check over a planned release, counted in rows × fields."""
    from transforms.four_way_probes import four_way_probes
    from transforms.grammar_probes import grammar_probes

    # the two-person QA design (BBQ) renders its rows by its own rules, and has probes of its own
    probes = grammar_probes([t for t in tasks if t.strategy != "four_way"], ctx) + \
        four_way_probes([t for t in tasks if t.strategy == "four_way"])
    texts = sorted({p.text for p in probes})
    found = check_texts(texts, ctx.article_overrides, nlp) if texts else {}
    counts = {rule: 0 for rule in RULES}
    per_config: dict[str, int] = {}
    findings = []
    for p in probes:
        for f in found.get(p.text, ()):
            cells = sum(p.rows.values())
            counts[f.rule] += cells
            for config, n in p.rows.items():
                per_config[config] = per_config.get(config, 0) + n
            findings.append({"rule": f.rule, "detail": f.detail, "template_id": p.template_id, "field": p.field,
                             "fillers": list(p.classes), "rows": cells, "configs": dict(sorted(p.rows.items())),
                             "text": p.text[:_MAX_TEXT]})
    groups = {(p.template_id, p.classes): p.rows for p in probes if p.group_rows is None}  # template × class
    rows_checked = sum(sum(rows.values()) for rows in groups.values()) + \
        sum(sum(p.group_rows.values()) for p in probes if p.group_rows)
    listed = sorted(findings, key=lambda f: -f["rows"])[:MAX_LISTED]  # stable: probe order breaks ties
    return {
        "cells": sum(counts.values()),
        "counts": counts,
        "configs": dict(sorted(per_config.items())),
        "findings": len(findings),
        "probes": len(probes),
        "parsed": len(texts),
        "rows_checked": rows_checked,
        "listed": listed,
    }


def grammar_from_plan(staging_dir: str, task_paths: Sequence[str]) -> tuple[dict[str, Any], float]:
    """``grammar_report`` of the plan in the staging dir (read from its files: for the gate's process);
    returns the report and the seconds it took."""
    import time

    from transforms.plan_files import read_plan

    t0 = time.perf_counter()
    report = grammar_report(*read_plan(staging_dir, task_paths))
    return report, time.perf_counter() - t0


def load_parser() -> None:
    """Load spaCy's pipeline in this process ahead of the check (the gate's process, while the driver plans)."""
    from transforms.nlp import load_tagger_parser

    load_tagger_parser()


def check_texts(texts: Sequence[str], overrides=None, nlp=None) -> dict[str, list]:
    """``check_doc``'s findings per text, each text analysed no further than its findings need: every text
    tokenized, tagged only with an article to judge or a subject pronoun (``needs_tags``), parsed only
    where a pronoun's verb could disagree with it (``needs_parse``). The tagger and the parser read only
    a doc's own tokens (through its tok2vec tensor), so the findings are those of parsing every text."""
    if nlp is None:
        from transforms.nlp import load_tagger_parser

        nlp = load_tagger_parser()
    # the attribute ruler only maps tags to POS, morphology and lemmas, except for whitespace tokens,
    # whose two rules are applied here instead
    tagging = [name for name in nlp.pipe_names if name not in ("ner", "lemmatizer", "attribute_ruler", "parser")]
    docs = [nlp.make_doc(text) for text in texts]
    tagged = [doc for text, doc in zip(texts, docs) if needs_tags(doc, overrides, text)]
    _annotate(nlp, tagging, tagged)
    _annotate(nlp, [name for name in nlp.pipe_names if name == "parser"], [doc for doc in tagged if needs_parse(doc)])
    return {text: check_doc(doc, overrides, text) for text, doc in zip(texts, docs)}


def _annotate(nlp, names: list[str], docs: list) -> None:
    """Run the pipeline's components ``names`` over ``docs`` (in place)."""
    if names and docs:
        with nlp.select_pipes(enable=names):
            for doc in nlp.pipe(docs, batch_size=256):
                _mark_whitespace(doc)


def _mark_whitespace(doc) -> None:
    """What the English pipelines' attribute ruler does to whitespace tokens and nothing else
    ``check_doc`` reads: tag ``_SP``, and dependency ``dep`` where the parser gave one. Only the
    whitespace tokens are read one by one (most probes have none)."""
    for i in doc.to_array("IS_SPACE").nonzero()[0].tolist():
        tok = doc[i]
        tok.tag_ = "_SP"
        if tok.dep_:
            tok.dep_ = "dep"
