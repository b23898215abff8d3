"""Word lists that mark a person, and the person rule of the prefilter (``transforms.prefilter``).

:func:`may_mention_person` is a word-by-word pass that runs before spaCy: a record can
yield a template only if one of its texts holds a capitalised first name from
the gazetteer, a gendered title ("Mrs.") or a determiner and a singular person
noun ("a man", "the girl"). Every slotted person starts from one of those (a
pronoun is slotted only when one of them comes first), so it never drops a
record the extractor would keep; the ``prefilter`` benchmark checks that on
real corpora.

>>> may_mention_person(["The soup was cold."]), may_mention_person(["Mary sang."]), may_mention_person(["A man ran"])
(False, True, True)
>>> may_mention_person(["He ran with men."])
False
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Iterable

# shipped data lives under configs/data (installed beside this package, so the path holds in the sdist too)
GAZETTEER_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "configs", "data", "lexicons", "name_gazetteer.tsv")

# gendered third-person singular pronouns -> (gender, case); "her"/"his" are split by the parse
PRONOUNS = {
    "he": ("m", "subj"), "him": ("m", "obj"), "his": ("m", "poss"), "himself": ("m", "refl"),
    "she": ("f", "subj"), "her": ("f", "obj"), "hers": ("f", "poss_pron"), "herself": ("f", "refl"),
}

# singular nouns that name a person by gender and age and nothing else: a noun phrase made of a
# determiner and one of these is a mention a name can replace ("a man" -> "Alex")
PERSON_NOUNS = {
    "man": "m", "guy": "m", "gentleman": "m", "boy": "m",
    "woman": "f", "lady": "f", "girl": "f",
    "person": "u", "child": "u", "kid": "u", "toddler": "u", "teenager": "u", "teen": "u",
    "individual": "u", "adult": "u",
}
# which person nouns can be said of the same one: a later "the person" or "the child" may take up "a boy"
AGE_CLASS = {"man": "adult", "guy": "adult", "gentleman": "adult", "woman": "adult", "lady": "adult",
             "adult": "adult", "boy": "young", "girl": "young", "child": "young", "kid": "young",
             "toddler": "young", "teenager": "young", "teen": "young"}

# other singular nouns for a person: never slotted, but a pronoun may refer to one of them, so
# they make a pronoun ambiguous (the list is of the roles common in captions, news and stories)
ROLE_NOUNS = frozenset("""
    actor actress artist athlete author baby bartender biker boyfriend bride brother businessman businesswoman
    captain cashier chairman chef clerk coach cook cop cowboy customer cyclist dad daughter dancer doctor driver drummer
    employee farmer father fighter firefighter fireman friend girlfriend golfer grandfather grandmother grandma
    grandpa groom guard guitarist gymnast hiker husband infant journalist judge king lawyer leader lifeguard mother
    mom musician neighbor neighbour nurse officer owner painter parent partner passenger patient performer
    photographer pilot player police policeman policewoman politician president priest prince princess professor
    queen rider runner sailor scientist senator singer sister skater skateboarder skier soldier son spectator
    stranger student surfer trainer swimmer teacher tourist vendor victim waiter waitress wife worker wrestler writer
    """.split())
# gendered nouns that, when they describe a slotted person, become a male/female/neutral choice slot
GENDERED_NOUN_SLOTS = {
    "boy": "boy/girl/kid", "girl": "boy/girl/kid", "man": "man/woman/person", "woman": "man/woman/person",
    "guy": "guy/woman/person", "lady": "gentleman/lady/person", "gentleman": "gentleman/lady/person",
    "father": "father/mother/parent", "mother": "father/mother/parent", "dad": "dad/mom/parent",
    "mom": "dad/mom/parent", "son": "son/daughter/child", "daughter": "son/daughter/child",
    "brother": "brother/sister/sibling", "sister": "brother/sister/sibling",
    "husband": "husband/wife/spouse", "wife": "husband/wife/spouse",
    "boyfriend": "boyfriend/girlfriend/partner", "girlfriend": "boyfriend/girlfriend/partner",
    "king": "king/queen/monarch", "queen": "king/queen/monarch",
    "grandfather": "grandfather/grandmother/grandparent", "grandmother": "grandfather/grandmother/grandparent",
    "actor": "actor/actress/actor", "actress": "actor/actress/actor",
    "waiter": "waiter/waitress/server", "waitress": "waiter/waitress/server",
    "businessman": "businessman/businesswoman/businessperson",
    "businesswoman": "businessman/businesswoman/businessperson",
}
# kinship words written as names ("Dad said", "Papa looked"): people, never slotted
KINSHIP_NAMES = {"dad": "m", "daddy": "m", "papa": "m", "pa": "m", "grandpa": "m", "mom": "f", "mum": "f",
                 "mommy": "f", "mama": "f", "ma": "f", "grandma": "f", "granny": "f"}

# titles taken into a name mention (they fix a gender the slot cannot keep) and titles that are never people
GENDERED_TITLES = {"mr": "m", "mister": "m", "sir": "m", "lord": "m", "mrs": "f", "ms": "f", "miss": "f",
                   "madam": "f", "lady": "f", "mx": "u"}
NON_PERSON_TITLES = {"st", "saint", "ste", "san", "santa", "fort", "mount", "mt", "lake", "port", "cape"}

# capitalised words that are first names in the gazetteer but mostly something else when spaCy has not
# called them a PERSON (months, virtues, common nouns)
_AMBIGUOUS_NAMES = frozenset("""
    will may june april august summer autumn winter hope grace faith joy rose lily ivy holly dawn
    guy bill art mark pat sky river rain storm star king major jack rich don bob ray sunny page
    chase hunter mason cash price duke earl angel bishop dean victory royal ace lane reed
    """.split())


class Gazetteer(dict):
    """First name -> the gender it signals (``m``, ``f``, ``u``); ``core``: the names of the US, UK,
    Canadian and Australian lists (the world-wide table adds rarer names, trusted only where spaCy
    itself calls the words a PERSON)."""

    def __init__(self, genders: dict[str, str], core: frozenset[str]):
        super().__init__(genders)
        self.core = core


@lru_cache(maxsize=4)
def load_gazetteer(path: str = GAZETTEER_PATH) -> Gazetteer:
    genders: dict[str, str] = {}
    core = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, gender, *where = line.rstrip("\n").split("\t")
            genders[name] = gender
            if not where or where[0] == "core":
                core.add(name)
    return Gazetteer(genders, frozenset(core))


def is_ambiguous_name(word: str) -> bool:
    return word.lower() in _AMBIGUOUS_NAMES


# words with their hyphens, in any script ("André", "Mary-Jane"), and the letter runs inside them
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")
_PIECE = re.compile(r"[^\W\d_]+")
_POSSESSIVE = re.compile(r"['’]")
_DETERMINERS = ("a", "an", "the", "this", "that", "one")


def _words(text: str) -> list[str]:
    """The words of ``text`` for name lookups: each word, then the parts a hyphen or apostrophe splits it into
    (the parser splits "Mary-Jane" into "Mary", "-", "Jane" and a name may start with either part)."""
    out = []
    for word in _WORD.findall(text or ""):
        out.append(word)
        parts = _PIECE.findall(word)
        if len(parts) > 1:
            out.extend(parts)
    return out


def may_mention_person(texts: Iterable[str], path: str = GAZETTEER_PATH) -> bool:
    """Whether any text holds what a slotted person starts from: a capitalised gazetteer name, a
    gendered title (before a capitalised word when written in lower case: "mr Carter"), or a
    determiner right before a singular person noun ("a man", "the person's"). One set lookup per
    word, no model. (A pronoun alone never makes a template: it needs one of those before it.)"""
    return any(_text_may_mention_person(text or "", path) for text in texts)


@lru_cache(maxsize=4096)  # a passage comes again with each question exploded from it: judged once
def _text_may_mention_person(text: str, path: str) -> bool:
    names = load_gazetteer(path)
    words = _WORD.findall(text)
    prev = ""
    for i, word in enumerate(words):
        forms = [word] + _PIECE.findall(word)
        if any(f[0].isupper() and f in names for f in forms):
            return True
        if any(f.lower() in GENDERED_TITLES for f in forms) and \
                (word[0].isupper() or (i + 1 < len(words) and words[i + 1][0].isupper())):
            return True
        base = _POSSESSIVE.split(word)[0].lower()  # "person's" -> "person"
        if base in PERSON_NOUNS and prev in _DETERMINERS:
            return True
        prev = base
    return False


@lru_cache(maxsize=4096)
def has_person_cue(text: str, path: str = GAZETTEER_PATH) -> bool:
    """Whether one text holds anything a mention could be: a word that is a first name in any case
    ("john" in a lower-case answer), a gendered title, a person noun or a gendered pronoun. A text
    without one (an NLI label, "bathroom") needs no parse: it can hold no mention."""
    names = load_gazetteer(path)
    for word in _words(text):
        low = word.lower()
        if low in PRONOUNS or low in PERSON_NOUNS or low in GENDERED_TITLES or low in ROLE_NOUNS \
                or word in names or word.capitalize() in names:
            return True
    return False
