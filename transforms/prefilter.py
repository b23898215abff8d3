"""The prefilter: cheap necessary conditions of a kept candidate, judged on a record's raw texts.

spaCy reads a record only if every rule passes. Each rule rejects only records that the full path
(the extraction rule, then the spec's candidate filters ``extract[].filters``) would not keep either,
so the kept candidates are the same with and without it; ``benchmarks/extract.py --part prefilter``
checks that on real corpora and ``tests/test_prefilter.py`` on the gold set. The rules:

``person``
    some task field holds what a slotted person starts from (a capitalised gazetteer name, a
    gendered title, a determiner and a person noun: :func:`~transforms.people.cues.may_mention_person`).
``filter:<rule>``
    the spec's candidate filters that the raw record decides, those before the first ``quota`` (a
    quota ranks the candidates the filters before it keep, so a record dropped after it frees a place
    for another): ``metadata_in`` and ``sample`` exactly (they read the record's fields and id);
    ``person_in`` by a person cue in each field; ``words`` ``max`` and ``context_chars`` by a lower
    bound on what slotting leaves; ``answer_in_context`` when slotting cannot change the answer.
    ``no_celebrities`` and ``words`` ``min`` need the slotted people: not judged here.

What slotting can change, and why the bounds hold: a name or a determiner-and-noun mention becomes
``{person}`` (8 characters, one word), and it lies inside a run of whitespace-separated words each
of which holds a capital letter, a title, a determiner or a person noun (:func:`_mention_runs`), so
slotting shortens a text by at most ``len(run) - 8`` characters and ``words(run) - 1`` words per run.
Every other change (pronoun and verb slots, escaped braces) only lengthens a text. A field gets a
slot only from a pronoun, a person or role noun, a title, a gazetteer name, or a name word written
with a capital in another text of the record (a later "Smith" after "Mary Smith").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

from schemas.ids import digest
from transforms.people.cues import (GENDERED_NOUN_SLOTS, GENDERED_TITLES, PERSON_NOUNS, PRONOUNS, ROLE_NOUNS,
                                    load_gazetteer, may_mention_person)

#: every prefilter reason ends with this: the report counts them under stage ``prefilter``
TAG = "(prefilter)"
PERSON_REASON = f"no first name, gendered title or person noun after a determiner {TAG}"

_TOKEN = re.compile(r"\S+")
_PIECE = re.compile(r"[^\W\d_]+")  # letters only: "O'Hea" -> O, Hea; "Karim-Mohamed" -> Karim, Mohamed
_WORD = re.compile(r"[^\W\d_][\w'-]*")  # a word with its hyphens and apostrophes
_NOUN_DETERMINERS = frozenset({"a", "an", "the", "this", "that", "one"})
_SLOT_LEN = len("{person}")
_PERSON_WORDS = frozenset(PRONOUNS) | frozenset(PERSON_NOUNS) | ROLE_NOUNS | frozenset(GENDERED_TITLES)
# what a slot holds between its braces that is not the record's own text, for the first referent
# ("person2" has a digit); a verb slot holds the verb as written, except "'s" spelt out as "has"
_SLOT_INSIDES = (["person"] + [f"person.{c}" for c in ("subj", "obj", "poss", "poss_pron", "refl")]
                 + ["person:'s", "person:has"] + [f"person:{choice}" for choice in set(GENDERED_NOUN_SLOTS.values())])


def is_prefiltered(reason: str) -> bool:
    return reason.endswith(TAG)


@dataclass(frozen=True)
class Raw:
    """What the rules read of one record: its texts in reading order, metadata values and id."""

    fields: Mapping[str, str]  # task field -> text
    answer: str
    items: Sequence[tuple[str, str]]  # (key, text): the fields, then "answer" and "options[i]"
    metadata: Mapping[str, str]
    source: str
    record_id: str


Rule = Callable[[Raw, "_Cues"], "str | None"]


class _Cues:
    """Per record, computed once: the lower-cased letter runs of the words written with a capital, per text."""

    def __init__(self, raw: Raw, gazetteer):
        self.gazetteer = gazetteer
        self.capitals = {key: _capital_pieces(text) for key, text in raw.items}

    def may_hold_slot(self, key: str, text: str) -> bool:
        """Whether ``text`` (the record's text ``key``) can hold a person slot: a pronoun, a person or role
        noun, a title, a gazetteer name, or a word another text of the record writes with a capital."""
        names = self.gazetteer
        if any(word in names or word.capitalize() in names for word in _WORD.findall(text)):
            return True
        pieces = {p.lower() for p in _PIECE.findall(text)}
        if pieces & _PERSON_WORDS or any(p.capitalize() in names for p in pieces):
            return True
        return any(pieces & caps for k, caps in self.capitals.items() if k != key)


# The questions exploded from one passage (DuoRC's plots, DROP's passages) bring it again with every record:
# what the rules read of a text alone is computed once a text, not once a record.
_PER_TEXT = 4096


@lru_cache(maxsize=_PER_TEXT)
def _capital_pieces(text: str) -> frozenset[str]:
    """The lower-cased letter runs of the words of ``text`` written with a capital."""
    return frozenset(p.lower() for tok in _TOKEN.findall(text) if _has_upper(tok) for p in _PIECE.findall(tok))


def _has_upper(token: str) -> bool:
    return any(c.isupper() for c in token)


def _in_mention_run(token: str) -> bool:
    """Whether a whitespace-separated word can be (part of) a name or determiner-and-noun mention."""
    if _has_upper(token) or token.strip("-–—") == "":
        return True
    return any(p.lower() in GENDERED_TITLES or p.lower() in PERSON_NOUNS or p.lower() in _NOUN_DETERMINERS
               for p in _PIECE.findall(token))


@lru_cache(maxsize=_PER_TEXT)
def _mention_runs(text: str) -> tuple[tuple[int, int], ...]:
    """``(characters, words)`` of each maximal run of words that mentions could lie in. In a lower-case
    text a name can be any word (TweetQA's questions), so the whole text is one run."""
    tokens = list(_TOKEN.finditer(text))
    if text.islower():
        return ((len(text), len(tokens)),) if tokens else ()
    runs, start, count, end = [], None, 0, 0
    for m in tokens:
        if _in_mention_run(m.group()):
            if start is None:
                start, count = m.start(), 0
            count, end = count + 1, m.end()
        elif start is not None:
            runs.append((end - start, count))
            start = None
    if start is not None:
        runs.append((end - start, count))
    return tuple(runs)


def min_slotted_chars(text: str) -> int:
    """A lower bound on the length of ``text`` once slotted."""
    return len(text) - sum(max(0, chars - _SLOT_LEN) for chars, _ in _mention_runs(text))


def min_slotted_words(text: str) -> int:
    """A lower bound on the words (``candidate_filters`` counts) of ``text`` once slotted."""
    return len(_TOKEN.findall(text)) - sum(words - 1 for _, words in _mention_runs(text))


# --------------------------------------------------------------------------- rules from candidate filters

def _words_rule(p: Mapping[str, Any], seed: int | None) -> Rule | None:
    if "max" not in p:
        return None
    most = int(p["max"])

    def rule(raw: Raw, cues: _Cues) -> str | None:
        n = sum(min_slotted_words(t) for t in raw.fields.values())
        return f"at least {n} words once slotted, at most {most} kept {TAG}" if n > most else None
    return rule


def _context_chars_rule(p: Mapping[str, Any], seed: int | None) -> Rule:
    name, most = p.get("field", "context"), int(p["max"])

    def rule(raw: Raw, cues: _Cues) -> str | None:
        n = min_slotted_chars(raw.fields.get(name, ""))
        return f"{name} at least {n} characters once slotted, at most {most} kept {TAG}" if n > most else None
    return rule


def _person_in_rule(p: Mapping[str, Any], seed: int | None) -> Rule:
    wanted = list(p["fields"])

    def rule(raw: Raw, cues: _Cues) -> str | None:
        missing = [f for f in wanted if f not in raw.fields or not cues.may_hold_slot(f, raw.fields[f])]
        return f"no word a person slot could take in {', '.join(missing)} {TAG}" if missing else None
    return rule


def _metadata_in_rule(p: Mapping[str, Any], seed: int | None) -> Rule:
    name, values = p["field"], p["values"]

    def rule(raw: Raw, cues: _Cues) -> str | None:
        value = raw.metadata.get(name, "")
        return None if value in values else f"{name} {value!r} is not one of the kept values {TAG}"
    return rule


def _could_be_inside_slot(answer: str) -> bool:
    low = answer.lower()
    return bool(set(low) & set(":{}0123456789")) or any(low in inside for inside in _SLOT_INSIDES)


def _answer_in_context_rule(p: Mapping[str, Any], seed: int | None) -> Rule:
    name = p.get("field", "context")

    def rule(raw: Raw, cues: _Cues) -> str | None:
        if not raw.answer:
            return f"no answer {TAG}"
        if raw.answer.lower() in raw.fields.get(name, "").lower() or _could_be_inside_slot(raw.answer) \
                or cues.may_hold_slot("answer", raw.answer):
            return None  # found, or slotting may change the answer or put it inside a slot
        return f"the answer is not in the {name} {TAG}"
    return rule


def _sample_rule(p: Mapping[str, Any], seed: int | None) -> Rule | None:
    if seed is None:
        return None
    rate = float(p["rate"])

    def rule(raw: Raw, cues: _Cues) -> str | None:
        # the hash candidate_filters.sample_key takes of the template: its source and record id are the record's
        key = digest([seed, raw.source, raw.record_id], size=8)
        return None if int(key, 16) / 16 ** 16 < rate else f"not in the {rate:g} sample {TAG}"
    return rule


_FROM_FILTER = {"words": _words_rule, "context_chars": _context_chars_rule, "person_in": _person_in_rule,
                "metadata_in": _metadata_in_rule, "answer_in_context": _answer_in_context_rule,
                "sample": _sample_rule}


def filter_rules(filters: Sequence[Mapping[str, Any]], seed: int | None = None) -> list[Rule]:
    """The rules the raw record can decide, from the candidate filters before the first ``quota``."""
    rules = []
    for f in filters:
        if f["rule"] == "quota":
            break
        make = _FROM_FILTER.get(f["rule"])
        rule = make(f, seed) if make else None
        if rule is not None:
            rules.append(rule)
    return rules


class Prefilter:
    """The prefilter of one extract entry: ``Prefilter(filters, gazetteer_path, seed)(raw)`` is why the full
    path would not keep the record (a reason ending in ``(prefilter)``), or None."""

    def __init__(self, filters: Sequence[Mapping[str, Any]], gazetteer_path: str, seed: int | None = None):
        self.rules = filter_rules(filters, seed)
        self.gazetteer_path = gazetteer_path

    def __call__(self, raw: Raw) -> str | None:
        if not may_mention_person(raw.fields.values(), self.gazetteer_path):
            return PERSON_REASON
        if not self.rules:
            return None
        cues = _Cues(raw, load_gazetteer(self.gazetteer_path))
        for rule in self.rules:
            why = rule(raw, cues)
            if why is not None:
                return why
        return None
