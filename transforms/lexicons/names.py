"""Build the first-name lexicon (gender and race/ethnicity axes) from public raw data.

Gender comes from US Social Security births (``ssa/yob<year>.txt``: name,sex,count):
a name is *male* when its male share of births is at least ``min_gender_share``,
*female* likewise, and *non-binary* takes the names whose shares are closest to
50/50 among those with at least ``nonbinary_min_count`` births (pronoun set
"they"). Race/ethnicity comes from CALM's derived table
(``categorised_data/names_race_categorisation.csv``: Name,usa.white,usa.black,
usa.hispanic,usa.asian flags, MIT), ranked by SSA births, gender-balanced where
SSA knows a name's gender. Every entry records its frequency (births in the
chosen years), source, licence and the thresholds that selected it.

``build_name_lexicon(names_dir, out_path, top_n=30)`` returns the entries and
writes them as lexicon JSON Lines; the same from a shell is ``python -m
transforms.lexicons.names NAMES_DIR OUT`` (CALM's ``names`` folder in, e.g.
``configs/data/lexicons/first_names.jsonl`` out).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from schemas.errors import InputError
from schemas.records import LexiconEntry

LEXICON = "first_names"
GENDER_GROUPS = ("male", "female", "non-binary")
RACE_GROUPS = ("white", "black", "hispanic", "asian")
PRONOUNS = {"male": "he", "female": "she", "non-binary": "they"}

SSA_SOURCE = "US SSA baby names, births {years} (CALM names/ssa)"
SSA_LICENSE = "US public domain (US government work)"
RACE_SOURCE = "CALM names_race_categorisation.csv; frequency: US SSA births {years}"
RACE_LICENSE = "MIT (CALM derived table); frequencies US public domain"
RACE_TABLE = os.path.join("categorised_data", "names_race_categorisation.csv")


@dataclass(frozen=True)
class NameStats:
    name: str
    male: int
    female: int

    @property
    def total(self) -> int:
        return self.male + self.female

    @property
    def male_share(self) -> float:
        return self.male / self.total if self.total else 0.0


def read_ssa(names_dir: str, years: Sequence[int]) -> dict[str, NameStats]:
    """Births per name and sex summed over ``years``; errors name the file and line."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for year in years:
        path = os.path.join(names_dir, "ssa", f"yob{year}.txt")
        try:
            f = open(path, encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: no such file (SSA births for {year})") from None
        with f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.strip().split(",")
                if len(parts) != 3 or parts[1] not in ("M", "F") or not parts[2].isdigit():
                    raise InputError(f"{path}, line {n}: expected name,M|F,count, got {line.strip()!r}")
                counts[parts[0]][0 if parts[1] == "M" else 1] += int(parts[2])
    return {name: NameStats(name, m, f) for name, (m, f) in counts.items()}


def read_race_table(names_dir: str) -> dict[str, list[str]]:
    """Race group -> names flagged for it alone, in table order (a name with two flags is skipped)."""
    path = os.path.join(names_dir, RACE_TABLE)
    groups: dict[str, list[str]] = {g: [] for g in RACE_GROUPS}
    try:
        f = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (CALM's race/ethnicity name table)") from None
    with f:
        reader = csv.DictReader(f)
        wanted = ["Name"] + [f"usa.{g}" for g in RACE_GROUPS]
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
        for row in reader:
            flags = [g for g in RACE_GROUPS if row[f"usa.{g}"].strip() == "1"]
            if len(flags) == 1 and row["Name"].strip():
                groups[flags[0]].append(row["Name"].strip())
    return groups


def gender_of(stats: NameStats | None, min_gender_share: float) -> str:
    """"male"/"female" when one share reaches the threshold, "unisex" otherwise, "" when SSA lacks the name."""
    if stats is None or not stats.total:
        return ""
    if stats.male_share >= min_gender_share:
        return "male"
    if 1 - stats.male_share >= min_gender_share:
        return "female"
    return "unisex"


def _fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def gender_entries(ssa: dict[str, NameStats], *, top_n: int, min_count: int, min_gender_share: float,
                   nonbinary_min_count: int, years_label: str) -> list[LexiconEntry]:
    """Top names by births for male and female, and the most balanced names for non-binary."""
    thresholds = {"min_count": str(min_count), "min_gender_share": _fmt(min_gender_share),
                  "nonbinary_min_count": str(nonbinary_min_count), "top_n": str(top_n), "years": years_label}
    chosen: dict[str, list[NameStats]] = {}
    eligible = [s for s in ssa.values() if s.total >= min_count]
    for group in ("male", "female"):
        pool = [s for s in eligible if gender_of(s, min_gender_share) == group]
        chosen[group] = sorted(pool, key=lambda s: (-s.total, s.name))[:top_n]
    pool = [s for s in ssa.values() if s.total >= nonbinary_min_count and gender_of(s, min_gender_share) == "unisex"]
    chosen["non-binary"] = sorted(pool, key=lambda s: (abs(s.male_share - 0.5), -s.total, s.name))[:top_n]
    out = []
    for group in GENDER_GROUPS:
        rule = ("closest to 50/50 male share" if group == "non-binary"
                else f"{group} share >= {_fmt(min_gender_share)}, most births first")
        for s in chosen[group]:
            out.append(LexiconEntry(
                lexicon=LEXICON, axis="gender", group=group, value=s.name, pronoun_set=PRONOUNS[group],
                frequency=float(s.total), country="US",
                features={**thresholds, "selection": rule, "male_share": _fmt(s.male_share)},
                source=SSA_SOURCE.format(years=years_label), license=SSA_LICENSE))
    return out


def race_entries(ssa: dict[str, NameStats], race: dict[str, list[str]], *, top_n: int, min_count: int,
                 min_gender_share: float, years_label: str, balance_gender: bool = True) -> list[LexiconEntry]:
    """Per race group, the most frequent names with at least ``min_count`` births.

    With ``balance_gender``, male and female names alternate (most births first in
    each) so that a race group does not silently stand for one gender.
    """
    thresholds = {"min_count": str(min_count), "min_gender_share": _fmt(min_gender_share), "top_n": str(top_n),
                  "years": years_label, "gender_balanced": str(balance_gender).lower()}
    out = []
    for group in RACE_GROUPS:
        pool = sorted((n for n in dict.fromkeys(race[group]) if n in ssa and ssa[n].total >= min_count),
                      key=lambda n: (-ssa[n].total, n))
        if balance_gender:
            by_gender = {g: [n for n in pool if gender_of(ssa[n], min_gender_share) == g] for g in ("male", "female")}
            picked: list[str] = []
            for pair in zip(by_gender["female"], by_gender["male"]):
                picked.extend(pair)
            picked = picked[:top_n]
            # a group short of one gender is topped up by frequency from the rest
            picked += [n for n in pool if n not in picked][:top_n - len(picked)]
        else:
            picked = pool[:top_n]
        for name in picked:
            s = ssa[name]
            gender = gender_of(s, min_gender_share)
            features = {**thresholds, "male_share": _fmt(s.male_share)}
            if gender:
                features["gender"] = gender
            out.append(LexiconEntry(
                lexicon=LEXICON, axis="race", group=group, value=name,
                pronoun_set=PRONOUNS.get(gender, "they"), frequency=float(s.total), country="US",
                features=features, source=RACE_SOURCE.format(years=years_label), license=RACE_LICENSE))
    return out


def build_name_lexicon(names_dir: str, out_path: str | None = None, *, min_count: int = 50, top_n: int = 30,
                       min_gender_share: float = 0.95, nonbinary_min_count: int = 1000,
                       years: Sequence[int] = (2020, 2021), balance_race_by_gender: bool = True,
                       ) -> list[LexiconEntry]:
    """Build the entries (gender axis, then race axis) and, with ``out_path``, write them as JSON Lines.

    The output is deterministic: entries are ordered by axis, group, then births
    (ties by name), and written with sorted keys.
    """
    if not 0.5 < min_gender_share <= 1:
        raise ValueError("min_gender_share must be in (0.5, 1]: a name cannot be mostly male and mostly female")
    years = tuple(int(y) for y in years)
    years_label = ",".join(map(str, years))
    ssa = read_ssa(names_dir, years)
    entries = gender_entries(ssa, top_n=top_n, min_count=min_count, min_gender_share=min_gender_share,
                             nonbinary_min_count=nonbinary_min_count, years_label=years_label)
    entries += race_entries(ssa, read_race_table(names_dir), top_n=top_n, min_count=min_count,
                            min_gender_share=min_gender_share, years_label=years_label,
                            balance_gender=balance_race_by_gender)
    if out_path:
        write_entries(entries, out_path)
    return entries


_DEFAULTS = {"pronoun_set": "they", "plural": "", "article": "", "association": None, "preference": ""}


def write_entries(entries: Sequence[LexiconEntry], out_path: str) -> None:
    """One JSON object per line, keys sorted, so rebuilding gives the same bytes.

    Fields at their default value are left out (the loader restores them): the
    shipped file stays small.
    """
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for e in entries:
            row = {k: v for k, v in e.to_dict().items() if k not in _DEFAULTS or v != _DEFAULTS[k]}
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, out_path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m transforms.lexicons.names", description=__doc__.split("\n\n")[0])
    p.add_argument("names_dir", help="folder with ssa/yob<year>.txt and categorised_data/ (CALM's names/)")
    p.add_argument("out_path", help="the JSON Lines file to write")
    p.add_argument("--min-count", type=int, default=50, help="least births for a name to be used")
    p.add_argument("--top-n", type=int, default=30, help="names per group")
    p.add_argument("--min-gender-share", type=float, default=0.95, help="share of births making a name male/female")
    p.add_argument("--nonbinary-min-count", type=int, default=1000, help="least births for a non-binary name")
    p.add_argument("--years", type=int, nargs="+", default=[2020, 2021])
    p.add_argument("--no-race-gender-balance", action="store_true", help="rank race groups by births only")
    a = p.parse_args(argv)
    entries = build_name_lexicon(a.names_dir, a.out_path, min_count=a.min_count, top_n=a.top_n,
                                 min_gender_share=a.min_gender_share, nonbinary_min_count=a.nonbinary_min_count,
                                 years=a.years, balance_race_by_gender=not a.no_race_gender_balance)
    print(f"wrote {len(entries)} entries to {a.out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
