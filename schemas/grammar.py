"""English surface grammar the renderer needs: articles, verb agreement, capitals.

Articles follow pronunciation, not spelling: initialisms are read letter by
letter ("an FTM", "an LGBTQ person", "a US-born"), a vowel letter that sounds
like "you" or "w" takes "a" ("a European", "a one-percenter", "a unicorn"),
a silent h takes "an" ("an hour"), numbers go by how they are read ("an
80-year-old", "an 18-year-old", "a 100-year-old").

>>> [indefinite_article(w) for w in ("FTM", "European", "hour", "80-year-old", "Deaf")]
['an', 'a', 'an', 'an', 'a']
>>> agree_verb("was", plural=True), agree_verb("carries", plural=True)
('were', 'carry')
"""

from __future__ import annotations

import re
from typing import Mapping

# Letters whose English names begin with a vowel sound: "an F", "an M", "an X".
_VOWEL_SOUND_LETTERS = set("AEFHILMNORSX")
# Vowel-initial words that start with a consonant sound ("a European", "a one-off").
_CONSONANT_SOUND_PREFIXES = (
    "eu", "ewe", "one", "once", "uni", "unanim", "use", "usu", "uti", "ure", "uri", "uro", "uga", "ukr",
    "ubiq", "utop", "ufo", "u-", "uk-", "us-",
)
# Consonant-initial words with a silent h.
_SILENT_H_PREFIXES = ("hour", "honest", "honor", "honour", "heir")
# All-capital words pronounced as words, not letters.
_ACRONYMS_AS_WORDS = {"NASA": "a", "NATO": "a", "UNICEF": "a", "UNESCO": "a", "AIDS": "an", "OPEC": "an"}
_ACRONYMS_AS_WORDS["NIMBY"] = "a"  # read as a word: "a NIMBY" (HolisticBias)
# Initialisms whose first letter is read as a word ("a US-born", "a UK citizen").
_INITIALISM_OVERRIDES: dict[str, str] = {}

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")


def indefinite_article(phrase: str, overrides: Mapping[str, str] | None = None) -> str:
    """Return "a" or "an" for the phrase that follows the article.

    ``overrides`` maps a first word (case-sensitive, then lower-case) to its article.
    """
    m = _WORD.search(phrase)
    if not m:
        return "a"
    word = m.group(0)
    for table in (overrides or {}), _ACRONYMS_AS_WORDS, _INITIALISM_OVERRIDES:
        if word in table:
            return table[word]
        if word.lower() in table:
            return table[word.lower()]
    if word[0].isdigit():
        digits = re.match(r"\d+", word.replace(",", "")).group(0)
        if digits.startswith("8"):
            return "an"
        # eleven, eighteen; eleven thousand, eighteen thousand …
        if len(digits) % 3 == 2 and digits[:2] in ("11", "18"):
            return "an"
        return "a"
    letters = re.match(r"[A-Za-z]+", word)
    if letters and len(letters.group(0)) >= 2 and letters.group(0).isupper():
        return "an" if word[0] in _VOWEL_SOUND_LETTERS else "a"
    if len(word) == 1 and word.isalpha() and word.isupper():
        return "an" if word in _VOWEL_SOUND_LETTERS else "a"
    lower = word.lower()
    if lower.startswith(_SILENT_H_PREFIXES):
        return "an"
    if lower[0] in "aeiou":
        return "a" if lower.startswith(_CONSONANT_SOUND_PREFIXES) else "an"
    return "a"


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
