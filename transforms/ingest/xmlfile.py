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

import re
import xml.etree.ElementTree as ET
from typing import Any, Iterator

from schemas.errors import SpecError
from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import make_record, malformed, open_binary, register_reader


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


def _chunks(text: str, tag: str) -> Iterator[tuple[int, str | None]]:
    """``(line, element text)`` per ``<tag …>…</tag>`` in ``text``, found textually; ``None`` for one that
    never closes. Records of one tag are not nested in one another (MCScript's instances are not)."""
    opening = re.compile(rf"<{re.escape(tag)}(?=[\s/>])")
    closing = f"</{tag}>"
    pos = 0
    while (m := opening.search(text, pos)) is not None:
        line = text.count("\n", 0, m.start()) + 1
        self_closed = text.find(">", m.end())
        if self_closed != -1 and text[self_closed - 1] == "/":
            yield line, text[m.start():self_closed + 1]
            pos = self_closed + 1
            continue
        end = text.find(closing, m.end())
        nxt = opening.search(text, m.end())
        if end == -1 or (nxt is not None and nxt.start() < end):
            yield line, None
            pos = m.end() if nxt is None else nxt.start()
            continue
        yield line, text[m.start():end + len(closing)]
        pos = end + len(closing)


def _read_chunked(spec, path: str, data: bytes, error: str) -> Iterator[SourceRecord | Quarantined]:
    """A document that does not parse, read record element by record element: each one that does not
    parse on its own is quarantined with its line."""
    text = data.decode(spec.options.get("encoding", "utf-8"), errors="surrogateescape")
    tag = spec.records.rsplit("/", 1)[-1]
    found = False
    for i, (line, chunk) in enumerate(_chunks(text, tag)):
        found = True
        if chunk is None:
            yield malformed(spec, "line", line, f"not valid XML: <{tag}> is not closed")
            continue
        try:
            el = ET.fromstring(chunk)
        except ET.ParseError as e:
            yield malformed(spec, "line", line + e.position[0] - 1, f"not valid XML: {str(e).split(':')[0]}")
            continue
        value = element_to_value(el)
        yield make_record(spec, path, "record", i, value if isinstance(value, dict) else {"text": value})
    if not found:
        yield malformed(spec, "line", 1, f"{error}; no <{tag}> element found, the document is unread")


@register_reader("xml")
def read_xml(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """Elements as records; positions are their 0-based order (``record 0``).

    A document that does not parse is read again element by element (``records`` a tag,
    or a path ending in one): the elements that parse on their own are records, the
    others are quarantined with their line.
    """
    if not spec.records:
        raise SpecError(f"source {spec.name!r}: format xml needs 'records', the record element's tag or path")
    with open_binary(path) as raw:
        data = raw.read()
    try:
        # the stdlib parser never fetches external DTDs or entities (MCScript names a DTD)
        root = ET.fromstring(data)
    except ET.ParseError as e:
        line, col = e.position
        yield from _read_chunked(spec, path, data, f"not valid XML at line {line}, column {col + 1}")
        return
    if "/" in spec.records or spec.records.startswith("."):
        elements = root.iterfind(spec.records)
    else:
        elements = root.iter(spec.records)
    for i, el in enumerate(elements):
        value = element_to_value(el)
        yield make_record(spec, path, "record", i, value if isinstance(value, dict) else {"text": value})
