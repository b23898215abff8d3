"""Small specs for tests, written into a folder: canonical sentiment templates and a names lexicon, no spaCy,
seconds per build.

``write_small_spec(folder, templates=…, lexicon=…, name=…, **spec_keys)`` writes ``templates.jsonl``,
``names.jsonl`` and the spec and returns the spec's path. The defaults build benchmark ``small``: three templates
over two groups of three names (18 rows), with a seed, a length filter and a row floor; ``spec_keys`` replace
the spec's keys (a dict given for a dict key updates it).

``write_tiny_spec(folder)`` writes the fewest keys a spec needs, benchmark ``tiny``: three sentences over two
groups of two names (12 rows), cheap enough to build several times in one test (rebuilds, schedules);
``edit_template(folder, i, text)`` changes one sentence (a new template id, so that template's rows are new).
``tests/test_rules_version.py`` pins the rows rendered from ``TINY_TEXTS`` and ``TINY_NAMES``.
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

TINY_TEXTS = ["{person} loved the new film.", "{person} hated the long queue at the bank.",
              "{person} enjoyed the quiet walk by the river."]
TINY_NAMES = {"female": ["Mary", "Anna"], "male": ["John", "Omar"]}


def jsonl(entries) -> str:
    return "".join(json.dumps(e) + "\n" for e in entries)


def _name_entries(names: dict, source: str, license: str, features: dict | None) -> list[dict]:
    return [{"lexicon": "names", "axis": "gender", "group": g, "value": v, "pronoun_set": "she" if g == "female" else "he",
             **({} if features is None else {"features": features}), "source": source, "license": license}
            for g, values in names.items() for v in values]


def lexicon_entries(names=NAMES, **features) -> list[dict]:
    """Lexicon lines for ``names`` (group → values), every entry carrying ``features``."""
    return _name_entries(names, "written for tests", "cc0-1.0", {k: str(val) for k, val in features.items()})


def _write(folder: Path, templates: str, lexicon: str, spec: dict, name: str = "spec.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "templates.jsonl").write_text(templates, encoding="utf-8")
    (folder / "names.jsonl").write_text(lexicon, encoding="utf-8")
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def write_small_spec(folder: Path, templates=None, lexicon=None, name: str = "spec.yaml", **spec_keys) -> Path:
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
    return _write(folder, jsonl(TEMPLATES if templates is None else templates),
                  jsonl(lexicon_entries() if lexicon is None else lexicon), spec, name)


def tiny_spec_dict(templates: str = "templates.jsonl", names: str = "names.jsonl") -> dict:
    """The tiny spec, its template file and lexicon at the paths given (a URL, say)."""
    return {
        "benchmark": "tiny", "version": "0.1.0", "license": "CC0-1.0", "description": "Three sentences, four names.",
        "template_files": [{"path": templates, "format": "canonical", "task": "sentiment",
                            "source_dataset": "tiny", "license": "CC0-1.0"}],
        "lexicons": [{"name": "names", "path": names, "format": "jsonl"}],
        "configs": [{"name": "sentiment_gender", "task": "sentiment", "axis": "gender", "lexicon": "names",
                     "groups": [{"name": g} for g in TINY_NAMES], "design": {"strategy": "all"}}],
    }


def tiny_template_lines(texts=TINY_TEXTS) -> str:
    return jsonl({"task": "sentiment", "fields": {"sentence": t}, "answer": "positive"} for t in texts)


def tiny_name_lines() -> str:
    return jsonl(_name_entries(TINY_NAMES, "test", "CC0-1.0", None))


def write_tiny_spec(folder: Path) -> Path:
    return _write(folder, tiny_template_lines(), tiny_name_lines(), tiny_spec_dict())


def edit_template(folder: Path, index: int, text: str) -> None:
    texts = list(TINY_TEXTS)
    texts[index] = text
    (folder / "templates.jsonl").write_text(tiny_template_lines(texts), encoding="utf-8")
