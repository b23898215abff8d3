"""One JSON document holding the records: a list, or a dict of records keyed by id.

``SourceSpec.records`` is a dotted path to the records inside the document
(``"data"``, ``"data.items"``, ``"0.rows"``); empty means the whole document.
In a dict of records the key is the record id (bAbI's ``{"0": {...}, "1": {...}}``)
unless ``id_field`` is set. A record that is not an object becomes ``{"text": value}``.

>>> import json, os, tempfile
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "task1.json")
>>> with open(path, "w", encoding="utf-8") as f:
...     json.dump({"0": {"question": "Where is Daniel?"}, "1": {"question": "Where is Mary?"}}, f)
>>> [(r.record_id, r.fields["question"]) for r in read_source(SourceSpec("babi", "json", "task1.json"), path)]
[('0', 'Where is Daniel?'), ('1', 'Where is Mary?')]
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
from typing import Iterator

from schemas.errors import InputError
from schemas.records import SourceRecord
from transforms.ingest.base import get_path, make_record, open_text, register_reader


@register_reader("json")
def read_json(spec, path: str) -> Iterator[SourceRecord]:
    """Records of a JSON document; positions are 0-based list indices (``record 0``)."""
    with open_text(path, spec.options.get("encoding", "utf-8-sig")) as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}, line {e.lineno}: not valid JSON: {e.msg} (column {e.colno})") from None
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not valid text: {e.reason}") from None
    records = get_path(doc, spec.records) if spec.records else doc
    if records is None:
        raise InputError(f"{path}: no records at {spec.records!r}")
    if isinstance(records, dict):
        items = [(str(k), v) for k, v in records.items()]
    elif isinstance(records, list):
        items = [(None, v) for v in records]
    else:
        where = f" at {spec.records!r}" if spec.records else ""
        raise InputError(f"{path}: records{where} are a {type(records).__name__}, not a list or an object")
    for i, (key, value) in enumerate(items):
        fields = value if isinstance(value, dict) else {"text": value}
        yield make_record(spec, path, "record", i, fields, record_id=key)
