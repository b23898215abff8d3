"""BBQ's pairing design: who fills ``{person}`` and ``{person2}`` in each BBQ template.

BBQ (Parrish et al., 2022) pairs two people per template by rules that depend on the
category and the template's columns (read by ``transforms.importers.bbq`` into metadata):

- NAME1 comes from the template's ``Names`` list, else the category's vocabulary (only the
  stereotyped groups for Race_ethnicity, Religion, Nationality and Sexual_orientation; the
  subcategory's words where one is given), else proper names (``Proper_nouns_only``: first
  names of the stereotyped ethnicities with a last name of the same ethnicity, female names
  for Gender_identity, ethnically unmarked names elsewhere); lists longer than 4–6 are
  downsampled.
- NAME2 ranges over the other side: the non-stereotyped groups, the other SES level, a name
  of the other gender, a name of a non-stereotyped ethnicity with a matching last name, or
  the rest of NAME1's list.
- Race_ethnicity, Religion, Nationality, Sexual_orientation, proper-name templates and SES
  occupation templates are also generated with the two people swapped.
- Race_x_gender / Race_x_SES cross race with gender or SES three ways (a: same race, other
  gender/SES; b: other race, same gender/SES; c: both differ), each also swapped.

The counts per template are BBQ's exactly; every draw BBQ made with an unseeded ``random``
(downsampling, last names, ``{{WORD}}`` choices, SES words) comes here from an RNG seeded by
``(seed, category, the template's CSV line)``, so a template's pairs never depend on other
templates, on the order of work, or on the process.

Each :class:`PairItem` is one (NAME1, NAME2) assignment; ``transforms.four_way`` renders it
into four rows.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from schemas.ids import stable_seed
from schemas.records import LexiconEntry, Template

#: categories whose NAME1 is drawn from the stereotyped groups and whose pairs are also swapped
SWAPPED = ("Race_ethnicity", "Religion", "Nationality", "Sexual_orientation")
_OTHER = {"M": "F", "F": "M", "lowSES": "highSES", "highSES": "lowSES"}


@dataclass(frozen=True)
class Person:
    value: str  # what fills {person}: a vocabulary word or a full name
    info: str  # BBQ's NAMEn_info for it (a group label, gender-ethnicity, or the word itself)
    gen: str | None = None  # the intersectional {{GEN}}/{{OCC}} word, None elsewhere

    @property
    def key(self) -> tuple:
        return (self.value, self.gen)


@dataclass(frozen=True)
class PairItem:
    """One pair of people in their roles, and the words of the template's lexical-diversity slots."""

    person: Person
    person2: Person
    word1: str | None  # None: the template has no lexical-diversity list (the slot stays as written)
    word2: str | None
    subcategory: str
    swapped: bool  # the second order of a pair BBQ generates in both orders

    @property
    def pair_key(self) -> tuple:
        """The same for a pair and its swap: the two people without their roles."""
        return tuple(sorted([self.person.key, self.person2.key], key=repr)) + (self.word1, self.word2,
                                                                                  self.subcategory)


def word_lists(text: str) -> tuple[list[str], list[str] | None]:
    """``WORD1: [a, b]; WORD2: [c, d]`` (or NAME1/NAME2) → (['a', 'b'], ['c', 'd']).

    As BBQ reads it: the second list counts only when the last ``;`` part names it.

    >>> word_lists("WORD1: [a, b]; WORD2: [c, d]")
    (['a', 'b'], ['c', 'd'])
    >>> word_lists("NAME1: [x]; NAME2: [deaf; hard of hearing]")
    (['x'], None)
    """
    first: list[str] = []
    second: list[str] | None = None
    for part in text.split(";"):
        body = part
        for tag in ("{{WORD1}}:", "WORD1:", "{{NAME1}}:", "NAME1:", "{{WORD2}}:", "WORD2:", "{{NAME2}}:", "NAME2:"):
            body = body.replace(tag, "")
        items = [w.strip() for w in body.strip().replace("[", "").replace("]", "").split(",")]
        if "WORD1" in part or "NAME1" in part:
            first = items
        second = items if ("WORD2" in part or "NAME2" in part) else None
    return first, second


def _unique(values) -> list:
    return list(dict.fromkeys(values))


class _Names:
    """BBQ's proper-name table, indexed once per build."""

    def __init__(self, entries: Sequence[LexiconEntry]):
        self.first = [e for e in entries if e.axis == "first"]
        self.first_only = [e for e in entries if e.axis == "first_only"]
        self.last = [e for e in entries if e.axis == "last"]
        self._last_by_ethnicity: dict[str, list[str]] = {}

    @staticmethod
    def eth(e: LexiconEntry) -> str:
        return e.features.get("ethnicity", "")

    @staticmethod
    def gender(e: LexiconEntry) -> str:
        return e.features.get("gender", "")

    def last_names(self, ethnicity: str) -> list[str]:
        cache = self._last_by_ethnicity
        if ethnicity not in cache:
            cache[ethnicity] = _unique(e.value for e in self.last if self.eth(e) == ethnicity)
        return cache[ethnicity]


class BBQPairing:
    """The pairs of every BBQ template, from the vocabulary and proper-name lexicons."""

    def __init__(self, vocabulary: Sequence[LexiconEntry], names: Sequence[LexiconEntry], seed: int):
        self.vocab = list(vocabulary)
        self.names = _Names(names)
        self.seed = seed
        self._info = {}
        for e in self.vocab:  # BBQ looks a word's Info up in the whole vocabulary: first row wins
            self._info.setdefault(e.value, e.features.get("info", ""))

    def rng(self, template: Template) -> random.Random:
        md = template.metadata
        return random.Random(stable_seed(self.seed, "bbq-pairs", md["category"], template.source_record_id))

    def items(self, template: Template) -> list[PairItem]:
        cat = template.metadata["category"]
        if cat in ("Race_x_gender", "Race_x_SES"):
            return self._intersectional(template, cat, self.rng(template))
        return self._single(template, cat, self.rng(template))

    # -- shared pieces -------------------------------------------------------------------------
    @staticmethod
    def _words(template: Template, rng: random.Random) -> tuple[str | None, str | None]:
        lex = template.metadata.get("lexical_diversity", "")
        if len(lex) <= 1:
            return None, None
        first, second = word_lists(lex)
        return rng.choice(first), (rng.choice(second) if second and len(second) > 1 else "")

    def _full_name(self, first: LexiconEntry, rng: random.Random) -> tuple[str, str]:
        eth = _Names.eth(first)
        return f"{first.value} {rng.choice(self.names.last_names(eth))}", f"{_Names.gender(first)}-{eth}"

    # -- the nine single-attribute categories --------------------------------------------------
    def _single(self, t: Template, cat: str, rng: random.Random) -> list[PairItem]:
        md = t.metadata
        columns = md.get("bbq_columns", "").split(",")
        words = [e for e in self.vocab if e.axis == cat]
        possible = _unique(e.value for e in words)
        raw = md["stereotyped_groups"]
        targets = ast.literal_eval(raw) if raw else []
        targeted = [x for x in possible if x in targets] if (len(raw) > 1 and cat in SWAPPED) else possible
        if len(targeted) > 4:
            firsts = rng.sample(targeted, 5)
        elif len(possible) < 2:
            firsts = []
        else:
            firsts = targeted
        proper = md.get("proper_nouns_only") == "TRUE"
        subcat = "None"
        if "Subcategory" in columns and len(md.get("subcategory", "")) > 1:
            subcat = md["subcategory"]
            words = [e for e in words if e.features.get("subcategory", "") == subcat]
            firsts = _unique(e.value for e in words)
            if len(firsts) > 5:
                firsts = rng.sample(firsts, 5)
        names_col = md.get("names", "")
        names_given = len(names_col) > 1
        seconds_given: list[str] = []
        if names_given:  # a second list the last ';' part does not name is empty (BBQ's reading)
            firsts, second_list = word_lists(names_col)
            seconds_given = second_list or []
        pool: list[LexiconEntry] = []
        if proper:
            if cat == "Race_ethnicity":
                pool = [e for e in self.names.first if _Names.eth(e) in targets] if targets else self.names.first
                firsts = rng.sample([e.value for e in pool], 5)
            elif cat == "Gender_identity":
                pool = self.names.first_only
                firsts = rng.sample([e.value for e in pool if _Names.gender(e) == "F"], 5)
            else:
                pool = self.names.first_only
                firsts = rng.sample([e.value for e in pool], 6)
        swapped_too = cat in SWAPPED or proper or (cat == "SES" and subcat == "Occupation")
        out: list[PairItem] = []
        for first in firsts:
            info1: str | None = None
            seconds = seconds_given
            info2_of: dict[str, str] = {}
            if not names_given:
                if targets and cat in SWAPPED:
                    seconds = [n for n in possible if n not in targets]
                    if len(seconds) > 4:
                        seconds = rng.sample(seconds, 5)
                else:
                    seconds = [n for n in firsts if n != first]
                if cat == "SES" and not proper:
                    info1 = next(e.features.get("info", "") for e in words if e.value == first)
                    seconds = _unique(e.value for e in words if e.features.get("info", "") != info1)
                if cat == "Gender_identity" and proper:
                    info1 = next(_Names.gender(e) for e in pool if e.value == first)
                    seconds = rng.sample(_unique(e.value for e in pool if _Names.gender(e) != info1), 5)
                if cat == "Race_ethnicity" and proper:
                    me = next(e for e in pool if e.value == first)
                    first, info1 = self._full_name(me, rng)
                    others = rng.sample([e for e in self.names.first if _Names.eth(e) not in targets
                                         and _Names.gender(e) == _Names.gender(me)], 5)
                    seconds = []
                    for o in others:
                        name, info = self._full_name(o, rng)
                        seconds.append(name)
                        info2_of[name] = info
            for k, second in enumerate(seconds):
                w1, w2 = self._words(t, rng)
                if cat == "Race_ethnicity" and proper:
                    info2 = info2_of[second]
                elif cat == "Gender_identity" and proper:
                    info2 = next((_Names.gender(e) for e in pool if e.value == second), second)
                    if md.get("name1_info"):
                        if k == 0:  # BBQ prefixes NAME1's info once per NAME1, at its first pair
                            info1 = f"{md['name1_info']}_{info1}"
                        info2 = f"{md['name2_info']}_{info2}"
                elif cat == "Nationality" or (cat == "SES" and subcat == "Occupation"):
                    info1, info2 = self._info.get(first, ""), self._info.get(second, "")
                elif "NAME1_info" in columns and md.get("name1_info"):
                    info1, info2 = md["name1_info"], md["name2_info"]
                else:
                    info1, info2 = first, second
                p1, p2 = Person(first, info1), Person(second, info2)
                out.append(PairItem(p1, p2, w1, w2, subcat, False))
                if swapped_too:
                    out.append(PairItem(p2, p1, w1, w2, subcat, True))
        return out

    # -- Race_x_gender, Race_x_SES ---------------------------------------------------------------
    def _intersectional(self, t: Template, cat: str, rng: random.Random) -> list[PairItem]:
        md = t.metadata
        possible = _unique(e.value for e in self.vocab if e.axis == "Race_ethnicity")
        ses = [e for e in self.vocab if e.axis == "SES"]
        raw = md["stereotyped_groups"]
        targets = ast.literal_eval(raw) if raw else []
        targeted = [x for x in possible if x in targets] if raw else possible
        firsts = rng.sample(targeted, 5) if len(targeted) > 4 else targeted
        proper = md.get("proper_nouns_only") == "TRUE"
        target2 = md["stereotyped_var2"]
        other2 = _OTHER.get(target2, "")
        names_col = md.get("names", "")
        given = names_col != "" or (cat == "Race_x_gender" and not proper)
        if given:
            words2, infos2 = ast.literal_eval(names_col), ast.literal_eval(md["var2_info"])
            at = infos2.index(target2)
            gs_fixed, non_gs_fixed = words2[at], words2[1 - at]
            if isinstance(gs_fixed, list):  # a list of words per side: BBQ draws once per template
                gs_fixed, non_gs_fixed = rng.choice(gs_fixed), rng.choice(non_gs_fixed)
        ses_target = _unique(e.value for e in ses if e.features.get("info", "") == target2)
        ses_other = _unique(e.value for e in ses if e.features.get("info", "") != target2)
        pool: list[LexiconEntry] = []
        if proper:
            pool = [e for e in self.names.first if _Names.eth(e) in targets]
            if cat == "Race_x_gender":
                pool = [e for e in pool if _Names.gender(e) == target2]
            if cat == "Race_x_SES" and md.get("stated_gender_info"):
                pool = [e for e in pool if _Names.gender(e) == md["stated_gender_info"]]
            firsts = rng.sample([e.value for e in pool], 5)
        subs = ("intersectional_a", "intersectional_b", "intersectional_c")
        out: list[PairItem] = []
        for first_name in firsts:
            seconds: list = rng.sample([n for n in possible if n not in firsts], 5)
            first, info1_static = first_name, None
            if proper:
                me = next(e for e in pool if e.value == first_name)
                first, info1_static = self._full_name(me, rng)
                gender, eth = _Names.gender(me), _Names.eth(me)
                if cat == "Race_x_SES":
                    diff = rng.sample([e for e in self.names.first if _Names.eth(e) not in targets
                                       and _Names.gender(e) == gender], 5)
                    same = rng.sample([e for e in self.names.first if _Names.eth(e) == eth
                                       and _Names.gender(e) == gender and e.value != first_name], 5)
                    seconds = [[self._full_name(s, rng), self._full_name(d, rng)] for s, d in zip(same, diff)]
                else:
                    a = rng.sample([e for e in self.names.first if _Names.eth(e) == eth
                                    and _Names.gender(e) != gender], 5)
                    b = rng.sample([e for e in self.names.first if _Names.eth(e) != eth
                                    and _Names.gender(e) == gender], 5)
                    c = rng.sample([e for e in self.names.first if _Names.eth(e) != eth
                                    and _Names.gender(e) != gender], 5)
                    seconds = [[self._full_name(x, rng), self._full_name(y, rng), self._full_name(z, rng)]
                               for x, y, z in zip(a, b, c)]
            for second in seconds:
                if given:
                    gs, non_gs = gs_fixed, non_gs_fixed
                elif ses_target and ses_other:  # Race_x_SES: a fresh pair of SES words for every NAME2
                    gs, non_gs = rng.choice(ses_target), rng.choice(ses_other)
                else:  # proper names by gender: no second attribute is written
                    gs = non_gs = None
                w1, w2 = self._words(t, rng)
                if not proper:
                    me = Person(first, f"{target2}-{first}", gs)
                    others = [Person(first, f"{other2}-{first}", non_gs), Person(second, f"{target2}-{second}", gs),
                              Person(second, f"{other2}-{second}", non_gs)]
                elif cat == "Race_x_gender":
                    me = Person(first, info1_static)
                    others = [Person(name, info) for name, info in second]
                else:
                    (n_same, i_same), (n_diff, i_diff) = second
                    me = Person(first, f"{target2}-{info1_static}", gs)
                    others = [Person(n_same, f"{other2}-{i_same}", non_gs), Person(n_diff, f"{target2}-{i_diff}", gs),
                              Person(n_diff, f"{other2}-{i_diff}", non_gs)]
                out += [PairItem(me, o, w1, w2, sub, False) for o, sub in zip(others, subs)]
                out += [PairItem(o, me, w1, w2, sub, True) for o, sub in zip(others, subs)]
        return out


_GENDER_WORDS = {"man": "m", "men": "m", "boy": "m", "boys": "m", "male": "m",
                 "woman": "f", "women": "f", "girl": "f", "girls": "f", "female": "f"}


@lru_cache(maxsize=65536)
def _norm(label: str) -> str:
    label = " ".join(label.lower().split())
    return _GENDER_WORDS.get(label, label.replace("low ses", "lowses").replace("high ses", "highses"))


@lru_cache(maxsize=65536)
def _labels(person: Person) -> frozenset[str]:
    """What a person can be recognised as: the filler, its info and the info's parts (``F-Black`` → f, black;
    the filler is never split: "22-year-old" is not "old")."""
    parts = {_norm(person.value)} | ({_norm(person.gen)} if person.gen else set())
    info = person.info or ""
    parts.add(_norm(info))
    parts.update(_norm(p) for p in info.replace("_", "-").split("-") if p.strip())
    return frozenset(parts)


@lru_cache(maxsize=4096)
def _target_groups(raw: str) -> frozenset[str]:
    return frozenset(_norm(str(g)) for g in (ast.literal_eval(raw) if raw else []))


def target_role(item: PairItem, template: Template) -> str:
    """``person`` or ``person2``: who in the pair belongs to the template's stereotyped group(s); ``""``
    when neither or both do. Intersectional templates need the race and the gender/SES target."""
    md = template.metadata
    groups = _target_groups(md.get("stereotyped_groups", ""))
    second = _norm(md["stereotyped_var2"]) if md.get("category") in ("Race_x_gender", "Race_x_SES") else ""

    def is_target(p: Person) -> bool:
        labels = _labels(p)
        return bool(groups & labels) and (not second or second in labels)

    one, two = is_target(item.person), is_target(item.person2)
    return "person" if one and not two else "person2" if two and not one else ""


def group_of(item: PairItem) -> str:
    """A row's ``group``: its first person's BBQ info label (the filler itself where BBQ has none), lower-case."""
    return (item.person.info or item.person.value).strip().lower()
