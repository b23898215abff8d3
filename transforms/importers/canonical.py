"""The canonical template file: JSON Lines, one Template dict per line.

Keys: ``task``, ``fields``, and optionally ``answer``, ``options``, ``source_dataset``,
``source_split``, ``source_record_id``, ``source_license``, ``provenance``,
``ordinal``, ``metadata``, ``template_id``. A missing id is derived from the
content (``Template.create``); missing task/source/licence come from the
TemplateFileSpec; a missing ordinal is the line number. Every slot is parsed,
so a typo such as ``{person.subjj}`` fails here, naming the template and field.

>>> import json, os, tempfile
>>> from schemas.spec import TemplateFileSpec
>>> from transforms.importers import import_templates
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "templates.jsonl")
>>> with open(path, "w", encoding="utf-8") as f:
...     print(json.dumps({"task": "sentiment", "fields": {"sentence": "{person} loved it."},
...                       "answer": "positive"}), file=f)
>>> [t] = import_templates(TemplateFileSpec(path="templates.jsonl", source_dataset="mine"), path)
>>> t.task, dict(t.fields), t.answer, t.source_dataset, t.ordinal, t.template_id.startswith("t-")
('sentiment', {'sentence': '{person} loved it.'}, 'positive', 'mine', 1, True)
>>> tmp.cleanup()
"""

from __future__ import annotations

from dataclasses import fields as dc_fields
from typing import Iterator

from schemas.errors import InputError
from schemas.records import TASK_FIELDS, Template
from schemas.slots import SlotError, parse_slots
from transforms.importers.base import register_importer
from transforms.ingest.base import iter_json_objects

_KEYS = {f.name for f in dc_fields(Template)}


def template_from_dict(data: dict, spec, where: str) -> Template:
    """One line's dict as a Template; ``where`` ("file, line 3") prefixes every error."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(_KEYS))}")
    task = data.get("task") or spec.task
    if task not in TASK_FIELDS:
        raise InputError(f"{where}: task {task!r} is not one of {', '.join(TASK_FIELDS)}")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise InputError(f"{where}: 'fields' must be an object of text fields ({', '.join(TASK_FIELDS[task])})")
    options = data.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise InputError(f"{where}: 'options' must be a list of strings")
    rest = {
        "source_split": data.get("source_split", ""),
        "source_license": data.get("source_license") or spec.license,
        "provenance": tuple(data.get("provenance") or ("import:canonical",)),
        "ordinal": int(data.get("ordinal", 0)),
        "metadata": {str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    }
    common = dict(task=task, fields=fields, answer=str(data.get("answer", "")), options=tuple(options),
                  source_dataset=data.get("source_dataset") or spec.source_dataset,
                  source_record_id=str(data.get("source_record_id", "")))
    if data.get("template_id"):
        return Template(template_id=str(data["template_id"]), **common, **rest)
    return Template.create(**common, **rest)


@register_importer("canonical")
def import_canonical(spec, path: str) -> Iterator[Template]:
    """Templates of a canonical JSON Lines file; blank lines are skipped."""
    for n, data in iter_json_objects(path):
        where = f"{path}, line {n}"
        data.setdefault("ordinal", n)
        t = template_from_dict(data, spec, where)
        for name, text in t.slot_texts():
            try:
                parse_slots(text, template_id=t.template_id, field=name)
            except SlotError as e:
                raise SlotError(e.template_id, e.field, f"{str(e).split(': ', 1)[1]} ({where})") from None
        yield t
