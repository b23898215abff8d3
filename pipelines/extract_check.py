"""Every extracted candidate rendered for he, she and they, then read by the grammar check and the lint.

A candidate is rendered twice per pronoun set, once with a name that starts with a vowel sound and
once with one that does not (an article written before a slot shows either way), in every text
field, the answer and the options. The parser-based grammar check (``validation.grammar_check``)
reads each rendered text field, the row lint (``schemas.lint``) every rendering; a candidate with
any finding is refused, the findings named.
"""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa

from schemas.lint import lint_batch
from schemas.records import LexiconEntry, Template
from transforms.render import render_text

#: (he, she, they) fillers: vowel-initial, then consonant-initial names
PROBE_FILLERS = (
    (LexiconEntry("probe", "gender", "male", "Elijah", pronoun_set="he"),
     LexiconEntry("probe", "gender", "female", "Ava", pronoun_set="she"),
     LexiconEntry("probe", "gender", "non-binary", "Alex", pronoun_set="they")),
    (LexiconEntry("probe", "gender", "male", "James", pronoun_set="he"),
     LexiconEntry("probe", "gender", "female", "Mary", pronoun_set="she"),
     LexiconEntry("probe", "gender", "non-binary", "Riley", pronoun_set="they")),
)
_SECOND = {"male": "Noah", "female": "Emma", "non-binary": "Sam"}


def renderings(template: Template) -> list[tuple[str, str, str]]:
    """``(pronoun set, text key, rendered text)`` for each filler, key and pronoun set."""
    out = []
    refs = list(template.referents)
    for fillers in PROBE_FILLERS:
        for entry in fillers:
            binding = {}
            for i, ref in enumerate(refs):
                binding[ref] = entry if i == 0 else LexiconEntry(
                    "probe", "gender", entry.group, _SECOND[entry.group], pronoun_set=entry.pronoun_set)
            for key, text in template.slot_texts():
                out.append((entry.pronoun_set, key, render_text(text, binding, template_id=template.template_id,
                                                                field=key)))
    return out


def render_findings(templates: Sequence[Template], nlp) -> dict[str, list[str]]:
    """Template id -> the grammar-check and lint findings of its renderings ("they: agreement: they … was")."""
    from pipelines.grammar import check_texts

    rows: list[tuple[str, str, str]] = []
    for t in templates:
        # an empty answer (a statement, a question without a gold answer) is no rendering to check
        rows += [(t.template_id, f"{pset}/{key}", text) for pset, key, text in renderings(t) if text]
    found: dict[str, list[str]] = {t.template_id: [] for t in templates}
    # a label or a short answer is no sentence: the lint alone reads it; a text that renders the same
    # for several fillers (a passage whose person is slotted only in the question) is parsed once
    sentences = [(tid, where, text) for tid, where, text in rows
                 if not where.split("/", 1)[1].startswith(("answer", "options["))]
    distinct = list(dict.fromkeys(text for _, _, text in sentences))
    checked = check_texts(distinct, nlp=nlp)  # each text tagged and parsed only as far as its findings need
    for tid, where, text in sentences:
        for f in checked[text]:
            found[tid].append(f"{where}: {f.rule}: {f.detail}")
    by_template: dict[str, list[tuple[str, str]]] = {}
    for tid, where, text in rows:
        by_template.setdefault(tid, []).append((where, text))
    for t in templates:
        mine = by_template[t.template_id]
        result = lint_batch(pa.table({"example_id": [w for w, _ in mine], "text": [x for _, x in mine]}), ["text"])
        for ex in result.examples:
            found[t.template_id].append(f"{ex.get('example_id', '')}: lint {ex.get('rule', '')}: {ex.get('text', '')}")
    return {tid: sorted(set(v)) for tid, v in found.items() if v}


def refuse_unclean(spec, templates: Sequence[Template]) -> tuple[list[Template], list[dict]]:
    """A build's extracted templates less those ``biasbench extract`` would refuse (a grammar-check or lint
    finding in a he/she/they rendering), and each refused one as a drop (stage ``extract``, reason ``render``):
    a build from a spec's sources keeps what its extract run showed the curator, so the gate's grammar
    check never meets a candidate extraction already knew to be broken."""
    sources = {ex.source for ex in spec.extract}
    extracted = [t for t in templates if t.source_dataset in sources]
    if not extracted:
        return list(templates), []
    from transforms.extract import load_nlp

    findings = render_findings(extracted, load_nlp())
    kept = [t for t in templates if t.template_id not in findings]
    return kept, [{"stage": "extract", "reason": "render", "id": tid} for tid in sorted(findings)]
