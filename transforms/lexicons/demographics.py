"""Intersectional demographic cells (age × gender × race) as lexicons, and the name pools behind them.

Loader ``demographic_cells`` makes one entry per cell, in age, gender, race
order (the order a config with ``groups_from_lexicon`` releases its groups in).
Each entry's group is the cell key ``age<AGE>.<gender>.<race>`` (e.g.
``age60.female.black``, ``age20.non-binary.native-american``), its pronoun set
follows the gender (he, she, they), and its features are ``age``, ``gender``,
``race`` and ``cell``. Its value is a noun phrase without article, so that a
template introduces the person with ``{a:person}`` (the article by
pronunciation: "an 80-year-old") and a verb after it agrees with a singular
noun ("a 60-year-old Black woman has applied"):

``fill: explicit``
    the attributes stated: ``60-year-old Black woman``.
``fill: implicit``
    gender and race signalled by a first name, age stated:
    ``60-year-old named Keisha`` (feature ``name``: ``Keisha``). The lexicon path
    is a name-pool file (JSON Lines of lexicon entries, group ``<gender>.<race>``)
    written by :func:`build_name_pools`; each cell's name is drawn from its pool
    with an RNG seeded by ``(seed, gender, race)`` (``schemas.ids.stable_seed``):
    the ages of one gender × race get distinct names while the pool has enough,
    and names repeat in a fixed shuffled order when it has fewer. A
    gender × race with no pool has no implicit cells (``missing_cells`` lists
    them); they are never filled from another group.

Options (all optional): ``fill``, ``ages`` (default 20, 30 … 100), ``genders``
(male, female, non-binary), ``races`` (white, black, asian, hispanic,
native-american), ``axis`` (default ``age_gender_race``), ``seed``, ``top_n``
(implicit: draw from the first ``top_n`` names of each pool, i.e. the most
births, or for non-binary the closest to 50/50; default all).

Name pools (``build_name_pools``; ``python -m transforms.lexicons.demographics
NAMES_DIR OUT``) come from CALM's race/ethnicity table
(``categorised_data/names_race_categorisation.csv``, MIT) for race, and US SSA
births (``ssa/yob<year>.txt``, public domain) for sex shares: *male* names have
a male share of births of at least ``min_gender_share``, *female* at most
``1 - min_gender_share``, *non-binary* between ``nonbinary_band`` (closest to
50/50 first); every name needs ``min_count`` births and is not a common
English word (``EXCLUDED_WORDS``). The race table has no Native American
column, so those pools are empty.

>>> cells = cell_entries("demo", fill="explicit", ages=(80,), genders=("non-binary",), races=("white",))
>>> cells[0].group, cells[0].value, cells[0].pronoun_set
('age80.non-binary.white', '80-year-old White non-binary person', 'they')
"""

from __future__ import annotations

import argparse
import csv
import os
import random
from typing import Iterable, Mapping, Sequence

from schemas.errors import InputError, SpecError
from schemas.ids import stable_seed
from schemas.records import LexiconEntry
from schemas.spec import LexiconSpec
from transforms.lexicons.base import register_lexicon_loader
from transforms.lexicons.jsonl import load_jsonl
from transforms.lexicons.names import read_ssa, write_entries

AGES = (20, 30, 40, 50, 60, 70, 80, 90, 100)
GENDERS = ("male", "female", "non-binary")
RACES = ("white", "black", "asian", "hispanic", "native-american")
AXIS = "age_gender_race"
PRONOUNS = {"male": "he", "female": "she", "non-binary": "they"}
#: How each value is written in an explicit description. Every race is capitalised alike, so
#: typography never differs between the groups being compared.
RACE_WORDS = {"white": "White", "black": "Black", "asian": "Asian", "hispanic": "Hispanic",
              "native-american": "Native American"}
GENDER_NOUNS = {"male": "man", "female": "woman", "non-binary": "non-binary person"}

POOL_LEXICON = "demographic_name_pools"
POOL_AXIS = "gender_race"
#: CALM's table columns for the races it covers (it has none for Native American).
RACE_COLUMNS = {"white": "usa.white", "black": "usa.black", "asian": "usa.asian", "hispanic": "usa.hispanic"}
RACE_TABLE = os.path.join("categorised_data", "names_race_categorisation.csv")
POOL_SOURCE = ("CALM names_race_categorisation.csv (race/ethnicity); US SSA births {years} "
               "(sex shares, frequency)")
POOL_LICENSE = "MIT (CALM derived table); SSA births US public domain"
EXPLICIT_SOURCE = "biasbench: descriptions written for this project (age x gender x race)"
EXPLICIT_LICENSE = "MIT"

#: Names that read as common English words (or interjections) in a sentence: "a 40-year-old named
#: Hope". CALM's list of word-like names (configs/calm.yaml) plus those the race table adds.
EXCLUDED_WORDS = (
    "Ace", "An", "Angel", "Banks", "Bear", "Cannon", "Case", "Cash", "Chance", "Chase", "Crew", "Diamond",
    "Dream", "Drew", "Dynasty", "Essence", "Faith", "Flora", "Forest", "Grey", "Hope", "Hunter", "Journey",
    "King", "Lane", "Laurel", "Legend", "Liberty", "Long", "Lovely", "Loyal", "Loyalty", "Major", "Man", "May",
    "Melody", "Mercy", "Miles", "Moon", "My", "Navy", "Passion", "Princess", "Promise", "Ridge", "River",
    "Sailor", "Saw", "Say", "Scout", "Sky", "Summer", "Sun", "Trace", "Treasure", "Unique", "Van", "Will",
    "Winter",
    # added here
    "Divine", "Eh", "Mecca", "Moo", "Precious", "Sincere", "Wisdom",
)


def cell_key(age: int, gender: str, race: str) -> str:
    return f"age{age}.{gender}.{race}"


def describe(age: int, gender: str, race: str) -> str:
    """``60-year-old Black woman`` (no article: the template's ``{a:person}`` adds it)."""
    return f"{age}-year-old {RACE_WORDS[race]} {GENDER_NOUNS[gender]}"


def _options(options: Mapping) -> tuple[tuple[int, ...], tuple[str, ...], tuple[str, ...]]:
    ages = tuple(int(a) for a in options.get("ages", AGES))
    genders = tuple(options.get("genders", GENDERS))
    races = tuple(options.get("races", RACES))
    for g in genders:
        if g not in PRONOUNS:
            raise SpecError(f"demographic_cells: unknown gender {g!r}; known: {', '.join(GENDERS)}")
    for r in races:
        if r not in RACE_WORDS:
            raise SpecError(f"demographic_cells: unknown race {r!r}; known: {', '.join(RACES)}")
    return ages, genders, races


def draw_names(pool: Sequence[str], n: int, seed: int, key: Sequence[str]) -> list[str]:
    """``n`` names from ``pool``: distinct while the pool allows, then repeating in one shuffled order.

    >>> draw_names(["Cruz"], 3, 1, ("male", "hispanic"))
    ['Cruz', 'Cruz', 'Cruz']
    >>> len(set(draw_names(["A", "B", "C", "D"], 3, 1, ("f", "w"))))
    3
    """
    if not pool:
        return []
    rng = random.Random(stable_seed(seed, "demographic_names", *key))
    if len(pool) >= n:
        return rng.sample(list(pool), n)
    order = list(pool)
    rng.shuffle(order)
    return [order[i % len(order)] for i in range(n)]


def cell_entries(lexicon: str, *, fill: str = "explicit", pools: Mapping[str, Sequence[LexiconEntry]] | None = None,
                 ages: Sequence[int] = AGES, genders: Sequence[str] = GENDERS, races: Sequence[str] = RACES,
                 axis: str = AXIS, seed: int = 0, top_n: int | None = None) -> list[LexiconEntry]:
    """One entry per (age, gender, race) cell, in that nesting order; implicit cells need a pool."""
    if fill not in ("explicit", "implicit"):
        raise SpecError(f"demographic_cells: fill {fill!r} is not explicit or implicit")
    names: dict[tuple[str, str], list[str]] = {}
    by_name: dict[tuple[str, str], dict[str, LexiconEntry]] = {}
    if fill == "implicit":
        pools = pools or {}
        for g in genders:
            for r in races:
                pool = list(pools.get(f"{g}.{r}", []))[:top_n]
                by_name[g, r] = {e.value: e for e in pool}
                names[g, r] = draw_names([e.value for e in pool], len(ages), seed, (g, r))
    out = []
    for ai, age in enumerate(ages):
        for g in genders:
            for r in races:
                base = {"age": str(age), "gender": g, "race": r, "cell": cell_key(age, g, r)}
                if fill == "explicit":
                    value = describe(age, g, r)
                    out.append(LexiconEntry(lexicon, axis, cell_key(age, g, r), value, PRONOUNS[g], features=base,
                                            source=EXPLICIT_SOURCE, license=EXPLICIT_LICENSE))
                    continue
                if not names[g, r]:
                    continue  # no name signals this gender x race: the cell has no implicit fill
                name = names[g, r][ai]
                pooled = by_name[g, r][name]
                features = {**base, "name": name, "pool_size": str(len(by_name[g, r])),
                            **{k: v for k, v in pooled.features.items() if k in ("male_share", "selection")}}
                out.append(LexiconEntry(lexicon, axis, cell_key(age, g, r), f"{age}-year-old named {name}",
                                        PRONOUNS[g], frequency=pooled.frequency, country=pooled.country,
                                        features=features, source=pooled.source, license=pooled.license))
    return out


def missing_cells(entries: Iterable[LexiconEntry], ages: Sequence[int] = AGES, genders: Sequence[str] = GENDERS,
                  races: Sequence[str] = RACES) -> list[str]:
    """Cell keys of the full design that ``entries`` do not fill."""
    have = {e.group for e in entries}
    return [cell_key(a, g, r) for a in ages for g in genders for r in races if cell_key(a, g, r) not in have]


def read_pools(path: str) -> dict[str, list[LexiconEntry]]:
    """A pool file (lexicon JSON Lines, groups ``<gender>.<race>``) as group -> entries in file order."""
    pools: dict[str, list[LexiconEntry]] = {}
    for entry in load_jsonl(LexiconSpec(name=POOL_LEXICON, path=path), path):
        pools.setdefault(entry.group, []).append(entry)
    return pools


@register_lexicon_loader("demographic_cells")
def load_demographic_cells(spec, path: str) -> list[LexiconEntry]:
    options = dict(spec.options)
    fill = options.get("fill", "explicit")
    ages, genders, races = _options(options)
    pools = None
    if fill == "implicit":
        if not path:
            raise SpecError(f"lexicon {spec.name!r}: fill implicit needs 'path', a name-pool file")
        pools = read_pools(path)
    entries = cell_entries(spec.name, fill=fill, pools=pools, ages=ages, genders=genders, races=races,
                           axis=options.get("axis", AXIS), seed=int(options.get("seed", 0)),
                           top_n=int(options["top_n"]) if options.get("top_n") else None)
    if not entries:
        raise InputError(f"lexicon {spec.name!r}: no cell could be filled")
    return entries


# --- building the name pools from raw data -------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def read_race_flags(names_dir: str) -> dict[str, list[str]]:
    """Race -> names CALM's table flags for it, in table order (a name flagged twice is in both)."""
    path = os.path.join(names_dir, RACE_TABLE)
    try:
        f = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (CALM's race/ethnicity name table)") from None
    out: dict[str, list[str]] = {r: [] for r in RACE_COLUMNS}
    with f:
        reader = csv.DictReader(f)
        missing = [c for c in ["Name", *RACE_COLUMNS.values()] if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
        for row in reader:
            name = row["Name"].strip()
            for race, column in RACE_COLUMNS.items():
                if name and row[column].strip() == "1" and name not in out[race]:
                    out[race].append(name)
    return out


def build_name_pools(names_dir: str, out_path: str | None = None, *, min_count: int = 50,
                     min_gender_share: float = 0.8, nonbinary_band: tuple[float, float] = (0.3, 0.7),
                     years: Sequence[int] = (2020, 2021), excluded: Iterable[str] = EXCLUDED_WORDS,
                     ) -> list[LexiconEntry]:
    """Every name of each gender x race pool, most births first (ties by name); non-binary closest to 50/50."""
    if not 0.5 < min_gender_share <= 1:
        raise ValueError("min_gender_share must be in (0.5, 1]")
    low, high = nonbinary_band
    if not 0 <= low <= 0.5 <= high <= 1:
        raise ValueError("nonbinary_band must contain 0.5")
    years = tuple(int(y) for y in years)
    label = ",".join(map(str, years))
    ssa = read_ssa(names_dir, years)
    flags = read_race_flags(names_dir)
    skip = set(excluded)
    rules = {"male": f"male share of births >= {_fmt(min_gender_share)}",
             "female": f"female share of births >= {_fmt(min_gender_share)}",
             "non-binary": f"male share of births in [{_fmt(low)}, {_fmt(high)}], closest to 0.5 first"}
    out: list[LexiconEntry] = []
    for gender in GENDERS:
        for race in RACES:
            if race not in flags:
                continue  # the race table has no column for it: no pool
            names = [n for n in flags[race] if n not in skip and n in ssa and ssa[n].total >= min_count]
            if gender == "male":
                pool = sorted((n for n in names if ssa[n].male_share >= min_gender_share),
                              key=lambda n: (-ssa[n].total, n))
            elif gender == "female":
                pool = sorted((n for n in names if 1 - ssa[n].male_share >= min_gender_share),
                              key=lambda n: (-ssa[n].total, n))
            else:
                pool = sorted((n for n in names if low <= ssa[n].male_share <= high),
                              key=lambda n: (abs(ssa[n].male_share - 0.5), -ssa[n].total, n))
            for name in pool:
                s = ssa[name]
                out.append(LexiconEntry(
                    POOL_LEXICON, POOL_AXIS, f"{gender}.{race}", name, PRONOUNS[gender], frequency=float(s.total),
                    country="US", features={"gender": gender, "race": race, "male_share": _fmt(s.male_share),
                                            "selection": rules[gender], "min_count": str(min_count),
                                            "years": label},
                    source=POOL_SOURCE.format(years=label), license=POOL_LICENSE))
    if out_path:
        write_entries(out, out_path)
    return out


def pool_sizes(entries: Iterable[LexiconEntry]) -> dict[str, int]:
    """``<gender>.<race>`` -> names in the pool, for every pair of the design (0 where none)."""
    sizes = {f"{g}.{r}": 0 for g in GENDERS for r in RACES}
    for e in entries:
        sizes[e.group] = sizes.get(e.group, 0) + 1
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m transforms.lexicons.demographics",
                                description="Build the gender x race first-name pools of the decisions benchmark.")
    p.add_argument("names_dir", help="folder with ssa/yob<year>.txt and categorised_data/ (CALM's names/)")
    p.add_argument("out_path", help="the JSON Lines file to write")
    p.add_argument("--min-count", type=int, default=50, help="least SSA births for a name to be used")
    p.add_argument("--min-gender-share", type=float, default=0.8, help="share of births making a name male/female")
    p.add_argument("--nonbinary-band", type=float, nargs=2, default=[0.3, 0.7], metavar=("LOW", "HIGH"),
                   help="male share of births a non-binary name lies in")
    p.add_argument("--years", type=int, nargs="+", default=[2020, 2021])
    a = p.parse_args(argv)
    entries = build_name_pools(a.names_dir, a.out_path, min_count=a.min_count, min_gender_share=a.min_gender_share,
                               nonbinary_band=tuple(a.nonbinary_band), years=a.years)
    print(f"wrote {len(entries)} names to {a.out_path}")
    for key, n in pool_sizes(entries).items():
        print(f"  {key}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
