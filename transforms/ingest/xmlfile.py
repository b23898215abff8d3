"""XML: one record per element named by ``SourceSpec.records`` (a tag, or an ElementTree path).

An element becomes a dict: its attributes, then its child elements (a leaf
child without attributes is its text; a tag that repeats becomes a list), and
its own text under ``text`` when it has any (``_text`` if an attribute is
already called ``text``). Nested questions are flattened with option
``explode`` (see ``read_source``).

An MCScript-like file, one record per question:

>>> import os, tempfile
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "mcscript.xml")
>>> with open(path, "w", encoding="utf-8") as f:
...     _ = f.write('<data><instance id="0" scenario="baking"><text>Mary baked bread.</text><questions>'
...                 '<question id="0" text="Who baked?"/><question id="1" text="What was baked?"/>'
...                 '</questions></instance></data>')
>>> spec = SourceSpec("mcscript", "xml", "mcscript.xml", records="instance", id_field="id",
...                   options={"explode": "questions.question"})
>>> [(r.record_id, r.fields["text"], r.fields["question.text"]) for r in read_source(spec, path)]
[('0.0', 'Mary baked bread.', 'Who baked?'), ('0.1', 'Mary baked bread.', 'What was baked?')]
>>> tmp.cleanup()
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Iterator

from schemas.errors import InputError, SpecError
from schemas.records import SourceRecord
from transforms.ingest.base import make_record, open_binary, register_reader


def element_to_value(el: ET.Element) -> Any:
    """An element as plain data: text for a bare leaf, else a dict.

    >>> element_to_value(ET.fromstring('<q id="1"><t>Hi</t><a n="1"/><a n="2"/></q>'))
    {'id': '1', 't': 'Hi', 'a': [{'n': '1'}, {'n': '2'}]}
    """
    text = (el.text or "").strip()
    if not el.attrib and len(el) == 0:
        return text
    out: dict[str, Any] = dict(el.attrib)
    for child in el:
        value = element_to_value(child)
        if child.tag in out and child.tag not in el.attrib:
            prev = out[child.tag]
            out[child.tag] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            out[child.tag if child.tag not in el.attrib else f"_{child.tag}"] = value
    if text:
        out["text" if "text" not in out else "_text"] = text
    return out


@register_reader("xml")
def read_xml(spec, path: str) -> Iterator[SourceRecord]:
    """Elements as records; positions are their 0-based order (``record 0``)."""
    if not spec.records:
        raise SpecError(f"source {spec.name!r}: format xml needs 'records', the record element's tag or path")
    with open_binary(path) as raw:
        try:
            # the stdlib parser never fetches external DTDs or entities (MCScript names a DTD)
            root = ET.parse(raw).getroot()
        except ET.ParseError as e:
            line, col = e.position
            msg = str(e).split(":")[0]
            raise InputError(f"{path}, line {line}: not valid XML: {msg} (column {col + 1})") from None
    if "/" in spec.records or spec.records.startswith("."):
        elements = root.iterfind(spec.records)
    else:
        elements = root.iter(spec.records)
    for i, el in enumerate(elements):
        value = element_to_value(el)
        yield make_record(spec, path, "record", i, value if isinstance(value, dict) else {"text": value})
