"""The canonical template importer and the importer registry."""

import json

import pytest

from schemas.spec import TemplateFileSpec
from schemas.errors import InputError, SpecError
from schemas.records import Template
from schemas.slots import SlotError
from transforms.importers import IMPORTERS, import_templates, register_importer


def write(tmp_path, rows):
    path = tmp_path / "templates.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def test_canonical_import_fills_ids_and_defaults(tmp_path):
    path = write(tmp_path, [
        {"task": "sentiment", "fields": {"sentence": "{person} loved it."}, "answer": "positive"},
        {"template_id": "t-fixed", "fields": {"sentence": "{person.subj} {person:was} sad."}, "answer": "negative",
         "source_dataset": "mine", "ordinal": 7},
    ])
    spec = TemplateFileSpec(path="templates.jsonl", task="sentiment", source_dataset="own", license="CC0")
    a, b = import_templates(spec, path)
    assert a == Template.create(task="sentiment", fields={"sentence": "{person} loved it."}, answer="positive",
                                source_dataset="own", source_license="CC0", provenance=("import:canonical",),
                                ordinal=1)
    assert (b.template_id, b.source_dataset, b.ordinal, b.task) == ("t-fixed", "mine", 7, "sentiment")


def test_bad_slot_names_template_and_field(tmp_path):
    path = write(tmp_path, [{"task": "sentiment", "template_id": "t-x", "fields": {"sentence": "{person.subjj} left."}}])
    with pytest.raises(SlotError, match=r"template t-x, field 'sentence': unknown slot \{person.subjj\}.*line 1"):
        list(import_templates(TemplateFileSpec(path="t"), path))


@pytest.mark.parametrize("row, message", [
    ('{"task": "qa", "fields": {"context": "x"},}', "line 2: not valid JSON"),
    ({"task": "poetry", "fields": {"text": "x"}}, "line 2: task 'poetry' is not one of"),
    ({"task": "qa", "fields": "x"}, "line 2: 'fields' must be an object"),
    ({"task": "qa", "fields": {"context": "x"}, "colour": 1}, r"line 2: unknown key\(s\) colour"),
    ({"task": "qa", "fields": {"context": "x"}, "options": "a|b"}, "line 2: 'options' must be a list"),
])
def test_errors_name_file_and_line(tmp_path, row, message):
    path = write(tmp_path, [{"task": "statement", "fields": {"text": "{person} is here."}}, row])
    with pytest.raises(InputError, match=r"templates\.jsonl, " + message):
        list(import_templates(TemplateFileSpec(path="t"), path))


def test_registry():
    assert "canonical" in IMPORTERS
    with pytest.raises(SpecError, match="unknown template format 'nope'"):
        import_templates(TemplateFileSpec(path="t", format="nope"), "t")
    with pytest.raises(ValueError, match="already registered"):
        register_importer("canonical")(lambda spec, path: iter(()))
