"""Rebuild ``configs/data/lexicons/name_gazetteer.tsv``: first names and the gender they usually signal.

    python configs/data/lexicons/build_name_gazetteer.py [NAMES_DIR]

The extractor's prefilter and its name check read this file (a name must be one a
person is given, not "Harley" in "a Harley motor"). Sources, all under NAMES_DIR
(default ``../shared/data/calm/names``): the US 1990 census first-name lists CALM
shipped (``american/{males,females}.json``, which carry the older names a 2020 birth
list lacks), US Social Security births 2020-2021 (names given to at least
``MIN_BIRTHS`` children) and CALM's table of names by gender and country
(``categorised_data/segregated_names.csv``), and the world-wide name/gender table CALM shipped
(``multiple_countries/name_gender_dataset.csv``, names counted at least ``MIN_WORLD_COUNT`` times:
the names of news and encyclopaedia text, "Zhou", "Madan", "Karim"). Words that are person
nouns ("Man") or English function words ("The", "Will" stays) are left out: spaCy's English stop
words, which the extractor never takes for names. Gender: ``m``/``f`` when at least
``SHARE`` of the evidence points one way, ``u`` otherwise.
"""

import csv
import json
import os
import sys
from collections import defaultdict

MIN_BIRTHS = 50
MIN_WORLD_COUNT = 20
NOT_NAMES = {"Man", "Woman", "Boy", "Girl", "Person", "Child", "Kid", "Lady", "Guy", "Gentleman", "Baby"}
SHARE = 0.9
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "configs", "data", "lexicons", "name_gazetteer.tsv")


def build(names_dir: str) -> dict[str, str]:
    evidence: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # name -> [male, female] shares
    for sex, i in (("males", 0), ("females", 1)):
        with open(os.path.join(names_dir, "american", f"{sex}.json"), encoding="utf-8") as f:
            for name, share in json.load(f).items():
                evidence[name.capitalize()][i] += float(share) * 1e6
    births: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for year in (2020, 2021):
        with open(os.path.join(names_dir, "ssa", f"yob{year}.txt"), encoding="utf-8") as f:
            for line in f:
                name, sex, count = line.strip().split(",")
                births[name][0 if sex == "M" else 1] += int(count)
    for name, (m, fem) in births.items():
        if m + fem >= MIN_BIRTHS:
            evidence[name][0] += m
            evidence[name][1] += fem
    with open(os.path.join(names_dir, "categorised_data", "segregated_names.csv"), encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            name = row["Name"].strip().capitalize()
            if not name.isalpha():
                continue
            male = sum(row[k] == "1" for k in row if k.endswith(".male"))
            female = sum(row[k] == "1" for k in row if k.endswith(".female"))
            if name not in evidence or evidence[name] == [0.0, 0.0]:
                evidence[name] = [float(male), float(female)]
    world: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    with open(os.path.join(names_dir, "multiple_countries", "name_gender_dataset.csv"), encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            world[row["Name"].strip()][0 if row["Gender"] == "M" else 1] += int(row["Count"])
    core = set(evidence)
    for name, (m, fem) in world.items():
        if name not in evidence and m + fem >= MIN_WORLD_COUNT:
            evidence[name] = [m, fem]
    from spacy.lang.en.stop_words import STOP_WORDS

    out = {}
    for name, (m, fem) in evidence.items():
        if name in NOT_NAMES or name.lower() in STOP_WORDS:
            continue
        total = m + fem
        if not total or not name.isalpha():
            continue
        gender = "m" if m / total >= SHARE else "f" if fem / total >= SHARE else "u"
        out[name] = (gender, "core" if name in core else "world")
    return out


if __name__ == "__main__":
    names_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(ROOT), "shared", "data", "calm",
                                                                   "names")
    names = build(names_dir)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write("# first name<TAB>gender it signals (m, f, u)<TAB>core (US/UK/Canada/Australia lists) or world;"
                " built by configs/data/lexicons/build_name_gazetteer.py\n")
        for name in sorted(names):
            f.write(f"{name}\t{names[name][0]}\t{names[name][1]}\n")
    print(f"wrote {len(names)} names to {OUT}")
