"""Blocks: records separated by blank lines, each a few named head lines and then item lines.

QAMR's files are of this kind: a ``#id`` line, the sentence, then one line per
question, its first 50 characters the question (padded, or cut) and the answers
after it, tab-separated. Options:

- ``head``: names of the block's first lines (``[id, sentence]``), required;
- ``strip``: characters removed from the start of each head line (``"#"``);
- ``item_widths``: fixed widths cut from the start of an item line before it is split
  (``[50]``: the first 50 characters are one cell);
- ``item_delimiter``: what separates the remaining cells (default a tab);
- ``item_columns``: names of an item's cells, required; an item line with more or fewer
  cells is quarantined as malformed with its line, and the block keeps its other items;
- ``items``: the field holding the list of items (default ``items``): ``explode`` it for
  one record per item.

A block's position is the line it starts on (``line 1``).

>>> import os, tempfile
>>> from schemas.spec import SourceSpec
>>> from transforms.ingest import read_source
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "test.tsv")
>>> with open(path, "w", encoding="utf-8") as f:
...     _ = f.write("#w:1\\nMary met Sam.\\n" + "Who met Sam?".ljust(50) + "Mary\\tMary\\n\\n#w:2\\nIt rained.\\n")
>>> spec = SourceSpec("qamr", "blocks", "test.tsv", id_field="id", options={"head": ["id", "sentence"],
...     "strip": "#", "item_widths": [50], "item_columns": ["question", "answer", "answer2"], "explode": "items"})
>>> [(r.record_id, r.fields["sentence"], r.fields["items.question"]) for r in read_source(spec, path)]
[('w:1.0', 'Mary met Sam.', 'Who met Sam?')]
>>> tmp.cleanup()
"""

from __future__ import annotations

from typing import Iterator

from schemas.errors import SpecError
from schemas.quarantine import Quarantined
from schemas.records import SourceRecord
from transforms.ingest.base import (BadLine, OversizedLine, iter_lines, make_record, malformed, oversized,
                                    record_byte_limit, register_reader)

_OPTIONS = ("head", "strip", "item_widths", "item_delimiter", "item_columns", "items")


def split_item(line: str, widths: list[int], delimiter: str) -> list[str]:
    """An item line's cells: fixed-width cuts first, then the rest split by ``delimiter``; cells stripped.

    >>> split_item("Where is it?      " + "home\\tat home", [18], "\\t")
    ['Where is it?', 'home', 'at home']
    """
    cells, pos = [], 0
    for w in widths:
        cells.append(line[pos:pos + w])
        pos += w
    rest = line[pos:]
    cells.extend(rest.split(delimiter) if rest else [])
    return [c.strip() for c in cells]


@register_reader("blocks", options=_OPTIONS)
def read_blocks(spec, path: str) -> Iterator[SourceRecord | Quarantined]:
    """One record per block: its head lines by name, and its items as a list of dicts."""
    opts = spec.options
    head = list(opts.get("head") or [])
    columns = list(opts.get("item_columns") or [])
    if not head or not columns:
        raise SpecError(f"source {spec.name!r}: format blocks needs options head and item_columns")
    widths = [int(w) for w in opts.get("item_widths") or []]
    delimiter = opts.get("item_delimiter", "\t")
    strip = opts.get("strip", "")
    items_field = opts.get("items", "items")
    limit = record_byte_limit(spec)
    block: list[tuple[int, str]] = []

    def finish() -> Iterator[SourceRecord | Quarantined]:
        start = block[0][0]
        if len(block) < len(head):
            yield malformed(spec, "line", start, f"a block of {len(block)} line(s); the head alone has {len(head)}")
            return
        fields: dict = {name: text.lstrip(strip) if strip else text for name, (_, text) in zip(head, block)}
        items = []
        for n, text in block[len(head):]:
            cells = split_item(text, widths, delimiter)
            if len(cells) != len(columns):
                yield malformed(spec, "line", n, f"an item of {len(cells)} cells, expected {len(columns)} "
                                                 f"({', '.join(columns)})")
                continue
            items.append(dict(zip(columns, cells)))
        fields[items_field] = items
        yield make_record(spec, path, "line", start, fields)

    for n, line in iter_lines(path, opts.get("encoding", "utf-8-sig"), max_bytes=limit, tolerant=True):
        if isinstance(line, OversizedLine):
            yield oversized(spec, "line", n, line.size, limit)
            continue
        if isinstance(line, BadLine):
            yield malformed(spec, "line", n, line.detail)
            continue
        if line.strip():
            block.append((n, line))
        elif block:
            yield from finish()
            block = []
    if block:
        yield from finish()
