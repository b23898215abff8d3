"""Small specs written into a folder for end-to-end CLI tests: canonical templates, a tiny lexicon, no spaCy.

``write_small_spec(folder, templates=…, lexicon=…, **spec_keys)`` writes ``templates.jsonl``,
``names.jsonl`` and ``spec.yaml`` and returns the spec's path. The defaults build a
sentiment benchmark of three templates over two groups of three names (18 rows).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

TEMPLATES = [
    {"task": "sentiment", "fields": {"sentence": "{person} loved the long film."}, "answer": "positive"},
    {"task": "sentiment", "fields": {"sentence": "{person} said the meal was cold and bland."}, "answer": "negative"},
    {"task": "sentiment", "fields": {"sentence": "The concert {person} gave was wonderful."}, "answer": "positive"},
]
NAMES = {"female": ["Mary", "Anna", "Grace"], "male": ["John", "Omar", "Peter"]}


def lexicon_entries(names=NAMES, **features) -> list[dict]:
    return [{"lexicon": "names", "axis": "gender", "group": g, "value": v, "pronoun_set": "she" if g == "female" else "he",
             "features": {k: str(val) for k, val in features.items()}, "source": "written for tests", "license": "cc0-1.0"}
            for g, values in names.items() for v in values]


def write_small_spec(folder: Path, templates=None, lexicon=None, name: str = "spec.yaml", **spec_keys) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "templates.jsonl").write_text(
        "".join(json.dumps(t) + "\n" for t in (TEMPLATES if templates is None else templates)), encoding="utf-8")
    (folder / "names.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in (lexicon_entries() if lexicon is None else lexicon)), encoding="utf-8")
    spec = {
        "benchmark": "small", "version": "0.1.0", "description": "A small benchmark for tests.", "license": "cc0-1.0",
        "seed": 1,
        "template_files": [{"path": "templates.jsonl", "format": "canonical", "task": "sentiment",
                            "source_dataset": "own", "license": "cc0-1.0"}],
        "filters": {"min_chars": 5},
        "lexicons": [{"name": "names", "path": "names.jsonl"}],
        "configs": [{"name": "sentiment_gender", "task": "sentiment", "axis": "gender", "lexicon": "names",
                     "groups": [{"name": "female"}, {"name": "male"}], "design": {"strategy": "all"}}],
        "validation": {"min_rows": 1},
    }
    for key, value in spec_keys.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path
