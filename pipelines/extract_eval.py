"""Score extraction against a hand-checked gold set: precision and recall of templates, per source.

A gold line (``tests/data/extract_gold.jsonl``, guidelines in ``tests/data/README.md``) names a
source record and the people a correct template may slot, each as the list of its mentions
``[text key, surface text, occurrence]`` (occurrence: which match of the surface text in that
text, counted from 0 at word boundaries; ``"*"``: every match); no people means "no template".

A kept template is correct when each of its referents slots exactly the spans of one gold
person: every slot replaces a whole mention of that person, and every mention of that person
in every field is slotted. Precision: correct / kept; recall: correct / gold records that have
a template. The extractor's spans are read from the template's provenance
(``person: context[0:4], answer[0:4]``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from schemas.errors import InputError
from schemas.records import SourceRecord, Template

_SPAN = re.compile(r"^(?P<key>.+)\[(?P<start>\d+):(?P<end>\d+)\]$")

Span = tuple[str, int, int]


def load_gold(path: str) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                assert {"source", "record_id", "people"} <= set(rec)
            except (ValueError, AssertionError):
                raise InputError(f"{path}, line {n}: not a gold record (source, record_id, people)") from None
            rec["line"] = n
            out.append(rec)
    return out


def gold_spans(gold: Mapping, texts: Mapping[str, str]) -> list[frozenset[Span]]:
    """Each gold person's mentions as character spans in ``texts`` (key -> text); an annotation that
    does not match the text is an InputError naming the record and the mention."""
    people = []
    for person in gold["people"]:
        spans: set[Span] = set()
        for key, surface, occurrence in person:
            text = texts.get(key)
            where = f"gold line {gold['line']} ({gold['source']} {gold['record_id']})"
            if text is None:
                raise InputError(f"{where}: no text {key!r}")
            hits = [m.span() for m in re.finditer(rf"(?<!\w){re.escape(surface)}(?!\w)", text)]
            if occurrence == "*":
                chosen = hits
            elif isinstance(occurrence, int) and occurrence < len(hits):
                chosen = [hits[occurrence]]
            else:
                chosen = []
            if not chosen:
                raise InputError(f"{where}: {key} has no occurrence {occurrence} of {surface!r}")
            spans.update((key, a, b) for a, b in chosen)
        people.append(frozenset(spans))
    return people


def template_spans(template: Template) -> list[frozenset[Span]]:
    """The spans each referent of an extracted template replaced, from its provenance."""
    out = []
    for entry in template.provenance:
        ref, sep, rest = entry.partition(": ")
        if not sep or not re.fullmatch(r"person\d*", ref):
            continue
        spans = set()
        for part in rest.split(", "):
            m = _SPAN.match(part)
            if m:
                spans.add((m["key"], int(m["start"]), int(m["end"])))
        out.append(frozenset(spans))
    return out


@dataclass
class SourceScore:
    records: int = 0
    with_template: int = 0  # gold records that have a correct template
    kept: int = 0
    correct: int = 0
    wrong: list[str] = field(default_factory=list)  # "record id: why", for reading

    @property
    def precision(self) -> float:
        return self.correct / self.kept if self.kept else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.with_template if self.with_template else 1.0


def score(gold: Sequence[Mapping], texts_of: Mapping[tuple[str, str], Mapping[str, str]],
          outputs: Mapping[tuple[str, str], object]) -> dict[str, SourceScore]:
    """Per source (and ``all``): ``texts_of[(source, id)]`` the record's texts by key,
    ``outputs[(source, id)]`` what extraction made of it (a Template, or anything else for "refused")."""
    scores: dict[str, SourceScore] = defaultdict(SourceScore)
    for g in gold:
        key = (g["source"], g["record_id"])
        people = gold_spans(g, texts_of[key])
        out = outputs.get(key)
        for s in (scores[g["source"]], scores["all"]):
            s.records += 1
            s.with_template += bool(people)
        if not isinstance(out, Template):
            continue
        refs = template_spans(out)
        ok = bool(refs) and all(r in people for r in refs) and len(set(refs)) == len(refs)
        for s in (scores[g["source"]], scores["all"]):
            s.kept += 1
            s.correct += ok
        if not ok:
            scores[g["source"]].wrong.append(f"{g['record_id']}: {out.fields}")
    return dict(scores)


def gold_records(spec, gold: Sequence[Mapping]):
    """``(extract entry, its source's gold records)`` for each of the spec's entries whose source the gold
    set covers, the records read through the entry's source profile."""
    from transforms.ingest import read_source

    wanted: dict[str, set[str]] = defaultdict(set)
    for g in gold:
        wanted[g["source"]].add(g["record_id"])
    sources = {s.name: s for s in spec.sources}
    for ex in spec.extract:
        if ex.source in wanted:
            src = sources[ex.source]
            yield ex, [r for r in read_source(src, spec.resolve(src.path))
                       if isinstance(r, SourceRecord) and r.record_id in wanted[ex.source]]


def extract_gold(spec, gold: Sequence[Mapping], nlp=None):
    """Run the spec's extraction over the gold records: ``(texts_of, outputs)`` for :func:`score`."""
    from transforms.extract import extract_batch, record_texts

    texts_of, outputs = {}, {}
    for ex, records in gold_records(spec, gold):
        for r in records:
            t = record_texts(r, ex)
            texts_of[(ex.source, r.record_id)] = dict(t.items()) if not isinstance(t, str) else {}
        # the rule alone is scored: without the candidate filters, which the prefilter would apply early,
        # and without the entry's max_chars, a bound on a run's cost that sets long records aside unparsed
        rule_only = replace(ex, filters=[], settings={k: v for k, v in ex.settings.items() if k != "max_chars"})
        for r, out in zip(records, extract_batch(records, rule_only, nlp)):
            outputs[(ex.source, r.record_id)] = out
    missing = sorted({(g["source"], g["record_id"]) for g in gold} - set(texts_of))
    if missing:
        raise InputError(f"gold records not in the sources: {', '.join(f'{s} {i}' for s, i in missing[:5])}")
    return texts_of, outputs


def format_scores(scores: Mapping[str, SourceScore]) -> str:
    lines = [f"{'source':22} {'records':>7} {'w/ tmpl':>7} {'kept':>5} {'correct':>7} {'precision':>9} {'recall':>7}"]
    for name in sorted(scores, key=lambda n: (n == "all", n)):
        s = scores[name]
        lines.append(f"{name:22} {s.records:7d} {s.with_template:7d} {s.kept:5d} {s.correct:7d} "
                     f"{s.precision:9.3f} {s.recall:7.3f}")
    return "\n".join(lines)
