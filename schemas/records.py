"""The typed records that flow between stages, and their Arrow schemas.

Records are frozen dataclasses; in a Beam PCollection they travel as plain
dicts (``to_dict``/``from_dict``) so that any runner can pickle them cheaply.

>>> t = Template.create(task="qa", source_dataset="demo", source_record_id="1",
...                     fields={"context": "{person} left.", "question": "Who left?"},
...                     answer="{person}")
>>> t.referents
('person',)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import cached_property
from typing import Any, Mapping, Sequence

import pyarrow as pa

from schemas.ids import stable_id
from schemas.slots import parse_slots

# Enumerations are lower-case and identical everywhere (DESIGN.md, Records).
FILL_TYPES = ("explicit", "implicit")

#: The rendered text fields of each task, in column order.
TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "qa": ("context", "question"),
    "nli": ("premise", "hypothesis"),
    "sentiment": ("sentence",),
    "decision": ("question",),
    "statement": ("text",),
}


#: The text fields of a source record mapped to the task its corpus serves (``SourceSpec.task``).
#: Coreference corpora (GAP, WSC) are a source task only: extraction turns them into qa or nli templates.
SOURCE_TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "qa": ("context", "question"),
    "nli": ("premise", "hypothesis"),
    "coreference": ("text", "pronoun"),
    "sentiment": ("sentence",),
}


def required_columns(task: str) -> list[str]:
    """Columns every row of the task must have, never null (fill_type is checked by set)."""
    return ["example_id", "template_id", "group", "filler", *TASK_FIELDS[task]]


def _shallow(record) -> dict[str, Any]:
    """The record's fields as a dict, one level deep (``asdict`` deep-copies: ~30x slower)."""
    return {name: getattr(record, name) for name in _FIELD_NAMES[type(record)]}


class _FieldNames(dict):
    def __missing__(self, cls):
        self[cls] = tuple(f.name for f in fields(cls))
        return self[cls]


_FIELD_NAMES = _FieldNames()


class _FieldSets(dict):
    def __missing__(self, cls):
        self[cls] = frozenset(_FIELD_NAMES[cls])
        return self[cls]


_FIELD_SETS = _FieldSets()


def _from_dict(cls, data: Mapping[str, Any]):
    unknown = data.keys() - _FIELD_SETS[cls]
    if unknown:
        raise KeyError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
    return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()})


@dataclass(frozen=True)
class SourceRecord:
    """One record read from a source corpus, before any extraction."""

    source_dataset: str
    source_split: str
    record_id: str
    fields: Mapping[str, Any]
    source_license: str = ""
    location: str = ""  # file and line/member, for error messages and provenance
    # the task the source serves ("qa", "nli", "coreference", see SOURCE_TASK_FIELDS) when its spec maps
    # it; then ``fields`` holds the task's text fields plus "answer", "options" and kept extras
    task: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**_shallow(self), "fields": dict(self.fields)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SourceRecord":
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Template:
    """A task instance whose text fields carry slots (see ``schemas.slots``)."""

    template_id: str
    task: str
    fields: Mapping[str, str]
    answer: str = ""
    options: tuple[str, ...] = ()
    source_dataset: str = ""
    source_split: str = ""
    source_record_id: str = ""
    source_license: str = ""
    provenance: tuple[str, ...] = ()  # which extraction/filter rules kept it
    ordinal: int = 0  # position in its source, for a stable, readable release order
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, *, task: str, fields: Mapping[str, str], source_dataset: str = "",
               source_record_id: str = "", answer: str = "", options=(), **rest) -> "Template":
        """Build a template whose id is derived from its content and origin."""
        tid = stable_id("t", task, source_dataset, source_record_id, dict(fields), answer, list(options))
        return cls(template_id=tid, task=task, fields=dict(fields), answer=answer, options=tuple(options),
                   source_dataset=source_dataset, source_record_id=source_record_id, **rest)

    @cached_property
    def referents(self) -> tuple[str, ...]:
        """Referents in order of first appearance across fields, then answer and options (kept once read: every
        block of a template asks again, in the expansion, the lint and the grammar check)."""
        seen: dict[str, None] = {}
        for name, text in self.slot_texts():
            for slot in parse_slots(text, template_id=self.template_id, field=name).slots:
                seen.setdefault(slot.referent, None)
        return tuple(seen)

    def slot_texts(self) -> list[tuple[str, str]]:
        texts = list(self.fields.items())
        texts.append(("answer", self.answer))
        texts.extend((f"options[{i}]", o) for i, o in enumerate(self.options))
        return texts

    def to_dict(self) -> dict[str, Any]:
        d = _shallow(self)
        d["fields"] = dict(self.fields)
        d["metadata"] = dict(self.metadata)
        d["options"] = list(self.options)
        d["provenance"] = list(self.provenance)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Template":
        return _from_dict(cls, data)


@dataclass(frozen=True)
class LexiconEntry:
    """One filler for a referent: a name, a descriptor phrase, an age …"""

    lexicon: str
    axis: str
    group: str
    value: str
    pronoun_set: str = "they"
    plural: str = ""  # plural form of the value, for {person.plural}
    article: str = ""  # "a"/"an" override for {a:person}; "" = decide by pronunciation
    frequency: float | None = None
    association: float | None = None
    country: str = ""
    preference: str = ""  # e.g. HolisticBias's "reviewed" / "dispreferred" / "polarizing"
    features: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    license: str = ""

    @cached_property  # computed once per entry object (a blake2b of its content)
    def entry_id(self) -> str:
        return stable_id("e", self.lexicon, self.axis, self.group, self.value, dict(self.features))

    def to_dict(self) -> dict[str, Any]:
        return {**_shallow(self), "features": dict(self.features)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LexiconEntry":
        """The entry of ``to_dict``'s dict (an ``entry_id`` in it is ignored: the id is always recomputed).

        Filled in directly rather than through the frozen dataclass's ``__init__`` (a JSON Lines lexicon may
        hold tens of thousands of entries, and ``__init__`` sets each field through ``object.__setattr__``):
        the same object, field for field; a dict the constructor would refuse still goes through it, for its
        error."""
        if not (data.keys() - {"entry_id"} <= _FIELD_SETS[cls] and _REQUIRED_ENTRY_FIELDS <= data.keys()):
            data = dict(data)
            data.pop("entry_id", None)
            return _from_dict(cls, data)
        entry = object.__new__(cls)
        state = entry.__dict__
        state.update(_ENTRY_DEFAULTS)
        state["features"] = {}
        state.update(data)
        state.pop("entry_id", None)
        return entry


#: LexiconEntry's fields without a default, and the defaults of the others (``features``: a new dict each)
_REQUIRED_ENTRY_FIELDS = frozenset(f.name for f in fields(LexiconEntry) if f.default is MISSING
                                   and f.default_factory is MISSING)
_ENTRY_DEFAULTS = {f.name: f.default for f in fields(LexiconEntry) if f.default is not MISSING}

_encode_str = json.encoder.encode_basestring  # a JSON string literal, as json.dumps(ensure_ascii=False) writes it


def _entry_id_of_strings(e: LexiconEntry) -> str:
    """``LexiconEntry.entry_id`` assembled from encoded pieces, for entries whose fields and features are all
    strings (TypeError otherwise): the compact, key-sorted JSON ``stable_id`` hashes, without ``json.dumps``."""
    f = e.features
    keys = sorted(f)
    if not all(isinstance(k, str) for k in keys):
        raise TypeError("feature keys that are not strings")
    enc = _encode_str
    payload = (f"[{enc(e.lexicon)},{enc(e.axis)},{enc(e.group)},{enc(e.value)},{{"
               + ",".join([enc(k) + ":" + enc(f[k]) for k in keys]) + "}]")
    return "e-" + hashlib.blake2b(payload.encode("utf-8"), digest_size=6).hexdigest()


def fill_entry_ids(entries: Sequence[LexiconEntry]) -> None:
    """Compute each entry's ``entry_id`` at once (~10x faster than the property's ``json.dumps`` per entry).

    The first id is checked against the property itself: should the id recipe ever change, every id
    is left to the property; so is any entry with a field or feature that is not a string.
    """
    checked = False
    for e in entries:
        if "entry_id" in e.__dict__:
            continue
        try:
            eid = _entry_id_of_strings(e)
        except TypeError:
            continue
        if not checked:
            if eid != LexiconEntry(**e.to_dict()).entry_id:  # a fresh object: its id comes from the property
                return
            checked = True
        e.__dict__["entry_id"] = eid  # where ``functools.cached_property`` keeps it


_STR_MAP = pa.map_(pa.string(), pa.string())

TEMPLATE_SCHEMA = pa.schema([
    ("template_id", pa.string()), ("task", pa.string()), ("fields", _STR_MAP), ("answer", pa.string()),
    ("options", pa.list_(pa.string())), ("source_dataset", pa.string()), ("source_split", pa.string()),
    ("source_record_id", pa.string()), ("source_license", pa.string()),
    ("provenance", pa.list_(pa.string())), ("ordinal", pa.int64()), ("metadata", _STR_MAP),
])

LEXICON_SCHEMA = pa.schema([
    ("entry_id", pa.string()), ("lexicon", pa.string()), ("axis", pa.string()), ("group", pa.string()),
    ("value", pa.string()), ("pronoun_set", pa.string()), ("plural", pa.string()), ("article", pa.string()),
    ("frequency", pa.float64()), ("association", pa.float64()), ("country", pa.string()),
    ("preference", pa.string()), ("features", _STR_MAP), ("source", pa.string()), ("license", pa.string()),
])

#: Columns every BenchmarkRow has, before the task's text fields.
ROW_HEAD = (
    ("example_id", pa.string()), ("template_id", pa.string()), ("counterfactual_set_id", pa.string()),
    ("task", pa.string()), ("source_dataset", pa.string()), ("axis", pa.string()), ("group", pa.string()),
    ("filler", pa.string()), ("fill_type", pa.string()),
)


#: Columns of the two-person QA design (``transforms.four_way``; BBQ's row fields), after the options.
FOUR_WAY_QA_COLUMNS = (
    ("question_index", pa.string()), ("question_polarity", pa.string()), ("context_condition", pa.string()),
    ("category", pa.string()), ("subcategory", pa.string()), ("version", pa.string()),
    ("answer_info", pa.list_(pa.struct([("text", pa.string()), ("info", pa.string())]))),
    ("stereotyped_groups", pa.list_(pa.string())), ("target_loc", pa.int64()), ("label", pa.int64()),
    ("name1", pa.string()), ("name1_info", pa.string()), ("name2", pa.string()), ("name2_info", pa.string()),
    ("fixes", pa.string()),
)
#: design name -> the typed columns it adds to every row
DESIGN_COLUMNS = {"four_way": FOUR_WAY_QA_COLUMNS}


def row_schema(task: str, metadata_columns: tuple[str, ...] = (), design: str = "") -> pa.Schema:
    """The BenchmarkRow schema of one task: head, text fields, gold, options, the design's columns, metadata."""
    if task not in TASK_FIELDS:
        raise KeyError(f"unknown task {task!r}; known: {sorted(TASK_FIELDS)}")
    cols = list(ROW_HEAD)
    cols += [(name, pa.string()) for name in TASK_FIELDS[task]]
    cols += [("answer", pa.string()), ("options", pa.list_(pa.string()))]
    cols += list(DESIGN_COLUMNS.get(design, ()))
    cols += [(name, pa.string()) for name in metadata_columns]
    return pa.schema(cols)


def templates_table(templates: list[Template]) -> pa.Table:
    rows = [t.to_dict() for t in templates]
    for r in rows:
        r["fields"] = list(r["fields"].items())
        r["metadata"] = list(r["metadata"].items())
    return pa.Table.from_pylist(rows, schema=TEMPLATE_SCHEMA)


def lexicons_table(entries: list[LexiconEntry]) -> pa.Table:
    """Built column by column (the same table as from a list of row dicts, in a fraction of the time)."""
    columns = []
    for f in LEXICON_SCHEMA:
        if f.name == "features":
            columns.append(_map_array([e.features for e in entries], f.type))
        else:
            columns.append(pa.array([getattr(e, f.name) for e in entries], type=f.type))
    return pa.Table.from_arrays(columns, schema=LEXICON_SCHEMA)


def _map_array(mappings: Sequence[Mapping[str, str]], typ: pa.MapType) -> pa.MapArray:
    """A map column from its offsets, keys and items: ``pa.array`` of (key, item) lists takes 15x as long."""
    offsets, keys, items = [0], [], []
    for m in mappings:
        keys.extend(m.keys())
        items.extend(m.values())
        offsets.append(len(keys))
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(keys, typ.key_type),
                                   pa.array(items, typ.item_type), type=typ)


@dataclass(frozen=True)
class FileEntry:
    path: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a release is: its version, what it was built from, and every file in it."""

    benchmark: str
    version: str
    spec_hash: str
    input_hashes: Mapping[str, str]
    code_version: str
    configs: Mapping[str, Mapping[str, Any]]  # config -> {task, axis, rows, files, schema}
    files: tuple[FileEntry, ...]
    rows_sha256: Mapping[str, str]  # canonical hash of each config's rows, pyarrow-version-proof
    # the version of the rendering rules (transforms.rules.RULES_VERSION) the rows were made with;
    # "" in releases made before it was recorded
    rules_version: str = ""
    changelog: tuple[str, ...] = ()  # entries `rebuild` wrote, one per version it cut (absent when none)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = [asdict(f) for f in self.files]
        d["changelog"] = list(self.changelog)
        if not d["changelog"]:
            del d["changelog"]  # manifests without a rebuild's changelog stay as they were
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Manifest":
        """From manifest.json's content; its seal (``manifest_sha256``, see schemas.release) is not a field."""
        data = {k: v for k, v in data.items() if k != "manifest_sha256"}
        data["files"] = tuple(FileEntry(**f) for f in data["files"])
        return _from_dict(cls, data)
