"""A source record to the task its corpus serves: the task's text fields, answer and options.

Which source field becomes which task field is data (``SourceSpec.mapping``, usually
from a source profile in ``configs/data/sources``), never code. A field reference is

- a dotted path into the record (``qa_pairs.question``, ``answers.0``);
- a list of paths: the first that is not empty (DROP: a span, else a number);
- ``{from: path(s), remove: regex, sub: {regex: text}, replace: {marker: path}, split: "|" | "repr"}``:
  ``remove`` deletes what the regex matches (MCTest's ``one: `` question prefix), ``sub``
  rewrites what each regex matches (MCTest's ``\newline`` marks to a space),
  ``replace`` puts another field's text in place of a marker (the relation-extraction
  corpus writes its subject as ``XXX`` in the question), ``split`` turns a text into
  a list (options written ``a|b``, or a numpy array printed ``['a' 'b']``).

A mapped record's ``fields`` are the task's fields (``schemas.records.SOURCE_TASK_FIELDS``),
``answer``, ``options`` and the ``keep`` extras. A record that lacks a required one is
quarantined as malformed, saying which.

>>> from schemas.spec import SourceSpec, TaskMapping
>>> spec = SourceSpec("re", "tsv", "test.0", task="qa", mapping=TaskMapping(
...     fields={"context": "sentence", "question": {"from": "question", "replace": {"XXX": "subject"}}},
...     answer="answers.0"))
>>> rec = SourceRecord("re", "test", "3", {"sentence": "Ada was born in Paris.", "question": "Where was XXX born?",
...                    "subject": "Ada", "answers": ["Paris"]}, "", "test.0, line 3")
>>> map_record(rec, spec).fields
{'context': 'Ada was born in Paris.', 'question': 'Where was Ada born?', 'answer': 'Paris', 'options': []}
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

from schemas.quarantine import MALFORMED, Quarantined
from schemas.records import SOURCE_TASK_FIELDS, SourceRecord
from transforms.ingest.base import get_path, record_position, record_unit

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_REPR_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_TRUE = {"true", "1", "yes", "t", "y"}


class Unmapped(Exception):
    """A record lacks what its mapping needs; the message says what, in one line."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 2.0 from a Parquet/pandas column is the label 2
    return str(value).strip()


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def split_repr(text: str) -> list[str]:
    """The items of a printed list or numpy array of strings.

    >>> split_repr("['The city councilmen' 'The demonstrators']"), split_repr('["Kevin\\'s mom", \\'Jim\\']')
    (['The city councilmen', 'The demonstrators'], ["Kevin's mom", 'Jim'])
    """
    return [a if a or not b else b for a, b in _REPR_ITEM.findall(text)]


def _first(fields: Mapping[str, Any], paths) -> Any:
    for p in [paths] if isinstance(paths, str) else paths:
        value = get_path(fields, p)
        if value not in (None, "", [], {}):
            return value
    return None


def resolve(fields: Mapping[str, Any], ref: Any) -> Any:
    """The value a field reference names in ``fields`` (a text, a list, or None)."""
    if isinstance(ref, (str, list)):
        return _first(fields, ref)
    if not isinstance(ref, Mapping) or "from" not in ref:
        raise ValueError(f"a field reference is a path, a list of paths or a mapping with 'from', not {ref!r}")
    value = _first(fields, ref["from"])
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return value
    text = _text(value)
    if ref.get("remove"):
        text = _regex(ref["remove"]).sub("", text).strip()
    for pattern, repl in (ref.get("sub") or {}).items():
        text = _regex(pattern).sub(repl, text).strip()
    for marker, path in (ref.get("replace") or {}).items():
        text = text.replace(marker, _text(_first(fields, path)))
    split = ref.get("split")
    if split == "repr":
        return split_repr(text)
    if split:
        return [t.strip() for t in text.split(split)]
    return text


def _options(fields: Mapping[str, Any], m) -> tuple[list[str], int | None]:
    """The options' texts, and the index of the one marked correct (None when none is)."""
    if m.option_fields:
        texts = [_text(resolve(fields, f)) for f in m.option_fields]
        flags = [_text(get_path(fields, f)).lower() in _TRUE for f in m.option_correct_fields]
    else:
        raw = resolve(fields, m.options) if m.options else None
        if raw is None:
            return [], None
        if isinstance(raw, Mapping):
            raw = [raw]  # one XML child
        if not isinstance(raw, list):
            raw = [t.strip() for t in _text(raw).split("|")]
        texts = [_text(o.get(m.option_text) if isinstance(o, Mapping) else o) for o in raw]
        flags = [isinstance(o, Mapping) and _text(o.get(m.option_correct)).lower() in _TRUE for o in raw] \
            if m.option_correct else []
    marked = [i for i, f in enumerate(flags) if f]
    if len(marked) > 1:
        raise Unmapped(f"{len(marked)} options are marked correct")
    return texts, marked[0] if marked else None


def _answer(fields: Mapping[str, Any], m, options: list[str], marked: int | None) -> str:
    if m.option_correct or m.option_correct_fields:
        return options[marked] if marked is not None else ""
    if not m.answer:
        return ""
    value = resolve(fields, m.answer)
    if isinstance(value, list):  # TweetQA's list of reference answers: the first is the answer
        value = value[0] if value else None
    answer = _text(value)
    if m.answer_from_options and answer:
        i = _LETTERS.find(answer.upper()) if m.answer_from_options == "letter" and len(answer) == 1 else \
            int(answer) if m.answer_from_options == "index" and answer.lstrip("-").isdigit() else -1
        if not 0 <= i < len(options):
            raise Unmapped(f"answer {answer!r} does not point into the {len(options)} options")
        answer = options[i]
    if m.answer_map:
        if answer not in m.answer_map:
            raise Unmapped(f"answer {answer!r} is not in answer_map ({', '.join(map(str, m.answer_map))})")
        answer = str(m.answer_map[answer])
    return answer


def task_fields(fields: Mapping[str, Any], task: str, m) -> dict[str, Any]:
    """The task's fields, ``answer``, ``options`` and the kept extras of one record; Unmapped when a
    required one is missing or empty."""
    out: dict[str, Any] = {}
    for name in SOURCE_TASK_FIELDS[task]:
        if name not in m.fields:
            if name in m.optional:
                out[name] = ""
                continue
            raise Unmapped(f"the mapping has no field {name!r} of task {task!r}")
        value = resolve(fields, m.fields[name])
        if isinstance(value, (list, dict)):
            raise Unmapped(f"field {name!r} ({m.fields[name]!r}) is a {type(value).__name__}, not text")
        out[name] = _text(value)
    for name, ref in m.fields.items():
        if name not in out:
            out[name] = _text(resolve(fields, ref))
    options, marked = _options(fields, m)
    out["answer"] = _answer(fields, m, options, marked)
    out["options"] = options
    for name, ref in m.keep.items():
        value = resolve(fields, ref)
        out[name] = value if isinstance(value, list) else _text(value)
    empty = [k for k in (*SOURCE_TASK_FIELDS[task], *(["answer"] if m.answer or m.option_correct
                                                       or m.option_correct_fields else []))
             if not out[k] and k not in m.optional]
    if empty:
        refs = [m.fields.get(k, m.answer if k == "answer" else k) for k in empty]
        raise Unmapped(f"no text for {', '.join(f'{k} ({r!r})' for k, r in zip(empty, refs))}")
    return out


def map_record(rec: SourceRecord, spec) -> SourceRecord | Quarantined:
    """The record with its task's fields (``task`` set), or its quarantine entry saying what is missing."""
    try:
        fields = task_fields(rec.fields, spec.task, spec.mapping)
    except Unmapped as e:
        return Quarantined(rec.source_dataset, record_unit(rec), record_position(rec), MALFORMED, 0, 0,
                           rec.record_id, detail=str(e), file=spec.path)
    return SourceRecord(rec.source_dataset, rec.source_split, rec.record_id, fields, rec.source_license,
                        rec.location, spec.task)
