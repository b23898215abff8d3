"""Extract: turn SourceRecords into Template candidates, with real spaCy NER.

An extraction rule reads one record (plus the spaCy docs of its texts) and
returns a :class:`~schemas.records.Template` or a :class:`Rejection` saying why
not. The main rule, ``person_mentions``, keeps records that mention exactly one
named person (or up to ``max_persons``) and writes slots in place of them:

    "Mary was late. She says she has to go."  (answer "Mary")
 -> "{person} was late. {person.subj} {person:says} {person.subj} {person:has} to go."  (answer "{person}")

so that a "they" filler renders "They say they have to go". Slots are written
lower-case: the renderer capitalises a slot that opens a sentence.

>>> from schemas.spec import ExtractSpec
>>> spec = ExtractSpec(source="demo", task="sentiment", fields={"sentence": "text"}, answer="label")
>>> rec = {"source_dataset": "demo", "source_split": "test", "record_id": "1", "location": "s.jsonl, line 1",
...        "source_license": "", "fields": {"text": "Mary was glad she came.", "label": "positive"}}
>>> [out.fields["sentence"] for out in extract_batch([rec], spec, load_nlp())]
['{person} was glad {person.subj} came.']

spaCy is imported only here, lazily, so other stages never pay for it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.errors import SpecError
from schemas.quarantine import MAX_CHARS, Quarantined
from schemas.records import SourceRecord, Template
from schemas.slots import SlotError, parse_slots
from transforms.agreement import subject_verbs, verb_slot_text
from transforms.ingest.base import get_path, record_position, record_unit
from transforms.nlp import _NLP_CACHE, default_model, load_nlp  # noqa: F401 - re-exported
from transforms.parse_cache import DEFAULT_MAX_BYTES, ParseCache, worker_cache
from transforms.people.cues import GAZETTEER_PATH, GENDERED_NOUN_SLOTS, has_person_cue, load_gazetteer
from transforms.people.mentions import Refused, find_people
from transforms.prefilter import PERSON_REASON, Prefilter, Raw

NAMESPACE = "biasbench.extract"
# the output tags of ExtractTemplates
TEMPLATES, REJECTED, QUARANTINED = "templates", "rejected", "quarantined"


# what a record without a first name, title or person noun is rejected with (spaCy never reads it); every
# prefilter reason ends in "(prefilter)" (transforms.prefilter.is_prefiltered)
PREFILTERED = PERSON_REASON

# --------------------------------------------------------------------------- records in, results out

@dataclass(frozen=True)
class Rejection:
    """A record a rule did not turn into a template, and why (one line)."""

    source_dataset: str
    source_record_id: str
    task: str
    rule: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class RecordTexts:
    """The texts of one record an extraction works on: task fields, gold answer, options."""

    fields: dict[str, str]  # task field -> text
    answer: str
    options: tuple[str, ...]

    def items(self) -> list[tuple[str, str]]:
        """``(key, text)`` in a fixed order: fields, then ``answer``, then ``options[i]``."""
        out = list(self.fields.items())
        if self.answer:
            out.append(("answer", self.answer))
        out.extend((f"options[{i}]", o) for i, o in enumerate(self.options))
        return out


Rule = Callable[[SourceRecord, Any, RecordTexts, Mapping[str, Any] | None], "Template | Rejection"]


@dataclass(frozen=True)
class Extractor:
    name: str
    fn: Rule
    uses_spacy: bool
    settings: frozenset[str]  # the ExtractSpec.settings keys it understands


#: rule name -> extractor. Add rules with ``@register_extractor``.
EXTRACTORS: dict[str, Extractor] = {}

# settings every rule understands (they shape how texts are read, see record_texts)
COMMON_SETTINGS = frozenset({"answer_map", "answer_from_options", "option_fields", "metadata_fields", "fill_in",
                             "max_chars", "capitalize"})


def register_extractor(name: str, *, uses_spacy: bool = False, settings: Iterable[str] = ()):
    """Register ``fn(record, spec, texts, docs) -> Template | Rejection`` as rule ``name``.

    With ``uses_spacy``, ``docs`` maps each key of ``texts.items()`` to its spaCy Doc;
    otherwise it is None and no model is loaded.
    """
    def deco(fn: Rule) -> Rule:
        if name in EXTRACTORS and EXTRACTORS[name].fn is not fn:
            raise ValueError(f"an extraction rule named {name!r} is already registered")
        EXTRACTORS[name] = Extractor(name, fn, uses_spacy, frozenset(settings) | COMMON_SETTINGS)
        return fn
    return deco


def extractor_for(spec) -> Extractor:
    """The spec's rule, after checking its settings; a SpecError names the source and the key."""
    ex = EXTRACTORS.get(spec.rule)
    if ex is None:
        raise SpecError(f"extract ({spec.source}): unknown rule {spec.rule!r}; known: {', '.join(sorted(EXTRACTORS))}")
    unknown = sorted(set(spec.settings) - ex.settings)
    if unknown:
        raise SpecError(f"extract ({spec.source}): setting(s) {', '.join(unknown)} not understood by rule "
                        f"{spec.rule!r}; it takes {', '.join(sorted(ex.settings))}")
    return ex


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # TweetQA-style answer lists: the first is the reference
        return _text(value[0]) if value else None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def record_texts(record: SourceRecord, spec) -> RecordTexts | str:
    """Read the spec's fields, answer and options from a record, or say what is missing.

    Source fields may be dotted paths (``qa_pairs.answer.spans.0``). Settings:
    ``answer_map`` maps raw labels (``"0"``) to task labels (``"entailment"``);
    ``answer_from_options``: ``"letter"`` or ``"index"`` when the answer points into the options;
    ``option_fields``: several source fields that are the options, in order;
    ``fill_in``: ``{task field: [placeholder, source field]}`` writes a source field into a
    placeholder first (the relation-extraction questions say "XXX" for their subject);
    (``capitalize`` is applied to the template, after slotting: see ``make_template``.)
    """
    fields: dict[str, str] = {}
    for task_field, src in spec.fields.items():
        value = get_path(record.fields, src)
        if isinstance(value, (list, dict)):
            return f"field {src!r} is a {type(value).__name__}, not text"
        text = _text(value)
        if text is None or not text.strip():
            return f"field {src!r} is missing or empty"
        fields[task_field] = text.strip()
    settings = spec.settings
    for task_field, (placeholder, src) in (settings.get("fill_in") or {}).items():
        if task_field in fields:
            fields[task_field] = fields[task_field].replace(placeholder, _text(get_path(record.fields, src)) or "")
    options: list[str] = []
    if settings.get("option_fields"):
        options = [_text(get_path(record.fields, f)) or "" for f in settings["option_fields"]]
    elif spec.options:
        raw = get_path(record.fields, spec.options)
        if isinstance(raw, (list, tuple)):
            options = [_text(o) or "" for o in raw]
        elif raw:
            options = [o.strip() for o in str(raw).split("|")]
    answer = ""
    if spec.answer:
        value = get_path(record.fields, spec.answer)
        answer = (_text(value) or "").strip()
        how = settings.get("answer_from_options", "")
        if how and answer:
            i = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".find(answer.upper()) if how == "letter" else \
                (int(answer) if answer.lstrip("-").isdigit() else -1)
            if not 0 <= i < len(options):
                return f"answer {answer!r} does not point into the {len(options)} options"
            answer = options[i]
        answer_map = settings.get("answer_map") or {}
        if answer_map:
            if answer not in answer_map:
                return f"answer {answer!r} is not in answer_map ({', '.join(map(str, answer_map))})"
            answer = str(answer_map[answer])
        if not answer:
            return f"answer field {spec.answer!r} is missing or empty"
    return RecordTexts(fields, answer, tuple(options))


def _as_record(record: SourceRecord | Mapping[str, Any]) -> SourceRecord:
    return record if isinstance(record, SourceRecord) else SourceRecord.from_dict(record)


def make_template(record: SourceRecord, spec, fields: Mapping[str, str], answer: str,
                  options: Sequence[str], provenance: Sequence[str]) -> Template:
    """A Template with its content-derived id, origin fields and source-order ordinal.

    The entry's ``capitalize`` setting names task fields whose first letter the template writes in upper
    case (TweetQA's questions are all lower case, which the grammar check refuses as a sentence start).
    It applies to the slotted text, not the record: the parse of the source's own text decides the people.
    """
    caps = spec.settings.get("capitalize") or ()
    fields = {k: v[:1].upper() + v[1:] if k in caps else v for k, v in fields.items()}
    return Template.create(
        task=spec.task, fields=fields, answer=answer, options=tuple(options),
        source_dataset=record.source_dataset, source_record_id=record.record_id,
        source_split=record.source_split, source_license=record.source_license,
        provenance=tuple(provenance), ordinal=record_position(record), metadata=record_metadata(record, spec))


def record_metadata(record: SourceRecord, spec) -> dict[str, str]:
    """The ``metadata_fields`` values a template of this record carries."""
    return {f: _text(get_path(record.fields, f)) or "" for f in spec.settings.get("metadata_fields", ())}


def too_long(record: SourceRecord, texts: RecordTexts, max_chars: int | None) -> Quarantined | None:
    """The quarantine entry of a record whose task fields together exceed ``max_chars``, else None.

    Checked before any parsing: a 900,000-character passage never reaches spaCy
    (``filters.max_chars`` drops its template later anyway).
    """
    if max_chars is None:
        return None
    n = sum(len(v) for v in texts.fields.values())
    if n <= max_chars:
        return None
    return Quarantined(record.source_dataset, record_unit(record), record_position(record), MAX_CHARS, n,
                       max_chars, record.record_id)


def prepare_record(record: SourceRecord, spec, max_chars: int | None = None) -> RecordTexts | str | Quarantined:
    """What extraction reads of a record before any parse: its texts, or why it has none (a rejection
    reason), or its quarantine entry when its task fields exceed ``max_chars`` (or the entry's
    ``settings.max_chars``, when smaller)."""
    if spec.settings.get("max_chars"):  # this entry's own bound, under the spec's filters.max_chars
        max_chars = min(int(spec.settings["max_chars"]), max_chars or int(spec.settings["max_chars"]))
    texts = record_texts(record, spec)
    if isinstance(texts, RecordTexts):
        texts = too_long(record, texts, max_chars) or texts
    return texts


def record_prefilter(spec, seed: int | None = None) -> Callable[[SourceRecord, RecordTexts], str | None]:
    """The spec's prefilter (``transforms.prefilter``): ``check(record, texts)`` is why the record cannot
    become a kept candidate, or None."""
    check = Prefilter(spec.filters, spec.settings.get("name_gazetteer") or GAZETTEER_PATH, seed)
    return lambda r, t: check(Raw(t.fields, t.answer, t.items(), record_metadata(r, spec), r.source_dataset,
                                  r.record_id))


def extract_batch(records: Sequence[SourceRecord | Mapping[str, Any]], spec, nlp=None,
                  max_chars: int | None = None, seed: int | None = None,
                  parses: ParseCache | None = None) -> list[Template | Rejection | Quarantined]:
    """Apply the spec's rule to a batch of records (one ``nlp.pipe`` call for all their texts not parsed yet).

    Records from other sources than ``spec.source`` are skipped. A record whose task
    fields hold more than ``max_chars`` characters (or the entry's ``settings.max_chars``, when
    smaller) is quarantined unparsed. With the ``prefilter`` setting (default on), a record the
    rule or the entry's candidate filters could not keep is rejected unparsed
    (``transforms.prefilter``; ``seed``, the spec's, lets it judge a ``sample`` filter too). ``parses``
    (``transforms.parse_cache``) holds the docs of texts parsed before, by earlier batches of the worker;
    without it each distinct text of the batch is parsed once. The result has one entry per record kept,
    rejected or quarantined, in input order.
    """
    ex = extractor_for(spec)
    recs = [r for r in map(_as_record, records) if r.source_dataset == spec.source]
    prepared = [(r, prepare_record(r, spec, max_chars)) for r in recs]
    if ex.uses_spacy and spec.settings.get("prefilter", True):
        check = record_prefilter(spec, seed)
        prepared = [(r, t if not isinstance(t, RecordTexts) else check(r, t) or t) for r, t in prepared]
    docs_per_record: list[dict[str, Any] | None] = [None] * len(prepared)
    if ex.uses_spacy:
        nlp = nlp if nlp is not None else load_nlp(spec.settings.get("spacy_model"))
        gazetteer = spec.settings.get("name_gazetteer") or GAZETTEER_PATH
        keys, texts = [], []
        for i, (_, t) in enumerate(prepared):
            docs_per_record[i] = {}
            if isinstance(t, RecordTexts):
                for key, text in t.items():
                    if has_person_cue(text, gazetteer):
                        keys.append((i, key))
                        texts.append(text)
                    else:  # no word a mention could be: tokens are all the rules read
                        docs_per_record[i][key] = nlp.make_doc(text)
        # a passage many questions share (DuoRC's plots, DROP's passages) is parsed once a batch, or once a
        # worker with its cache: the rules only read docs, so records may share one
        for (i, key), doc in zip(keys, (parses if parses is not None else ParseCache()).parse(nlp, texts)):
            docs_per_record[i][key] = doc
    out: list[Template | Rejection | Quarantined] = []
    for (rec, texts), docs in zip(prepared, docs_per_record):
        if isinstance(texts, Quarantined):
            out.append(texts)
            continue
        if isinstance(texts, str):
            out.append(Rejection(rec.source_dataset, rec.record_id, spec.task, spec.rule, texts))
            continue
        result = ex.fn(rec, spec, texts, docs)
        if isinstance(result, str):
            result = Rejection(rec.source_dataset, rec.record_id, spec.task, spec.rule, result)
        out.append(result)
    return out


# --------------------------------------------------------------------------- the person_mentions rule

def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, repl in sorted(set(spans)):
        if start < pos:
            raise Refused(f"overlapping slots at {text[start:end]!r}")
        out.append(_escape(text[pos:start]))
        out.append(repl)
        pos = end
    out.append(_escape(text[pos:]))
    return "".join(out)


def _unslotted_name(refs, others, texts: Mapping[str, str]) -> str | None:
    """Why a slotted person is still written somewhere as a name (the parse missed a mention, or the
    name is also a place or a team: "the Carolina Panthers"), or None. A template is right only if
    every mention of its person is slotted, so such a record is rejected, not half slotted.

    Checked: each name the person goes by, whole, and the last word of a name of several words,
    unless a person left unslotted (``others``) also goes by that word ("Rafik Hariri" beside the
    slotted "Hind Hariri").
    """
    theirs = {w for r in others for n in r.names for w in n}
    for ref in refs:
        whole = {" ".join(n) for n in ref.names}
        words = whole | {n[-1] for n in ref.names if len(n) > 1}
        for word in sorted(w for w in words if len(w) > 1 and w not in theirs):
            pattern = re.compile(r"(?<![\w{])" + re.escape(word) + r"(?![\w}])")
            for key, text in texts.items():
                for m in pattern.finditer(text):
                    if word not in whole and _RE_NAME_BEFORE.search(text, 0, m.start()):
                        continue  # a surname after another first name: someone else ("Rafik Hariri")
                    return f"{word!r} is still written in {key} outside the slots of {ref.label!r}"
    return None


# a capitalised word (not a title) just before a match: the match ends someone else's name
_RE_NAME_BEFORE = re.compile(r"(?<![\w.])(?!(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Lady|Lord)\b)[A-Z][\w'-]*\s+$")


def _focus(people, settings, max_persons: int):
    """The referents to slot: all of them, or with more than ``max_persons`` those the ``focus`` field names."""
    refs = people.referents
    if len(refs) <= max_persons:
        return refs
    where = settings.get("focus")
    if where:
        chosen = [r for r in refs if any(m.key == where for m in r.mentions)]
        if 0 < len(chosen) <= max_persons:
            return chosen
    names = ", ".join(r.label for r in refs)
    return f"{len(refs)} people mentioned ({names}); at most {max_persons} slotted" + \
        (f" and {where} names {len(chosen) if where else 0}" if where else "")


@register_extractor("person_mentions", uses_spacy=True,
                    settings=("spacy_model", "max_persons", "focus", "gendered_nouns", "name_gazetteer", "prefilter"))
def person_mentions(record: SourceRecord, spec, texts: RecordTexts, docs: Mapping[str, Any]) -> Template | str:
    """Slot every mention of the people in a record (``transforms.people.mentions``), or say why not.

    Names and generic person noun phrases become ``{person}``, pronouns bound to them
    ``{person.subj}`` …, verbs agreeing with a subject pronoun ``{person:was}``, a gendered
    noun describing the person ``{person:boy/girl/kid}``. Settings: ``max_persons``
    (default 2: ``{person}``, ``{person2}``), ``focus`` (a text key, e.g. ``question``:
    with more people than ``max_persons``, slot only those it names; the rest stay as
    written), ``gendered_nouns`` (``slot``, ``reject`` or ``keep``), ``name_gazetteer``
    (a tab-separated name/gender file; default the shipped one), ``prefilter`` (default true:
    records that could not become a kept candidate are rejected before spaCy, ``transforms.prefilter``).
    """
    settings = spec.settings
    gazetteer = load_gazetteer(settings.get("name_gazetteer") or GAZETTEER_PATH)
    max_persons = int(settings.get("max_persons", 2))
    try:
        people = find_people([(key, docs[key]) for key, _ in texts.items()], gazetteer)
    except Refused as e:
        return str(e)
    if not people.referents:
        return "no person a name can stand for" + (f" ({', '.join(o.label for o in people.others)})"
                                                    if people.others else "")
    refs = _focus(people, settings, max_persons)
    if isinstance(refs, str):
        return refs
    names = {id(r): ("person" if i == 0 else f"person{i + 1}") for i, r in enumerate(refs)}
    mode = settings.get("gendered_nouns", "slot")
    spans: dict[str, list[tuple[int, int, str]]] = {key: [] for key, _ in texts.items()}
    counts: dict[str, int] = {}
    provenance = [f"extract:{spec.rule}"]
    for ref in refs:
        slot = names[id(ref)]
        for m in ref.mentions:
            if m.kind == "pronoun":
                spans[m.key].append((m.start, m.end, f"{{{slot}.{m.case}}}"))
                if m.case == "subj":
                    for verb in subject_verbs(docs[m.key][m.token]):
                        spans[m.key].append((verb.idx, verb.idx + len(verb.text), verb_slot_text(verb, slot)))
                        counts["agreeing verb"] = counts.get("agreeing verb", 0) + 1
            else:
                spans[m.key].append((m.start, m.end, f"{{{slot}}}"))
            counts[f"{m.kind} mention"] = counts.get(f"{m.kind} mention", 0) + 1
        provenance.append(f"{slot}: " + ", ".join(f"{m.key}[{m.start}:{m.end}]" for m in ref.mentions))
        provenance.append(f"{slot} is {ref.label!r}")  # the person as written (the celebrity filter reads it)
    for key, noun, ref in people.describing:
        if id(ref) not in names or noun.lower_ not in GENDERED_NOUN_SLOTS or mode == "keep":
            continue
        if mode == "reject":
            return f"the gendered word {noun.text!r} describes {ref.label!r}"
        choice = GENDERED_NOUN_SLOTS[noun.lower_]
        spans[key].append((noun.idx, noun.idx + len(noun.text), f"{{{names[id(ref)]}:{choice}}}"))
        counts["gendered word"] = counts.get("gendered word", 0) + 1
    try:
        new_texts = {key: _apply(text, spans[key]) for key, text in texts.items()}
    except Refused as e:
        return str(e)
    left = _unslotted_name(refs, [r for r in people.referents + people.others if r not in refs], new_texts)
    if left:
        return left
    for key, text in new_texts.items():
        # a verb slot agrees with a subject pronoun; the parser of the slot syntax binds it to the
        # nearest slot before it, which must be that pronoun
        for s in parse_slots(text, template_id="?", field=key).slots:
            if s.kind == "verb" and s.subject != "pronoun":
                return f"verb slot {{{s.referent}:{s.arg}}} in {key} would not agree with its pronoun"
    fields = {k: new_texts[k] for k in texts.fields}
    if not any("{person" in v for v in fields.values()):
        return "the person is named only in the answer or options"
    provenance += [f"{k} x{v}" for k, v in counts.items()]
    answer = new_texts.get("answer", "")
    options = [new_texts[f"options[{i}]"] for i in range(len(texts.options))]
    return make_template(record, spec, fields, answer, options, provenance)


@register_extractor("canonical")
def canonical(record: SourceRecord, spec, texts: RecordTexts, docs) -> Template | str:
    """Fields already written in the canonical slot syntax: copied, every slot parsed.

    >>> from schemas.records import SourceRecord
    >>> from schemas.spec import ExtractSpec
    >>> spec = ExtractSpec(source="s", task="sentiment", fields={"sentence": "text"}, rule="canonical")
    >>> good = SourceRecord("s", "test", "0", {"text": "{person} said {person.subj} {person:was} ready."})
    >>> typo = SourceRecord("s", "test", "1", {"text": "{person} said {person.subjj} it."})
    >>> kept, rejected = extract_batch([good, typo], spec)
    >>> kept.fields["sentence"]
    '{person} said {person.subj} {person:was} ready.'
    >>> rejected.reason.startswith("bad slot")
    True
    """
    try:
        for key, text in texts.items():
            parse_slots(text, template_id=f"{record.source_dataset}/{record.record_id}", field=key)
    except SlotError as e:
        return f"bad slot: {e}"
    return make_template(record, spec, texts.fields, texts.answer, texts.options, [f"extract:{spec.rule}"])


# --------------------------------------------------------------------------- Beam

class ExtractBatchFn(beam.DoFn):
    """Runs every extract spec over a batch of SourceRecord dicts; models load once per worker, and so does
    the cache of parsed texts (``parse_cache_bytes`` its bound; 0: none, each batch parses its texts)."""

    def __init__(self, specs, max_chars: int | None = None, seed: int | None = None,
                 parse_cache_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__()
        self.specs = list(specs)
        self.max_chars, self.seed, self.parse_cache_bytes = max_chars, seed, parse_cache_bytes
        self.nlps: dict[str, Any] = {}
        self.parses: dict[str, ParseCache] = {}

    def setup(self):
        for spec in self.specs:
            if extractor_for(spec).uses_spacy:
                name = spec.settings.get("spacy_model") or default_model()
                self.nlps[name] = load_nlp(name)
                if self.parse_cache_bytes > 0:  # shared by the DoFns of the process: every quota-order round's
                    self.parses[name] = worker_cache(name, self.parse_cache_bytes)

    def process(self, batch):
        for spec in self.specs:
            name = spec.settings.get("spacy_model") or default_model()
            nlp = self.nlps.get(name)
            for out in extract_batch(batch, spec, nlp, self.max_chars, self.seed, self.parses.get(name)):
                if isinstance(out, Quarantined):
                    Metrics.counter(NAMESPACE, f"quarantined.{spec.source}.{spec.task}").inc()
                    yield beam.pvalue.TaggedOutput(QUARANTINED, out.to_dict())
                elif isinstance(out, Rejection):
                    Metrics.counter(NAMESPACE, f"rejected.{spec.source}.{spec.task}").inc()
                    yield beam.pvalue.TaggedOutput(REJECTED, out.to_dict())
                else:
                    Metrics.counter(NAMESPACE, f"kept.{spec.source}.{spec.task}").inc()
                    yield out.to_dict()


class ExtractTemplates(beam.PTransform):
    """``PCollection[SourceRecord dict]`` -> tagged outputs ``templates`` (Template dicts), ``rejected``
    and ``quarantined``.

    ``out = records | ExtractTemplates(spec.extract, max_chars=spec.filters.max_chars)``,
    then ``out.templates``, ``out.rejected``, ``out.quarantined`` (or ``out["templates"]`` …).

    Rejections are :class:`Rejection` dicts (source_dataset, source_record_id, task,
    rule, reason); records over ``max_chars`` are quarantined unparsed, as
    :class:`~schemas.quarantine.Quarantined` dicts. Which batch a record lands in never
    changes its output, so the result does not depend on the runner's batching.
    """

    def __init__(self, extract_specs, *, max_chars: int | None = None, seed: int | None = None,
                 min_batch_size: int = 8, max_batch_size: int = 256, parse_cache_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__()
        self.parse_cache_bytes = parse_cache_bytes
        # the candidate filters of a source read by two entries apply to both entries' candidates
        # (pipelines.graph.filter_candidates keys them by source), so neither entry's prefilter may use them
        entries = Counter(spec.source for spec in extract_specs)
        self.specs = [spec if entries[spec.source] == 1 else replace(spec, filters=[]) for spec in extract_specs]
        self.max_chars, self.seed = max_chars, seed
        for spec in self.specs:
            extractor_for(spec)  # a bad rule or setting fails when the pipeline is built, not on a worker
        self.min_batch_size, self.max_batch_size = min_batch_size, max_batch_size

    def expand(self, records):
        return (records
                | "Batch" >> beam.BatchElements(min_batch_size=self.min_batch_size,
                                                max_batch_size=self.max_batch_size)
                | "Extract" >> beam.ParDo(ExtractBatchFn(self.specs, self.max_chars, self.seed, self.parse_cache_bytes))
                .with_outputs(REJECTED, QUARANTINED, main=TEMPLATES))
