"""The held-out check: are the passages CALM's authors chose among the candidates extraction keeps?

CALM's 224 templates (``templates/*.json``) carry their source dataset; each one's main text
(context or premise) is located in our ingested records by its literal text outside the slots
(``<PERSON>``, ``<he/she/they>``: every literal stretch must occur, in order), and the question or
hypothesis must match the same way. A passage is *found* when extraction keeps a candidate from
that record; the share found is reported per source, with the passages that could not be located
in the ingested files counted apart (bAbI tasks the spec does not read, sources that do not ingest).

Given a run's ``candidates.parquet`` (``biasbench extract``), each located passage is also looked up
among the run's candidates (*in run*), and those a leading ``sample`` filter of the spec leaves out
of the run (*sampled out*) are counted: a run's quota and sample choose among candidates by a stable
hash, so a passage extraction keeps may still be outside a run.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace

from schemas.records import SourceRecord, Template

# CALM's source_dataset -> (calm-extract source names, CALM main field, CALM second field, our task fields)
CALM_SOURCES = {
    "babi": (("babi", "babi_task13"), "context", "question", ("context", "question")),
    "sodapop": (("sodapop",), "context", "question", ("context", "question")),
    "TweetQA": (("tweetqa",), "context", "question", ("context", "question")),
    "relation_extraction": (("relation_extraction",), "context", "question", ("context", "question")),
    "qamr": (("qamr",), "context", "question", ("context", "question")),
    "mctest": (("mctest",), "context", "question", ("context", "question")),
    "duorc": (("duorc",), "context", "question", ("context", "question")),
    "mcscript": (("mcscript",), "context", "question", ("context", "question")),
    "SNLI": (("snli",), "premise", "hypothesis", ("premise", "hypothesis")),
    "wnli": (("wnli",), "premise", "hypothesis", ("premise", "hypothesis")),
    "RTE": (("rte",), "premise", "hypothesis", ("premise", "hypothesis")),
}
_CALM_SLOT = re.compile(r"<[^<>]+>")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def literal_parts(text: str) -> list[str]:
    """The stretches of a CALM template outside its slots, normalised, the short ones dropped."""
    return [p for p in (_norm(x) for x in _CALM_SLOT.split(text)) if len(p) >= 4]


def matches(parts: list[str], text: str) -> bool:
    pos, norm = 0, _norm(text)
    for p in parts:
        i = norm.find(p, pos)
        if i < 0:
            return False
        pos = i + len(p)
    return True


@dataclass
class HeldoutResult:
    templates: int = 0
    located: int = 0
    found: int = 0
    in_run: int = 0  # located passages among the run's candidates
    sampled_out: int = 0  # located passages whose record the spec's record sample leaves out
    missed: list[str] = field(default_factory=list)  # "record id: why"


def calm_passages(templates_dir: str) -> list[dict]:
    out = []
    for name in ("qa_templates.json", "nli_templates.json"):
        with open(os.path.join(templates_dir, name), encoding="utf-8") as f:
            for tid, t in json.load(f).items():
                if t.get("source_dataset") in CALM_SOURCES:
                    out.append({**t, "calm_id": f"{name.split('_')[0]}:{tid}"})
    return out


def run_candidates(path: str) -> set[tuple[str, str]]:
    """(source, record id) of every candidate in a run's ``candidates.parquet``."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["source_dataset", "source_record_id"])
    return set(zip(table.column("source_dataset").to_pylist(), table.column("source_record_id").to_pylist()))


def heldout_share(spec, passages: list[dict], nlp, candidates: set[tuple[str, str]] | None = None
                  ) -> dict[str, HeldoutResult]:
    """Per CALM source name (and ``all``); with ``candidates`` (:func:`run_candidates`), also how many
    located passages are in that run."""
    from transforms.candidate_filters import in_sample, record_sample_rates
    from transforms.extract import extract_batch, record_texts
    from transforms.ingest import read_source

    sources = {s.name: s for s in spec.sources}
    extracts = {e.source: e for e in spec.extract}
    rates = record_sample_rates(spec.extract)
    results: dict[str, HeldoutResult] = defaultdict(HeldoutResult)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for p in passages:
        by_source[p["source_dataset"]].append(p)
    for calm_name, items in sorted(by_source.items()):
        names, main, second, ours = CALM_SOURCES[calm_name]
        res = results[calm_name]
        res.templates = len(items)
        located: dict[int, tuple[str, SourceRecord]] = {}
        for name in names:
            if name not in sources or name not in extracts:
                continue
            ex = extracts[name]
            try:
                records = [r for r in read_source(sources[name], spec.resolve(sources[name].path))
                           if isinstance(r, SourceRecord)]
            except Exception as e:  # a format only the ingest work reads: counted as not located
                res.missed.append(f"{name}: not ingested ({type(e).__name__}: {e})")
                continue
            # (CALM appended the options to its QA questions after a line break: "…?\nA: …")
            wanted = [(i, literal_parts(p[main]), literal_parts(p.get(second, "").split("\n")[0]))
                      for i, p in enumerate(items) if i not in located]
            for r in records:
                texts = record_texts(r, ex)
                if isinstance(texts, str):
                    continue
                a, b = texts.fields.get(ours[0], ""), texts.fields.get(ours[1], "")
                for i, pa, pb in wanted:
                    if i not in located and pa and matches(pa, a) and matches(pb, b):
                        located[i] = (name, r)
        res.located = len(located)
        for name, r in located.values():
            if name in rates and not in_sample(name, r.record_id, rates[name], spec.seed):
                res.sampled_out += 1
            if candidates is not None and (name, r.record_id) in candidates:
                res.in_run += 1
        groups: dict[str, list[tuple[int, SourceRecord]]] = defaultdict(list)
        for i, (name, r) in located.items():
            groups[name].append((i, r))
        for name, pairs in groups.items():
            # extraction alone, without the candidate filters (which the prefilter applies early)
            outs = extract_batch([r for _, r in pairs], replace(extracts[name], filters=[]), nlp)
            for (i, r), out in zip(pairs, outs):
                if isinstance(out, Template):
                    res.found += 1
                else:
                    res.missed.append(f"{items[i]['calm_id']} ({name} {r.record_id}): {getattr(out, 'reason', out)}")
    total = HeldoutResult()
    for r in results.values():
        total.templates += r.templates
        total.located += r.located
        total.found += r.found
        total.in_run += r.in_run
        total.sampled_out += r.sampled_out
    results["all"] = total
    return dict(results)


def format_heldout(results: dict[str, HeldoutResult], with_run: bool = False) -> str:
    run_head = f" {'sampled out':>11} {'in run':>6}" if with_run else ""
    lines = [f"{'CALM source':22} {'templates':>9} {'located':>7} {'found':>5} {'share':>6}{run_head}"]
    for name in sorted(results, key=lambda n: (n == "all", n)):
        r = results[name]
        share = f"{r.found / r.located:.2f}" if r.located else "-"
        run = f" {r.sampled_out:11d} {r.in_run:6d}" if with_run else ""
        lines.append(f"{name:22} {r.templates:9d} {r.located:7d} {r.found:5d} {share:>6}{run}")
    lines.append("(share = found / located: CALM passages among the kept candidates of the records they came from)")
    if with_run:
        lines.append("(sampled out: the record is outside the spec's record sample; in run: among the run's candidates, "
                     "after every filter, the quota and dedup)")
    for name in sorted(results):
        for m in results[name].missed:
            lines.append(f"missed {name} {m}")
    return "\n".join(lines)
