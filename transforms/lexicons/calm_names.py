"""CALM's name tables as lexicons (formats ``calm_gender_names`` and ``calm_race_names``).

The lexicon path is CALM's ``names`` folder (``--data-dir`` relative, or fetched,
see ``transforms.calm_inputs``). Entries keep the tables' file order, which is
what CALM's ``random.sample`` indexes into.

``calm_gender_names``
    male: ``categorised_data/segregated_names.csv`` rows with usa.male=1 and
    usa.female=0 (pronoun set he); female the reverse (she); non-binary: the
    ``nonbinary_count`` (50) names of ``unisex/unisex_names_table.csv`` with the
    smallest male/female gap, ties in table order (they).
``calm_race_names``
    white, black, hispanic, asian: rows of
    ``categorised_data/names_race_categorisation.csv`` flagged 1 for the group
    (pronoun set they). Each entry's ``gender`` feature (male, female, unisex) is
    the majority sex of the name's US SSA births (``ssa/yob2020.txt``, ``yob2021.txt``),
    else the usa flags of ``segregated_names.csv``, so a design can balance a race
    group by gender (``design.stratify: gender``).

Option ``exclude_words``: names that are also common English words ("An",
"Say", "Saw" …) left out of every group; ``common_word_names`` is the rule
that proposes them from a corpus.

>>> _gap_key({"gap": "0.5"})
0.5
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from typing import Iterable

from schemas import storage
from schemas.errors import InputError
from schemas.records import LexiconEntry
from transforms.calm_inputs import data_root, locate
from transforms.lexicons.base import register_lexicon_loader

SEGREGATED = "categorised_data/segregated_names.csv"
RACE_TABLE = "categorised_data/names_race_categorisation.csv"
UNISEX = "unisex/unisex_names_table.csv"
RACE_GROUPS = ("white", "black", "hispanic", "asian")
SOURCE = "CALM name tables ({table}), derived from US SSA/UK/Canada/Australia birth records"
LICENSE = "MIT (CALM); underlying birth records are public government data"


def _read_csv(path: str) -> list[dict[str, str]]:
    try:
        with storage.open_text(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None


def _table(spec, path: str, name: str) -> str:
    """A file of the names folder, local or fetched (the spec path names the folder)."""
    root = data_root(spec.path, path)
    relative = f"{spec.path.rstrip('/')}/{name}"
    return locate(relative, root, spec.options.get("hub", {}))


def _gap_key(row: dict[str, str]) -> float:
    return float(row["gap"])


def _excluded(spec) -> set[str]:
    return {w.strip() for w in spec.options.get("exclude_words", [])}


def _need(row: dict[str, str], keys: Iterable[str], path: str, line: int) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise InputError(f"{path}, line {line}: missing column(s) {', '.join(missing)}")


def usa_gender(rows: list[dict[str, str]]) -> dict[str, str]:
    out = {}
    for r in rows:
        male, female = r.get("usa.male") == "1", r.get("usa.female") == "1"
        out.setdefault(r["Name"], "male" if male and not female else "female" if female and not male else "unisex")
    return out


def ssa_gender(paths: Iterable[str]) -> dict[str, str]:
    """Name -> the majority sex of its US SSA births (``yob<year>.txt``: name,sex,count)."""
    births: dict[str, list[int]] = {}
    for path in paths:
        with storage.open_text(path) as f:
            for line_no, line in enumerate(f, start=1):
                parts = line.strip().split(",")
                if len(parts) != 3:
                    raise InputError(f"{path}, line {line_no}: expected name,sex,count")
                counts = births.setdefault(parts[0], [0, 0])
                counts[parts[1] == "F"] += int(parts[2])
    return {n: "male" if m > f else "female" if f > m else "unisex" for n, (m, f) in births.items()}


def _read_checked(spec, path: str, table: str, columns: tuple[str, ...]) -> list[dict]:
    """A name table's rows; a missing column is an InputError naming the file."""
    table_path = _table(spec, path, table)
    rows = _read_csv(table_path)
    if rows:
        _need(rows[0], columns, table_path, 2)
    return rows


@register_lexicon_loader("calm_gender_names")
def load_gender_names(spec, path: str) -> list[LexiconEntry]:
    excluded = _excluded(spec)
    seg = _read_checked(spec, path, SEGREGATED, ("Name", "usa.male", "usa.female"))
    source = SOURCE.format(table=SEGREGATED)
    entries: list[LexiconEntry] = []
    for group, pronoun, (m, f) in (("male", "he", ("1", "0")), ("female", "she", ("0", "1"))):
        for r in seg:
            if r["usa.male"] == m and r["usa.female"] == f and r["Name"] not in excluded:
                entries.append(LexiconEntry(spec.name, "gender", group, r["Name"], pronoun,
                                            features={"gender": group}, source=source, license=LICENSE))
    unisex = _read_checked(spec, path, UNISEX, ("name", "gap"))
    count = int(spec.options.get("nonbinary_count", 50))
    chosen = [r for r in sorted(unisex, key=_gap_key) if r["name"] not in excluded][:count]
    for r in chosen:
        entries.append(LexiconEntry(spec.name, "gender", "non-binary", r["name"], "they",
                                    features={"gender": "non-binary", "gap": r["gap"]},
                                    source=SOURCE.format(table=UNISEX) + "; smallest male/female gap",
                                    license=LICENSE))
    return entries


@register_lexicon_loader("calm_race_names")
def load_race_names(spec, path: str) -> list[LexiconEntry]:
    excluded = _excluded(spec)
    rows = _read_checked(spec, path, RACE_TABLE, ("Name", *[f"usa.{g}" for g in RACE_GROUPS]))
    genders = usa_gender(_read_csv(_table(spec, path, SEGREGATED)))
    years = [int(y) for y in spec.options.get("ssa_years", [2020, 2021])]
    genders.update(ssa_gender([_table(spec, path, f"ssa/yob{y}.txt") for y in years]))
    source = (SOURCE.format(table=RACE_TABLE) + f"; gender feature: majority sex of US SSA births {years} "
              f"(else {SEGREGATED})")
    entries = []
    for group in RACE_GROUPS:
        for r in rows:
            if r[f"usa.{group}"] == "1" and r["Name"] not in excluded:
                entries.append(LexiconEntry(spec.name, "race", group, r["Name"], "they",
                                            features={"gender": genders.get(r["Name"], "unisex")},
                                            source=source, license=LICENSE))
    return entries


def common_word_names(names: Iterable[str], corpus_files: Iterable[str], *, min_lower: int = 20) -> list[str]:
    """Names used as lower-case English words at least ``min_lower`` times in the corpus, and at
    least as often as they appear capitalised mid-sentence (so "An", "Say", "Saw", "Hope" qualify,
    "John" or "Martin" do not). The rule behind ``exclude_words`` in configs/calm.yaml."""
    lower: Counter = Counter()
    capital: Counter = Counter()
    for path in corpus_files:
        with storage.open_text(path, errors="ignore") as f:
            text = f.read()
        lower.update(re.findall(r"\b[a-z]+\b", text))
        capital.update(m.group(1) for m in re.finditer(r"\b[a-z]+,? ([A-Z][a-z]+)\b", text))
    return sorted(n for n in set(names) if lower[n.lower()] >= min_lower and lower[n.lower()] >= capital[n])


def source_corpus_files(calm_dir: str) -> list[str]:
    """CALM's source corpora (``sources/``): the English text the rule counts words in."""
    out = []
    for root, dirs, files in os.walk(os.path.join(calm_dir, "sources")):
        dirs.sort()
        out += [os.path.join(root, f) for f in sorted(files)]
    return out
