"""Lexicons as JSON Lines: one LexiconEntry dict per line.

Required keys: ``axis``, ``group``, ``value``; the rest default (``pronoun_set``
"they"). ``lexicon`` is set to the spec's name: the spec, not the file, names a
lexicon inside a benchmark. A known ``entry_id`` column is ignored (it is derived).

>>> import json, os, tempfile
>>> from schemas.spec import LexiconSpec
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "first_names.jsonl")
>>> with open(path, "w", encoding="utf-8") as f:
...     print(json.dumps({"axis": "gender", "group": "female", "value": "Olivia", "pronoun_set": "she"}), file=f)
>>> [olivia] = load_jsonl(LexiconSpec(name="first_names", path="first_names.jsonl"), path)
>>> olivia.lexicon, olivia.axis, olivia.group, olivia.value, olivia.pronoun_set
('first_names', 'gender', 'female', 'Olivia', 'she')
>>> tmp.cleanup()
"""

from __future__ import annotations

from dataclasses import fields as dc_fields

from schemas.errors import InputError
from schemas.pronouns import PRONOUN_SETS
from schemas.records import LexiconEntry
from transforms.ingest.base import iter_json_objects
from transforms.lexicons.base import register_lexicon_loader

_KEYS = {f.name for f in dc_fields(LexiconEntry)} | {"entry_id"}
_REQUIRED = ("axis", "group", "value")


def entry_from_dict(data: dict, lexicon: str, where: str) -> LexiconEntry:
    """One line's dict as an entry; ``where`` ("file, line 3") prefixes every error."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}")
    for key in _REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise InputError(f"{where}: {key!r} is missing or not a non-empty string")
    pset = data.get("pronoun_set", "they")
    if pset not in PRONOUN_SETS:
        raise InputError(f"{where}: unknown pronoun_set {pset!r}; known: {', '.join(sorted(PRONOUN_SETS))}")
    features = data.get("features") or {}
    if not isinstance(features, dict):
        raise InputError(f"{where}: 'features' must be an object")
    data = {**data, "lexicon": lexicon, "features": {str(k): str(v) for k, v in features.items()}}
    try:
        return LexiconEntry.from_dict(data)
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: {e}") from None


@register_lexicon_loader("jsonl")
def load_jsonl(spec, path: str) -> list[LexiconEntry]:
    """Entries in file order; the same (axis, group, value) twice is an error naming both lines."""
    entries: list[LexiconEntry] = []
    seen: dict[tuple[str, str, str], int] = {}
    for n, data in iter_json_objects(path):
        where = f"{path}, line {n}"
        entry = entry_from_dict(data, spec.name, where)
        key = (entry.axis, entry.group, entry.value)
        if key in seen:
            raise InputError(f"{where}: {entry.value!r} is already in {entry.axis}/{entry.group} (line {seen[key]})")
        seen[key] = n
        entries.append(entry)
    if not entries:
        raise InputError(f"{path}: the lexicon has no entries")
    return entries
