"""BBQ's two vocabulary files as lexicons (CC BY 4.0, nyu-mll/BBQ ``templates/``): format ``bbq``,
``options.table`` ``vocabulary`` or ``proper_names``; ``path`` is the file or BBQ's templates folder.

- ``vocabulary``: ``vocabulary.csv`` (Category, Pilot_include, SubCat, Name, Info). One
  entry per row in file order: ``axis`` = BBQ's category, ``group`` = the row's ``Info`` (e.g.
  ``lowSES``) or else its name, ``value`` = ``Name`` exactly as written (BBQ compares names
  as written, trailing spaces included); features ``subcategory``, ``info``. Rows with
  ``Pilot_include == "No"`` are dropped, as BBQ's generator drops them.
- ``proper_names``: ``vocabulary_proper_names.csv`` (Name, First_last, gender,
  ethnicity). ``axis`` = ``first``, ``last`` or ``first_only`` (names BBQ uses where
  ethnicity must not be signalled), ``group`` = ethnicity (``unspecified`` when empty);
  features ``first_last``, ``gender`` (F/M), ``ethnicity``; pronoun set by gender.
"""

from __future__ import annotations

import csv
import os

from schemas.errors import InputError
from schemas.records import LexiconEntry
from transforms.lexicons.base import register_lexicon_loader

LICENSE = "CC-BY-4.0"
SOURCE = "BBQ (Parrish et al., 2022), nyu-mll/BBQ templates/"


def _rows(path: str, default_name: str, needed: tuple[str, ...]) -> list[dict]:
    if os.path.isdir(path):
        path = os.path.join(path, default_name)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            columns = reader.fieldnames or []
    except OSError as e:
        raise InputError(f"{path}: cannot read BBQ vocabulary: {e.strerror}") from None
    for c in needed:
        if c not in columns:
            raise InputError(f"{path}: column {c!r} is missing")
    return rows


def load_vocabulary(spec, path: str) -> list[LexiconEntry]:
    out = []
    for r in _rows(path, "vocabulary.csv", ("Category", "Pilot_include", "SubCat", "Name", "Info")):
        if r["Pilot_include"] == "No":
            continue
        out.append(LexiconEntry(spec.name, r["Category"], r["Info"] or r["Name"], r["Name"],
                                features={"subcategory": r["SubCat"] or "", "info": r["Info"] or ""},
                                source=SOURCE + "vocabulary.csv", license=LICENSE))
    return out


def load_proper_names(spec, path: str) -> list[LexiconEntry]:
    out = []
    for line, r in enumerate(_rows(path, "vocabulary_proper_names.csv", ("Name", "First_last", "gender", "ethnicity")),
                             start=2):
        if r["First_last"] not in ("first", "last", "first_only"):
            raise InputError(f"{path}, line {line}: First_last {r['First_last']!r} is not first, last or first_only")
        pronouns = {"F": "she", "M": "he"}.get(r["gender"] or "", "they")
        out.append(LexiconEntry(spec.name, r["First_last"], r["ethnicity"] or "unspecified", r["Name"], pronouns,
                                features={"first_last": r["First_last"], "gender": r["gender"] or "",
                                          "ethnicity": r["ethnicity"] or ""},
                                source=SOURCE + "vocabulary_proper_names.csv", license=LICENSE))
    return out


@register_lexicon_loader("bbq")
def load_bbq(spec, path: str) -> list[LexiconEntry]:
    table = spec.options.get("table", "")
    loaders = {"vocabulary": load_vocabulary, "proper_names": load_proper_names}
    if table not in loaders or set(spec.options) - {"table"}:
        raise InputError(f"lexicon {spec.name!r} ({path}): options must be {{table: vocabulary|proper_names}}, "
                         f"not {dict(spec.options)}")
    return loaders[table](spec, path)
