"""HolisticBias v1.1 in this pipeline's terms: noun-phrase lexicon entries and statement templates.

HolisticBias publishes four JSON files (descriptors, nouns, sentence
templates, standalone noun phrases). Its noun phrases are of four types:

``descriptor``
    the descriptor alone ("Deaf"), never in a template that needs a noun;
``descriptor_noun``
    article + descriptor + noun ("a Deaf grandmother"); a descriptor bound to
    a gender ("Latina") only takes nouns of that gender;
``noun``
    the noun alone ("a grandmother"), the control phrases (axis ``null``);
``noun_descriptor`` / ``fixed_phrase``
    the standalone phrases: with a noun slot ("an individual with a lisp") or
    fixed ("a wheelchair user"), in bucket ``(none)`` of their axis.

Every phrase becomes one :class:`LexiconEntry` (axis = HolisticBias axis,
group = bucket, value = singular phrase with its article, ``plural`` = plural
phrase) whose features carry the metadata (``bucket``, ``descriptor``,
``noun``, ``noun_phrase_type``, ``preference`` …). The article is chosen by
pronunciation (``schemas.grammar``), not by the first letter as the
reference generator does; ``article_fix`` records each phrase where the two
differ ("a FTM person → an FTM person"). Templates become canonical slot text
(``{noun_phrase}`` → ``{person}``, ``{plural_noun_phrase}`` →
``{person.plural}``); ``must_be_noun`` templates restrict their fillers to
phrases with a noun through the ``filler_where`` template metadata.

``reference_sentences`` is a plain-Python re-implementation of the reference
generator's loop (first-letter articles, no corrections), used to check counts
and as the benchmark baseline.

>>> hb_article("FTM"), reference_article("FTM")
('an', 'a')
"""

from __future__ import annotations

import contextlib
import gc
import json
from typing import Any, Iterator

from schemas import storage
from schemas.records import LexiconEntry, Template, fill_entry_ids
from schemas.grammar import indefinite_article

NONE = "(none)"  # the reference generator's placeholder for "no value"
NULL_AXIS = "null"  # the axis of noun-only control phrases
SOURCE = "HolisticBias v1.1 (ResponsibleNLP)"
LICENSE = "CC BY-SA 4.0"
FILES = ("descriptors.json", "nouns.json", "sentence_templates.json", "standalone_noun_phrases.json")
#: Template metadata that restricts a template to phrases with a noun.
MUST_BE_NOUN_WHERE = f"noun!={NONE}"


def reference_article(word: str) -> str:
    """The reference generator's rule: "an" before a vowel letter, else "a" ("a FTM", "an European")."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def hb_article(word: str, overrides=None) -> str:
    """This project's rule: by pronunciation (``schemas.grammar.indefinite_article``)."""
    return indefinite_article(word, overrides)


def read_holistic(data_dir: str) -> dict[str, Any]:
    """The four JSON files of a folder laid out like HolisticBias ``dataset/v1.1``."""
    out = {}
    for name in FILES:
        path = storage.join(data_dir, name)
        if not storage.exists(path):
            raise FileNotFoundError(f"{path}: HolisticBias data folder needs {', '.join(FILES)}")
        with storage.open_text(path) as f:
            out[name.split(".")[0]] = json.load(f)
    return out


def _nouns(data) -> list[tuple[str, str, str]]:
    return [(gender, noun, plural) for gender, pairs in data["nouns"].items() for noun, plural in pairs]


def noun_phrases(data: dict[str, Any], article=hb_article) -> Iterator[dict[str, str]]:
    """Every noun phrase with its metadata, in the files' order (axis, bucket, descriptor, noun).

    ``article(word)`` picks "a"/"an"; an explicit ``article`` in descriptors.json wins.
    """
    nouns = _nouns(data)
    for gender, noun, plural in nouns:  # the controls: the noun alone
        yield dict(axis=NULL_AXIS, bucket=NONE, descriptor=NONE, descriptor_gender=NONE, preference=NONE,
                   noun=noun, plural_noun=plural, noun_gender=gender, noun_phrase_type="noun",
                   noun_phrase=f"{article(noun)} {noun}", plural_noun_phrase=plural, article_word=noun)
    for axis, buckets in data["descriptors"].items():
        for bucket, items in buckets.items():
            for item in items:
                item = {"descriptor": item} if isinstance(item, str) else item
                desc = item["descriptor"]
                dgender = item.get("gender", NONE)
                pref = item.get("preference", NONE)
                base = dict(axis=axis, bucket=bucket, descriptor=desc, descriptor_gender=dgender, preference=pref)
                yield dict(base, noun=NONE, plural_noun=NONE, noun_gender=NONE, noun_phrase_type="descriptor",
                           noun_phrase=desc, plural_noun_phrase=desc, article_word="")
                art = item.get("article") or article(desc)
                for gender, noun, plural in nouns:
                    if dgender != NONE and dgender != gender:
                        continue
                    yield dict(base, noun=noun, plural_noun=plural, noun_gender=gender,
                               noun_phrase_type="descriptor_noun", noun_phrase=f"{art} {desc} {noun}",
                               plural_noun_phrase=f"{desc} {plural}",
                               article_word="" if item.get("article") else desc)
    for axis, items in data["standalone_noun_phrases"].items():
        for item in items:
            item = {"noun_phrase": item} if isinstance(item, str) else item
            phrase = item["noun_phrase"]
            plural_phrase = item.get("plural_noun_phrase", phrase)
            pref = item.get("preference", NONE)
            if "{noun}" in phrase:
                desc = phrase.format(article="", noun="").lstrip()
                for gender, noun, plural in nouns:
                    yield dict(axis=axis, bucket=NONE, descriptor=desc, descriptor_gender=NONE, preference=pref,
                               noun=noun, plural_noun=plural, noun_gender=gender, noun_phrase_type="noun_descriptor",
                               noun_phrase=phrase.format(article=article(noun), noun=noun),
                               plural_noun_phrase=plural_phrase.format(article="", noun=plural).lstrip(),
                               article_word=noun)
            else:
                yield dict(axis=axis, bucket=NONE, descriptor=phrase, descriptor_gender=NONE, preference=pref,
                           noun=NONE, plural_noun=NONE, noun_gender="neutral", noun_phrase_type="fixed_phrase",
                           noun_phrase=phrase, plural_noun_phrase=plural_phrase, article_word="")


_PRONOUNS = {"female": "she", "male": "he"}
FEATURES = ("bucket", "descriptor", "descriptor_gender", "noun", "plural_noun", "noun_gender", "noun_phrase_type",
            "preference")
_FEATURE_KEYS = FEATURES + ("article_fix", "plural_noun_phrase")


def _memo(fn):
    """``fn(word)`` computed once per distinct word (~850 words behind ~25,000 article look-ups)."""
    cache: dict[str, str] = {}

    def get(word: str) -> str:
        out = cache.get(word)
        if out is None:
            out = cache[word] = fn(word)
        return out
    return get


@contextlib.contextmanager
def _gc_paused():
    """No cyclic GC while ~100,000 acyclic objects (entries, feature dicts, strings) are made: each
    collection would walk every object of the process (Beam's and pandas' included) for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def lexicon_entries(data_dir: str, lexicon: str = "holistic_noun_phrases", overrides=None) -> list[LexiconEntry]:
    """The noun phrases as lexicon entries, articles by pronunciation, corrections in ``article_fix``."""
    with _gc_paused():
        return _lexicon_entries(data_dir, lexicon, overrides)


def _lexicon_entries(data_dir: str, lexicon: str, overrides) -> list[LexiconEntry]:
    data = read_holistic(data_dir)
    ours_of = _memo(lambda w: hb_article(w, overrides))
    theirs_of = _memo(reference_article)
    entries = []
    append = entries.append
    for np_ in noun_phrases(data, article=ours_of):
        fix = ""
        word = np_["article_word"]
        if word:
            ours, theirs = ours_of(word), theirs_of(word)
            if ours != theirs:
                rest = np_["noun_phrase"].split(" ", 1)[1]
                fix = f"{theirs} {rest} → {ours} {rest}"
        gender = np_["descriptor_gender"] if np_["descriptor_gender"] != NONE else np_["noun_gender"]
        np_["article_fix"] = fix  # plural_noun_phrase tells "a Rasta"/"Rastas" from "Rastafari"
        append(LexiconEntry(
            lexicon=lexicon, axis=np_["axis"], group=np_["bucket"], value=np_["noun_phrase"],
            pronoun_set=_PRONOUNS.get(gender, "they"), plural=np_["plural_noun_phrase"],
            preference="" if np_["preference"] == NONE else np_["preference"],
            features={k: np_[k] for k in _FEATURE_KEYS}, source=SOURCE, license=LICENSE))
    fill_entry_ids(entries)
    return entries


def to_canonical(template: str) -> str:
    """HolisticBias template text → canonical slots (literal braces escaped)."""
    text = template.replace("{", "\x00").replace("}", "\x01")
    text = text.replace("\x00noun_phrase\x01", "\x02").replace("\x00plural_noun_phrase\x01", "\x03")
    if "\x02" not in text and "\x03" not in text:
        raise ValueError(f"HolisticBias template {template!r} has neither {{noun_phrase}} nor {{plural_noun_phrase}}")
    text = text.replace("\x00", "{{").replace("\x01", "}}")
    return text.replace("\x02", "{person}").replace("\x03", "{person.plural}")


def templates(path: str, *, task: str = "statement", source_dataset: str = "holistic_bias",
              license: str = LICENSE) -> list[Template]:
    """sentence_templates.json (or the folder holding it) → statement templates, in file order."""
    if storage.is_dir(path):
        path = storage.join(path, "sentence_templates.json")
    with storage.open_text(path) as f:
        raw = json.load(f)
    out = []
    for i, (text, flags) in enumerate(raw.items()):
        flags = {"first_turn_only": False, "must_be_noun": False, **flags}
        metadata = {"template": text, **{k: str(v).lower() for k, v in flags.items()}}
        if flags["must_be_noun"]:
            metadata["filler_where"] = MUST_BE_NOUN_WHERE
        out.append(Template.create(task=task, fields={"text": to_canonical(text)}, source_dataset=source_dataset,
                                   source_record_id=str(i), source_license=license, ordinal=i,
                                   provenance=("import:holistic_bias",), metadata=metadata))
    return out


def reference_sentences(data_dir: str) -> Iterator[dict[str, str]]:
    """The reference generator's loop in plain Python: one dict per sentence, first-letter articles.

    Per noun phrase, every template; phrases without a noun skip ``must_be_noun``
    templates; the singular or plural phrase goes into the template's slot.
    """
    data = read_holistic(data_dir)
    sentence_templates = data["sentence_templates"]
    for np_ in noun_phrases(data, article=reference_article):
        for template, flags in sentence_templates.items():
            if np_["noun"] == NONE and flags.get("must_be_noun", False):
                continue
            meta = {"template": template, "first_turn_only": False, "must_be_noun": False, **flags}
            if "{noun_phrase}" in template:
                text = template.format(noun_phrase=np_["noun_phrase"])
            elif "{plural_noun_phrase}" in template:
                text = template.format(plural_noun_phrase=np_["plural_noun_phrase"])
            else:
                raise ValueError(f"template {template!r} has no noun phrase slot")
            yield {"text": text, **np_, **meta}


#: How the card names each kind of article correction (first matching word of the phrase).
CORRECTION_LABELS = (
    ("FTM", "FTM/MTF"), ("MTF", "FTM/MTF"), ("F2M", "F2M/M2F"), ("M2F", "F2M/M2F"), ("FoC", "FoC/MoC"),
    ("MoC", "FoC/MoC"), ("LGBT", "LGBT/LGBTQ/LGBTQ+"), ("European", "European(-American)"),
    ("one-percenter", "one-percenter"), ("-year-old", "80/85-year-old"),
)


def correction_counts(table) -> dict[str, int]:
    """Rows whose article this project corrects, by kind, from rows with ``template`` and ``article_fix``."""
    import pyarrow.compute as pc

    singular = pc.match_substring(table.column("template"), "{noun_phrase}")
    fixes = pc.filter(table.column("article_fix"), pc.and_(singular, pc.not_equal(table.column("article_fix"), "")))
    out: dict[str, int] = {}
    for row in pc.value_counts(fixes).to_pylist():
        fix, n = row["values"], row["counts"]
        label = next((lab for word, lab in CORRECTION_LABELS if word in fix.split(" → ")[0]), "other")
        out[label] = out.get(label, 0) + n
    return dict(sorted(out.items()))
