"""The grammar check: what a careful reader would catch, read off a parse of one rendered sentence.

Regex lint over rows cannot see grammar ("they listens" is two ordinary
words). This module reads a spaCy parse of a *probe*: one template field
rendered with one representative filler per pronoun set and article class
(``transforms.grammar_probes``), so the parser runs once per template ×
pronoun set × article class, never per row. It imports nothing but
``schemas``: the caller parses (``pipelines.grammar``) and hands over the
Doc; only token attributes are read here.

Rules (``RULES``), each giving a short detail naming the words:

``agreement``
    a subject pronoun whose pronoun set takes plural verbs ("they") governing
    a third-person singular verb (Penn tag ``VBZ``, or "was"): "they listens",
    "they was", "they tries … and visits"; and the reverse, a singular
    pronoun ("he", "she", a lexicon's "xe") governing a plural present form
    (``VBP``) or "were" outside a subjunctive ("if she were" is fine). The
    governed verb is the pronoun's head, its first auxiliary, and verbs
    conjoined with the head that have no subject of their own.
``article``
    "a"/"an" (a determiner) whose next word takes the other one by how it is
    read (``schemas.articles``: initialisms letter by letter, numbers as
    numbers), the spec's ``article_overrides`` applied.
``doubled_word``
    the same word twice in a row ("the the"; "that that" and "had had" are English).
``leftover_marker``
    a slot marker survived rendering (the lint's patterns).
``lowercase_start``
    a sentence (the field's start, or after ". ", "! ", "? ") that begins
    with a lower-case letter (``schemas.sentences``); an abbreviation before
    the full stop ("e.g.", "Mr.") does not end a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from schemas.articles import indefinite_article
from schemas.pronouns import PRONOUN_SETS
from schemas.sentences import lowercase_sentence_starts

RULES = ("agreement", "article", "doubled_word", "leftover_marker", "lowercase_start")

# the lint's marker patterns, repeated rather than imported so this module needs only schemas
_LEFTOVER = re.compile(r"\{[^{}\s][^{}]*\}|<[A-Z][A-Z0-9_]*>|<[A-Za-z]+(?:/[A-Za-z]+)+>|\[[A-Z][A-Z0-9_]+\]")
_ALLOWED_DOUBLES = ("that", "had")
_SUBJUNCTIVE_MARKS = ("if", "wish", "though", "unless", "whether")
_NUMBERS: dict[tuple, tuple[frozenset[str], ...]] = {}  # _pronoun_numbers by the sets' names
_HASHES: dict[frozenset[str], frozenset[int]] = {}
_ARTICLES, _WAS, _WERE = frozenset(("a", "an")), frozenset(("was", "wasn't")), frozenset(("were", "weren't"))


@dataclass(frozen=True)
class Finding:
    """One defect in one probe sentence."""

    rule: str
    detail: str


def _pronoun_numbers() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Subject pronouns taking plural verbs, those taking singular ones, and both (a lexicon may register
    a set)."""
    key = tuple(PRONOUN_SETS)
    if key not in _NUMBERS:
        plural = frozenset(p.subj for p in PRONOUN_SETS.values() if p.plural_verbs)
        singular = frozenset(p.subj for p in PRONOUN_SETS.values() if not p.plural_verbs)
        _NUMBERS[key] = plural, singular, plural | singular
    return _NUMBERS[key]


def _hashes(doc, words: frozenset[str]) -> frozenset[int]:
    """The string-store hashes of ``words``, to compare with a doc's attribute arrays (hashes do not
    depend on the vocabulary: the same string always hashes the same)."""
    if words not in _HASHES:
        _HASHES[words] = frozenset(doc.vocab.strings[w] for w in words)
    return _HASHES[words]


def _positions(lows: list[int], doc, words: frozenset[str]) -> list[int]:
    """Indices of the tokens whose lower-case form is one of ``words`` (``lows``: the doc's LOWER hashes)."""
    wanted = _hashes(doc, words)
    return [i for i, h in enumerate(lows) if h in wanted]


def _finite_verbs(pron) -> list:
    """The finite verbs whose form agrees with the subject ``pron``: its head's first auxiliary or the
    head itself, and conjoined verbs without a subject (or auxiliary) of their own."""
    head = pron.head
    if head.i == pron.i:
        return []
    out = []
    for verb in [head, *[c for c in head.conjuncts if c.i > head.i]]:
        if verb.i != head.i and any(c.dep_.startswith("nsubj") for c in verb.children):
            continue  # a clause of its own ("they left and she stays")
        auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
        if auxes:
            out.append(min(auxes, key=lambda t: t.i))
        elif verb.tag_.startswith("VB"):
            out.append(verb)
    return out


def _subjunctive(pron) -> bool:
    clause = pron.head
    return any(c.dep_ == "mark" and c.lower_ in _SUBJUNCTIVE_MARKS for c in clause.children) or \
        clause.head.lower_ in ("wish", "wishes", "wished")


def _agreement(doc, lows) -> Iterable[Finding]:
    plural, singular, subjects = _pronoun_numbers()
    for i in _positions(lows, doc, subjects):
        tok = doc[i]
        if not tok.dep_.startswith("nsubj"):
            continue
        low = tok.lower_
        for verb in _finite_verbs(tok):
            vlow = verb.lower_
            if low in plural and (verb.tag_ == "VBZ" or vlow in _WAS):
                yield Finding("agreement", f"{tok.text} … {verb.text}: a singular verb for a plural subject")
            elif low in singular and (verb.tag_ == "VBP" or (vlow in _WERE and not _subjunctive(tok))):
                yield Finding("agreement", f"{tok.text} … {verb.text}: a plural verb for a singular subject")


def _next_word(text: str, tok) -> str:
    """The whitespace-delimited word after ``tok`` (spaCy splits "F2M" in two; the reading needs it whole)."""
    rest = text[tok.idx + len(tok.text):]
    m = re.match(r"\s+[\"'“‘(\[]*([^\s]+)", rest)
    return m.group(1) if m else ""


def _article_candidates(doc, lows, text: str, overrides: Mapping[str, str] | None) -> Iterable[tuple]:
    """(token, next word, the article it takes) for every "a"/"an" whose next word takes the other one."""
    for i in _positions(lows, doc, _ARTICLES):
        tok = doc[i]
        word = _next_word(text, tok)
        if not word or not re.match(r"[A-Za-z0-9]", word):
            continue
        want = indefinite_article(word, overrides)
        if want != tok.lower_:
            yield tok, word, want


def _articles(doc, lows, text: str, overrides: Mapping[str, str] | None) -> Iterable[Finding]:
    for tok, word, want in _article_candidates(doc, lows, text, overrides):
        if tok.tag_ == "DT":  # "a" as a letter or a grade is no article
            yield Finding("article", f"{tok.text} {word}: “{want}” by how “{word}” is read")


def _doubled(doc, lows) -> Iterable[Finding]:
    for i in [i for i, (a, b) in enumerate(zip(lows, lows[1:])) if a == b]:
        a, b = doc[i], doc[i + 1]
        if a.is_alpha and a.whitespace_ and a.lower_ not in _ALLOWED_DOUBLES:
            yield Finding("doubled_word", f"{a.text} {b.text}")


def _lowercase_starts(text: str) -> Iterable[Finding]:
    for start in lowercase_sentence_starts(text):
        word = re.match(r"\S+", text[start:]).group(0)
        yield Finding("lowercase_start", f"{word}: a sentence starts in lower case")


# Tokens are read as attribute arrays (``Doc.to_array``) and made into Token objects only where a rule
# looks closer: a Token object costs about a microsecond, and a probe paragraph has hundreds of tokens.
# ``text`` is the doc's text when the caller has it (``Doc.text`` joins every token's text again).

def needs_tags(doc, article_overrides: Mapping[str, str] | None = None, text: str | None = None) -> bool:
    """Whether a tokenized probe needs tags for ``check_doc`` to find all it finds on a full parse: a subject
    pronoun of a pronoun set is written (agreement, see ``needs_parse``), or an "a"/"an" precedes a word that
    takes the other article (only a determiner counts). Doubled words, markers and sentence starts read only
    the tokens and the text."""
    lows = doc.to_array("LOWER").tolist()
    return not _hashes(doc, _pronoun_numbers()[2]).isdisjoint(lows) or any(
        True for _ in _article_candidates(doc, lows, doc.text if text is None else text, article_overrides))


def needs_parse(doc) -> bool:
    """Whether a tagged probe needs the dependency parse: agreement can flag only a plural-verb subject
    pronoun with a ``VBZ`` or "was" in its sentence, or a singular one with a ``VBP`` or "were"."""
    plural, singular, _ = _pronoun_numbers()
    lows, tags = (set(column) for column in doc.to_array(["LOWER", "TAG"]).T.tolist())

    def verb(tag: str, words: frozenset[str]) -> bool:
        return doc.vocab.strings[tag] in tags or not _hashes(doc, words).isdisjoint(lows)

    return (not _hashes(doc, plural).isdisjoint(lows) and verb("VBZ", _WAS)) or \
        (not _hashes(doc, singular).isdisjoint(lows) and verb("VBP", _WERE))


def check_doc(doc, article_overrides: Mapping[str, str] | None = None, text: str | None = None) -> list[Finding]:
    """Every finding in one parsed probe sentence, in rule order, each detail once."""
    text = doc.text if text is None else text
    lows = doc.to_array("LOWER").tolist()
    found: list[Finding] = []
    found += _agreement(doc, lows)
    found += _articles(doc, lows, text, article_overrides)
    found += _doubled(doc, lows)
    found += [Finding("leftover_marker", m.group(0)) for m in _LEFTOVER.finditer(text)]
    found += _lowercase_starts(text)
    return list(dict.fromkeys(found))
