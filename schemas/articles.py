"""The indefinite article a word takes, decided by how the word is read aloud.

A grammar fact, not a stage: the renderer (``schemas.grammar``), the lint and
the parser-based grammar check (``validation``) all decide "a"/"an" here, so
what is rendered and what is checked can never disagree.

How a word is read:

* an initialism is read letter by letter, so the *name* of its first letter
  decides: F, H, L, M, N, R, S, X and the vowels A, E, I, O are named with a
  vowel sound ("an FBI agent", "an MBA", "an SUV", "an NRA member", "an LGBTQ
  person", "an F2M person", "an FoC person"); U is named "you" ("a UN
  resolution", "a US citizen"). Initialisms are all-capital words, words of
  capitals and digits ("F2M"), and capitals with single small letters between
  them ("FoC", "PhD");
* an all-capital word that can be spoken as a word is read as one, by its
  spelling ("a NATO summit", "a NASA engineer", "a MAGA hat", "a SWAT team");
  a few common ones are listed because the spelling test cannot tell;
* a number is read as a number: "an 8", "an 11", "an 18-year-old",
  "an 80-year-old", "an 800", "an 11,000", "a 1", "a 100-year-old";
* otherwise the spelling: a vowel letter that sounds like "you" or "w" takes
  "a" ("a European", "a unicorn", "a one-off"), a silent h takes "an" ("an hour").

Exceptions go in a spec's ``article_overrides`` (first word → article).

>>> [indefinite_article(w) for w in ("FTM", "F2M", "UN", "NATO", "18-year-old", "1", "European", "hour")]
['an', 'an', 'a', 'a', 'an', 'a', 'a', 'an']
"""

from __future__ import annotations

import re
from typing import Mapping

# Letters whose English names begin with a vowel sound: "an F", "an M", "an X".
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")
# Vowel-initial words that start with a consonant sound ("a European", "a one-off").
_CONSONANT_SOUND_PREFIXES = (
    "eu", "ewe", "one", "once", "uni", "unanim", "use", "usu", "uti", "ure", "uri", "uro", "uga", "ukr",
    "ubiq", "utop", "ufo", "u-", "uk-", "us-",
)
# Consonant-initial words with a silent h.
_SILENT_H_PREFIXES = ("hour", "honest", "honor", "honour", "heir")
# All-capital words whose reading the spelling test below gets wrong or cannot decide.
_ALL_CAPS_READING = {
    "NASA": "a", "NATO": "a", "UNICEF": "a", "UNESCO": "a", "AIDS": "an", "OPEC": "an", "NIMBY": "a",
    "HUD": "a", "SIM": "a", "MRSA": "a", "UCLA": "a", "USA": "a", "UAE": "a",
}
# Spoken as a word: vowels and consonant clusters English can pronounce.
_ONSETS = frozenset("BL BR CH CL CR DR FL FR GL GR KN PH PL PR QU SC SH SK SL SM SN SP ST SW TH TR TW WH WR".split())
_CODAS = frozenset(("CH CK CT FT LD LF LK LL LM LP LT MB MP ND NG NK NT PH PT RB RC RD RF RG RK RL RM RN RP RS RT "
                    "SH SK SP SS ST TH TS").split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
_HYPHENATED = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def override_words(text: str) -> set[str]:
    """The words of ``text`` an ``article_overrides`` key can name: each word, and each hyphenated token whole.

    >>> sorted(override_words("a unicorn-loving FTM friend"))
    ['FTM', 'a', 'friend', 'loving', 'unicorn', 'unicorn-loving']
    """
    words = set(_WORD.findall(text))
    words.update(t.rstrip("-") for t in _HYPHENATED.findall(text) if "-" in t)
    words.update(re.match(r"[A-Za-z0-9]+", w).group(0) for w in list(words))
    return words


def unused_overrides(overrides, texts) -> list[str]:
    """The keys of ``overrides`` that name no word of ``texts`` (case-sensitive, or lower-case): typos.

    >>> unused_overrides({"unicorn-loving": "an", "FTM": "an", "hr": "an"}, ["a unicorn-loving FTM"])
    ['hr']
    """
    words: set[str] = set()
    for text in texts:
        words |= override_words(text)
    lowered = {w.lower() for w in words}
    return sorted(k for k in overrides if k not in words and k.lower() not in lowered)
# Capitals and digits, optionally one small letter between capitals: read letter by letter
_INITIALISM = re.compile(r"(?:[A-Z][0-9]*[a-z]?)*[A-Z][0-9]*[a-z]?")
# How the first digits of a number are read: "eight …", "eleven …", "eighteen …" take "an".
_ONES_AN = ("8",)
_TEENS_AN = ("11", "18")


def _speakable(word: str) -> bool:
    """Whether an all-capital word can be read as a word ("NASA", "SWAT", not "NAACP", "LGBTQ", "NYPD")."""
    if len(word) < 4:
        return False  # three capitals are almost always letters: "FBI", "NRA", "SUV"
    runs = re.findall(r"[AEIOU]+|Y(?=[^AEIOU]|$)|[^AEIOU]+", word)
    # a Y is a vowel after a consonant ("NIMBY"), a consonant before a vowel or at the start
    vowels = [i for i, r in enumerate(runs) if r[0] in "AEIOU" or (r == "Y" and i > 0)]
    if not vowels:
        return False
    for i, run in enumerate(runs):
        if i in vowels or len(run) == 1:
            continue
        if len(run) > 2 or (i == 0 and run not in _ONSETS) or (i == len(runs) - 1 and run not in _CODAS):
            return False
    return True


def _number_article(digits: str) -> str:
    """By how the number is read: groups of three digits; the leading group decides."""
    lead = digits[: len(digits) % 3 or 3]
    if lead.startswith(_ONES_AN) or (len(lead) == 2 and lead in _TEENS_AN):
        return "an"
    return "a"


def indefinite_article(phrase: str, overrides: Mapping[str, str] | None = None) -> str:
    """Return "a" or "an" for the phrase that follows the article.

    ``overrides`` maps a first word (case-sensitive, then lower-case) to its article.
    """
    m = _WORD.search(phrase)
    if not m:
        return "a"
    word = m.group(0)
    # an override may name a hyphenated first word ("unicorn-loving: an"): the whole token first
    hyphenated = _HYPHENATED.match(phrase, m.start()).group(0).rstrip("-")
    for table in (overrides or {}), _ALL_CAPS_READING:
        for key in dict.fromkeys((hyphenated, word)):
            if key in table:
                return table[key]
            if key.lower() in table:
                return table[key.lower()]
    if word[0].isdigit():
        digits = re.match(r"[\d,]+", word).group(0).replace(",", "")
        return _number_article(digits)
    head = re.match(r"[A-Za-z0-9]+", word).group(0)  # "US-born", "FTM's" -> "US", "FTM"
    if head.isupper() and head.isalpha() and len(head) >= 2:
        if head[0] == "U":  # the letter "you" or a word read "you…" ("a UN", "a USDA", "a UNIX")
            return "a"
        if _speakable(head):
            return _by_spelling(head.lower())
    if _INITIALISM.fullmatch(head) and sum(c.isupper() for c in head) + sum(c.isdigit() for c in head) >= 2 \
            or (len(head) == 1 and head.isupper()):
        return "an" if head[0] in _VOWEL_SOUND_LETTERS else "a"
    return _by_spelling(word.lower())


def _by_spelling(lower: str) -> str:
    if lower.startswith(_SILENT_H_PREFIXES):
        return "an"
    if lower[0] in "aeiou":
        return "a" if lower.startswith(_CONSONANT_SOUND_PREFIXES) else "an"
    return "a"
