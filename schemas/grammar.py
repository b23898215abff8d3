"""English surface grammar the renderer needs: articles, verb agreement, capitals.

Articles follow how the word is read (``schemas.articles``): initialisms
letter by letter ("an FTM", "an F2M", "an LGBTQ person", "a US-born"),
acronyms read as words by their spelling ("a NATO summit"), a vowel letter
that sounds like "you" or "w" takes "a" ("a European", "a one-percenter"),
a silent h takes "an" ("an hour"), numbers as they are read ("an
80-year-old", "an 18-year-old", "a 100-year-old").

>>> [indefinite_article(w) for w in ("FTM", "European", "hour", "80-year-old", "Deaf")]
['an', 'a', 'an', 'an', 'a']
>>> agree_verb("was", plural=True), agree_verb("carries", plural=True)
('were', 'carry')
"""

from __future__ import annotations

from typing import Mapping

# the article rule is a grammar fact every layer shares (rendering, lint, the grammar check); re-exported here
from schemas.articles import indefinite_article

__all__ = ["indefinite_article", "with_article", "agree_verb", "match_case", "capitalize_first"]


def with_article(phrase: str, overrides: Mapping[str, str] | None = None, article: str = "") -> str:
    """``"FTM person"`` -> ``"an FTM person"``; an explicit ``article`` wins."""
    return f"{article or indefinite_article(phrase, overrides)} {phrase}"


_IRREGULAR_PLURAL = {
    "is": "are", "was": "were", "has": "have", "does": "do", "goes": "go",
    "isn't": "aren't", "wasn't": "weren't", "hasn't": "haven't", "doesn't": "don't",
    "is not": "are not", "was not": "were not", "has not": "have not", "does not": "do not",
    "'s": "'re",
}


def agree_verb(verb_3sg: str, plural: bool) -> str:
    """The verb, written in its he/she form, agreeing with a singular or plural subject."""
    if not plural:
        return verb_3sg
    lower = verb_3sg.lower()
    if lower in _IRREGULAR_PLURAL:
        return match_case(_IRREGULAR_PLURAL[lower], verb_3sg)
    if not lower.endswith("s") or lower.endswith(("ss", "us", "is")):
        return verb_3sg  # past tense, modal or not a 3rd-person -s form: same for both
    if lower.endswith("ies") and len(lower) > 4:
        return verb_3sg[:-3] + "y"
    if lower.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        return verb_3sg[:-2]
    return verb_3sg[:-1]


def match_case(word: str, like: str) -> str:
    return capitalize_first(word) if like[:1].isupper() else word


def capitalize_first(text: str) -> str:
    """Upper-case the first letter only ("mcDonald" -> "McDonald", not "Mcdonald")."""
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1:]
    return text
