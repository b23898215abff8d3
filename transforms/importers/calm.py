"""CALM's template JSON → canonical :class:`Template` records (format ``calm``).

CALM writes a referent as ``<PERSON>`` and a gendered word as a tuple in
male/female/neutral order (``<he/she/they>``, ``<boy/girl/kid>``). Two modes:

``mode: v1`` (exact)
    ``<PERSON>`` → ``{person}`` and every tuple → the choice slot
    ``{=person:a/b/c}``: the word of the filler's pronoun set, written verbatim
    (never re-capitalised), which is exactly CALM's string replacement, typos
    and "they was" included. List answers (``['D', '<His/Her/Their> brother']``)
    keep CALM's ground-truth rendering, the Python repr of the filled list.
``mode: corrected``
    The documented fix list (``calm_fixes.FIXES``) is applied to CALM's text,
    then tuples become pronoun cases (``{person.subj}`` …, the
    ``<he/her/their>`` typo read as a subject), every verb a subject pronoun
    governs — found by the parser from its part of speech, any verb — becomes
    an agreement slot (``{person:listens}`` → "they listen", ``transforms.agreement``),
    sentence-initial capitals are derived (a slot's by the renderer, a
    literal word's here: "what was …?" → "What was …?"), multiple-choice options move from
    the question into ``options`` and the gold answer is the chosen option's text.

Options (``template_files[].options``): ``mode``; ``strip_fields`` (fields
stripped of surrounding whitespace, as CALM's QA gender script did);
``variant`` (a tag kept in metadata ``calm_variant`` and in the record id, for
a template file imported twice); ``labels_from`` (a ground-truth CSV, e.g.
``gt/gt_sentiment_gender.csv``, whose per-template answer replaces the
template file's); ``hub`` (where to fetch inputs absent locally, see
``transforms.calm_inputs``).

>>> to_canonical_v1("<PERSON> said <he/she/they> would.")
'{person} said {=person:he/she/they} would.'
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any, Iterator

from schemas import storage
from schemas.errors import InputError
from schemas.records import Template
from schemas.sentences import lowercase_sentence_starts
from transforms.agreement import agree_in_templates
from transforms.calm_inputs import data_root, locate
from transforms.importers.base import register_importer
from transforms.importers.calm_fixes import TUPLE_CASES, Fix, fixes_for

PERSON = "<PERSON>"
_TUPLE = re.compile(r"<([A-Za-z'’\-]+(?:/[A-Za-z'’\- ]+){2})>")
_ANY_MARKER = re.compile(r"<[A-Za-z][^<>]*>")
_OPTION = re.compile(r"\n(?=[A-E]: )")
_TASK_FIELDS = {"qa": ("context", "question"), "nli": ("premise", "hypothesis"), "sentiment": ("sentence",)}
LICENSE = "MIT (CALM templates); each template keeps its source corpus's licence"


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def to_canonical_v1(text: str) -> str:
    """CALM syntax → canonical slots with CALM's exact surface (choice slots, verbatim)."""
    text = _escape(text).replace(PERSON, "{person}")
    return _TUPLE.sub(lambda m: "{=person:" + m.group(1) + "}", text)


def to_canonical_corrected(text: str, where: str = "", nlp=None) -> str:
    """CALM syntax (after fixes) → canonical pronoun cases with verb agreement (``nlp``: a spaCy
    pipeline, loaded once per process when not given)."""
    return agree_verbs([_pronoun_cases(text, where)], nlp)[0]


def agree_verbs(texts: list[str], nlp=None) -> list[str]:
    """Every verb a subject pronoun governs becomes an agreement slot, found by the parser: any verb,
    not a list ("{person.subj} listens" → "{person.subj} {person:listens}" → "they listen")."""
    if nlp is None:
        from transforms.extract import load_nlp

        nlp = load_nlp()
    return agree_in_templates(texts, nlp)


def _pronoun_cases(text: str, where: str) -> str:
    """CALM's tuples → canonical pronoun cases and choice slots."""
    text = text.replace(PERSON, "{person}")

    def tuple_slot(m: re.Match) -> str:
        words = m.group(1)
        case = TUPLE_CASES.get(words.lower())
        if case is None:  # a gendered word, not a pronoun: keep the three-way choice (lower case)
            return "{person:" + words + "}"
        return "{person." + case + "}"

    text = _TUPLE.sub(tuple_slot, text)
    leftover = _ANY_MARKER.search(text)
    if leftover:
        raise InputError(f"{where}: CALM marker {leftover.group(0)!r} has no canonical equivalent")
    return text


def apply_fixes(text: str, fixes: list[Fix], where: str) -> tuple[str, list[str]]:
    applied = []
    for fix in fixes:
        found = text.count(fix.old)
        if found != fix.count:
            raise InputError(f"{where}: fix {fix.id} expects {fix.count} × {fix.old!r}, found {found}; "
                             f"CALM's template file is not the one the fix list was written for")
        text = text.replace(fix.old, fix.new)
        applied.append(fix.id)
    return text, applied


def read_calm_json(path: str) -> dict[str, dict[str, Any]]:
    try:
        with storage.open_text(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}, line {e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an object of templates keyed by index")
    return data


def read_labels(path: str) -> dict[str, str]:
    """{template index: answer} from a CALM ground-truth CSV (one answer per template)."""
    out: dict[str, str] = {}
    with storage.open_text(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            key = row["template_idx"]
            if out.setdefault(key, row["answer"]) != row["answer"]:
                raise InputError(f"{path}, line {line}: template {key} has two answers")
    return out


def _split_options(question: str) -> tuple[str, list[str], list[str]]:
    parts = _OPTION.split(question)
    letters = [p[0] for p in parts[1:]]
    return parts[0], letters, [p[3:].strip() for p in parts[1:]]


def _task_of(spec, path: str) -> str:
    if spec.task:
        return spec.task
    for task in _TASK_FIELDS:
        if path.endswith(f"{task}_templates.json"):
            return task
    raise InputError(f"{path}: say which task the CALM template file holds (template_files[].task)")


SENTENCE_CAPITALS = "sentence-capitals"


def capitalise_sentences(text: str) -> tuple[str, int]:
    """Upper-case the first letter of every sentence that starts in lower case ("what was …?" in CALM's
    TweetQA questions); a slot that opens a sentence is capitalised by the renderer. Returns the text and
    how many letters changed."""
    starts = lowercase_sentence_starts(text)
    for i in starts:
        text = text[:i] + text[i].upper() + text[i + 1:]
    return text, len(starts)


def _corrected_texts(raws: dict[str, dict[str, Any]], fields, strip, fixes: list[Fix], path: str):
    """{index: ({field or "answer": canonical text}, fix ids applied)}: fixes, pronoun cases, then verb
    agreement for every template in one parser pass."""
    keys, texts, applied_of = [], [], {}
    for index, raw in raws.items():
        where = f"{path} template {index}"
        applied_of[index] = []
        for f in (*fields, "answer"):
            v = raw[f]
            if isinstance(v, list):  # a multiple-choice answer letter: no text to convert
                continue
            v = v.strip() if f in strip else str(v)
            mine = [x for x in fixes if x.index == str(index) and x.field == f]
            v, applied = apply_fixes(_escape(v), mine, f"{where}, field {f}")
            applied_of[index] += applied
            if f != "answer":
                v, capitalised = capitalise_sentences(v)
                if capitalised and SENTENCE_CAPITALS not in applied_of[index]:
                    applied_of[index].append(SENTENCE_CAPITALS)
            keys.append((index, f))
            texts.append(_pronoun_cases(v, f"{where}, field {f}"))
    out: dict[str, tuple[dict[str, str], list[str]]] = {i: ({}, applied_of[i]) for i in raws}
    for (index, f), text in zip(keys, agree_verbs(texts)):
        out[index][0][f] = text
    return out


def import_calm(spec, path: str) -> Iterator[Template]:
    options = dict(spec.options or {})
    mode = options.get("mode", "v1")
    if mode not in ("v1", "corrected"):
        raise InputError(f"{spec.path}: CALM import mode {mode!r} is not 'v1' or 'corrected'")
    root = data_root(spec.path, path)
    hub = options.get("hub", {})
    path = locate(spec.path, root, hub)
    task = _task_of(spec, path)
    fields = _TASK_FIELDS[task]
    strip = set(options.get("strip_fields", []))
    variant = str(options.get("variant", ""))
    labels = read_labels(locate(options["labels_from"], root, hub)) if options.get("labels_from") else {}
    fixes = fixes_for(task) if mode == "corrected" else []
    name = spec.path.replace("\\", "/").rsplit("/", 1)[-1]
    raws = read_calm_json(path)
    for index, raw in raws.items():
        missing = [f for f in (*fields, "answer", "source_dataset") if f not in raw]
        if missing:
            raise InputError(f"{spec.path} template {index}: missing field(s) {', '.join(missing)}")
    corrected = _corrected_texts(raws, fields, strip, fixes, spec.path) if mode == "corrected" else {}
    for index, raw in raws.items():
        where = f"{spec.path} template {index}"
        texts = {f: raw[f] for f in fields}
        texts = {f: (v.strip() if f in strip else v) for f, v in texts.items()}
        answer = raw["answer"]
        provenance = [f"calm:{mode}"]
        metadata = {"calm_index": str(index), "label_source": "template file"}
        if variant:
            metadata["calm_variant"] = variant
        opts: list[str] = []
        if mode == "v1":
            out_fields = {f: to_canonical_v1(v) for f, v in texts.items()}
            if isinstance(answer, list):  # CALM's ground truth is the repr of the filled list
                answer = repr([to_canonical_v1(str(a)) for a in answer])
            else:
                answer = to_canonical_v1(str(answer))
            if "options" in raw:
                opts = [str(raw["options"])]
        else:
            converted, applied = corrected[index]
            provenance += [f"fix:{a}" for a in applied]
            out_fields = {f: converted[f] for f in fields}
            if isinstance(answer, list):  # multiple choice: options out of the question, answer = chosen text
                question, letters, choices = _split_options(out_fields["question"])
                letter = str(answer[0])
                if letter not in letters:
                    raise InputError(f"{where}: answer letter {letter!r} is not one of the options {letters}")
                out_fields["question"] = question.rstrip()
                opts = choices
                answer = choices[letters.index(letter)]
                provenance.append("fix:options-out-of-question")
            else:
                answer = converted["answer"]
            if task == "nli":
                opts = [o.strip() for o in re.split(r",|\bor\b", str(raw.get("options", ""))) if o.strip()]
        if str(index) in labels and labels[str(index)] != str(answer):
            if mode == "corrected":
                provenance.append(f"fix:label {answer!r}->{labels[str(index)]!r} (CALM's evaluation ground truth)")
            metadata["template_file_answer"] = str(answer)
            answer = labels[str(index)]
            metadata["label_source"] = "evaluation ground truth"
        record_id = f"{name}#{index}" + (f"@{variant}" if variant else "")
        yield Template.create(
            task=task, fields=out_fields, answer=answer, options=opts, source_dataset=str(raw["source_dataset"]),
            source_record_id=record_id, source_split=spec.path, source_license=spec.license or LICENSE,
            provenance=tuple(provenance), ordinal=int(index), metadata=metadata)


register_importer("calm")(import_calm)
