"""One JSON document holding the records: a list, or a dict of records keyed by id.

``SourceSpec.records`` is a dotted path to the records inside the document
(``"data"``, ``"data.items"``, ``"0.rows"``); empty means the whole document.
In a dict of records the key is the record id (bAbI's ``{"0": {...}, "1": {...}}``)
unless ``id_field`` is set. A record that is not an object becomes ``{"text": value}``.

A document that is not valid JSON is read record by record when its records are
the document itself (``records`` empty): each broken record is quarantined with the
line where it starts, and reading goes on after it (found by bracket depth, outside
strings). With a nested ``records`` path the broken document is quarantined whole.

>>> import json, os, tempfile
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "task1.json")
>>> with open(path, "w", encoding="utf-8") as f:
...     json.dump({"0": {"question": "Where is Daniel?"}, "1": {"question": "Where is Mary?"}}, f)
>>> [(r.record_id, r.fields["question"]) for r in read_source(SourceSpec("babi", "json", "task1.json"), path)]
[('0', 'Where is Daniel?'), ('1', 'Where is Mary?')]
>>> with open(path, "w", encoding="utf-8") as f:
...     _ = f.write('{"0": {"q": "Where?"},\\n "1": {"q": "Who?" "x"},\\n "2": {"q": "When?"}}')
>>> [getattr(r, "record_id", None) or (r.where(), r.detail) for r in read_source(SourceSpec("b", "json", "t.json"), path)]
['0', ('line 2', "not valid JSON: Expecting ',' delimiter (line 2, column 20)"), '2']
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import get_path, make_record, malformed, open_binary, register_reader

_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _element_end(text: str, pos: int) -> int:
    """Where the element starting at ``pos`` ends: the index of the ``,`` or closing bracket after it at
    depth 0, outside strings (the text's end when it never closes)."""
    depth, in_str, esc = 0, False, False
    for i in range(pos, len(text)):
        c = text[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            if depth == 0:
                return i
            depth -= 1
        elif c == "," and depth == 0:
            return i
    return len(text)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _tolerant_items(spec, text: str) -> Iterator[tuple[str | None, Any] | Quarantined]:
    """``(key, value)`` per element of the document's top-level list or object; a broken element is
    quarantined at its line and skipped."""
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] not in "[{":
        yield malformed(spec, "line", _line(text, pos), "not valid JSON: the document is not a list or an object")
        return
    is_dict, closer = text[pos] == "{", "}" if text[pos] == "{" else "]"
    pos += 1
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            yield malformed(spec, "line", _line(text, pos), "not valid JSON: the document ends unclosed")
            return
        if text[pos] == closer:
            return
        start = pos
        try:
            key = None
            if is_dict:
                key, pos = _DECODER.raw_decode(text, pos)
                if not isinstance(key, str):
                    raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, start)
                pos = _skip_ws(text, pos)
                if text[pos:pos + 1] != ":":
                    raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
                pos = _skip_ws(text, pos + 1)
            value, pos = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if text[pos:pos + 1] not in (",", closer):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
            yield key, value
        except json.JSONDecodeError as e:
            yield malformed(spec, "line", _line(text, start),
                            f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})")
            pos = _element_end(text, start)
            if pos >= len(text):
                return
        if text[pos:pos + 1] == ",":
            pos += 1


@register_reader("json")
def read_json(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """Records of a JSON document; positions are 0-based list indices (``record 0``)."""
    with open_binary(path) as raw:
        data = raw.read()
    encoding = spec.options.get("encoding", "utf-8-sig")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        yield malformed(spec, "line", data.count(b"\n", 0, e.start) + 1,
                        f"not valid {encoding} text: {e.reason}; the document is unread")
        return
    try:
        items = _items(spec, json.loads(text))
    except json.JSONDecodeError as e:
        if spec.records:
            yield malformed(spec, "line", e.lineno, f"not valid JSON: {e.msg} (column {e.colno}); the records "
                                                    f"at {spec.records!r} cannot be reached, the document is unread")
            return
        items = _tolerant_items(spec, text)
    for i, item in enumerate(items):
        if isinstance(item, Quarantined):
            yield item
            continue
        key, value = item
        fields = value if isinstance(value, dict) else {"text": value}
        yield make_record(spec, path, "record", i, fields, record_id=key)


def _items(spec, doc) -> Iterator[tuple[str | None, Any] | Quarantined]:
    records = get_path(doc, spec.records) if spec.records else doc
    if isinstance(records, dict):
        yield from ((str(k), v) for k, v in records.items())
    elif isinstance(records, list):
        yield from ((None, v) for v in records)
    else:
        where = f" at {spec.records!r}" if spec.records else ""
        what = "nothing" if records is None else f"a {type(records).__name__}"
        yield malformed(spec, "record", 0, f"no records{where}: found {what}, not a list or an object")
