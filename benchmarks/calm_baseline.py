"""A faithful plain-Python re-run of CALM's expansion, written for the benchmark.

CALM expands its templates with one short script per task × axis: read the
template JSON and the name tables, seed CPython's ``random`` once, and for
each template, in group order, ``random.sample`` 50 names (non-binary: the 50
unisex names with the smallest gap, not sampled), replace ``<PERSON>`` by the
name and every ``<a/b/c>`` tuple by the group's form (male: a, female: b,
non-binary and every race group: c), and append one JSON line per row.

This module re-implements that algorithm (same inputs, same seeds, same
order) so that ``benchmarks/calm_build.py`` can time the biasbench build
against it. It is not used by the pipeline.

    python benchmarks/calm_baseline.py ../shared/data/calm /tmp/calm-baseline
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import sys

GENDER_GROUPS = ("male", "female", "non-binary")
RACE_GROUPS = ("white", "black", "hispanic", "asian")
#: (task, axis) -> seed of CALM's script
SEEDS = {("qa", "gender"): 10, ("nli", "gender"): 10, ("sentiment", "gender"): 10,
         ("qa", "race"): 11, ("nli", "race"): 10, ("sentiment", "race"): 11}
TEXT_FIELDS = {"qa": ("context", "question"), "nli": ("premise", "hypothesis"), "sentiment": ("sentence",)}
_TUPLE = re.compile(r"<([^<>/]+(?:/[^<>/]+)+)>")


def read_names(data_dir: str) -> dict[str, list[str]]:
    names_dir = os.path.join(data_dir, "names")
    with open(os.path.join(names_dir, "categorised_data", "segregated_names.csv"), newline="", encoding="utf-8") as f:
        seg = list(csv.DictReader(f))
    out = {
        "male": [r["Name"] for r in seg if r["usa.male"] == "1" and r["usa.female"] == "0"],
        "female": [r["Name"] for r in seg if r["usa.male"] == "0" and r["usa.female"] == "1"],
    }
    with open(os.path.join(names_dir, "unisex", "unisex_names_table.csv"), newline="", encoding="utf-8") as f:
        unisex = list(csv.DictReader(f))
    out["non-binary"] = [r["name"] for r in sorted(unisex, key=lambda r: float(r["gap"]))[:50]]
    with open(os.path.join(names_dir, "categorised_data", "names_race_categorisation.csv"), newline="",
              encoding="utf-8") as f:
        race = list(csv.DictReader(f))
    for g in RACE_GROUPS:
        out[g] = [r["Name"] for r in race if r[f"usa.{g}"] == "1"]
    return out


def fill(text: str, name: str, form: int) -> str:
    text = text.replace("<PERSON>", name)
    return _TUPLE.sub(lambda m: m.group(1).split("/")[form], text)


def expand(data_dir: str, task: str, axis: str, names: dict[str, list[str]]) -> list[dict]:
    with open(os.path.join(data_dir, "templates", f"{task}_templates.json"), encoding="utf-8") as f:
        templates = json.load(f)
    groups = GENDER_GROUPS if axis == "gender" else RACE_GROUPS
    random.seed(SEEDS[(task, axis)])
    rows = []
    for key in templates:  # file order is CALM's template index order
        t = templates[key]
        for gi, group in enumerate(groups):
            chosen = names[group][:50] if group == "non-binary" else random.sample(names[group], 50)
            form = gi if axis == "gender" else 2
            for name in chosen:
                row = {field: fill(t[field], name, form) for field in TEXT_FIELDS[task]}
                row["source_dataset"] = t["source_dataset"]
                if task == "nli":
                    row["options"] = t["options"]
                row[axis] = group
                rows.append(row)
    return rows


def run(data_dir: str, out_dir: str) -> int:
    os.makedirs(out_dir, exist_ok=True)
    names = read_names(data_dir)
    total = 0
    for axis in ("gender", "race"):
        for task in ("qa", "nli", "sentiment"):
            rows = expand(data_dir, task, axis, names)
            with open(os.path.join(out_dir, f"{task}_{axis}_dataset.jsonl"), "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row) + "\n")
            total += len(rows)
    return total


if __name__ == "__main__":
    print(run(sys.argv[1], sys.argv[2]))
