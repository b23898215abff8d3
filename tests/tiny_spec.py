"""A spec small enough to build several times in one test: three template lines, four names.

``write_tiny_spec(folder)`` writes ``spec.yaml``, ``templates.jsonl`` and ``names.jsonl``
into ``folder`` and returns the spec's path; ``edit_template(folder, i, text)`` changes
one template's sentence (a new template id, so that template's rows are new).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

TEMPLATES = ["{person} loved the new film.", "{person} hated the long queue at the bank.",
             "{person} enjoyed the quiet walk by the river."]
NAMES = {"female": ["Mary", "Anna"], "male": ["John", "Omar"]}


def spec_dict(templates: str = "templates.jsonl", names: str = "names.jsonl") -> dict:
    return {
        "benchmark": "tiny", "version": "0.1.0", "license": "CC0-1.0", "description": "Three sentences, four names.",
        "template_files": [{"path": templates, "format": "canonical", "task": "sentiment",
                            "source_dataset": "tiny", "license": "CC0-1.0"}],
        "lexicons": [{"name": "names", "path": names, "format": "jsonl"}],
        "configs": [{"name": "sentiment_gender", "task": "sentiment", "axis": "gender", "lexicon": "names",
                     "groups": [{"name": g} for g in NAMES], "design": {"strategy": "all"}}],
    }


def template_lines(texts=TEMPLATES) -> str:
    return "".join(json.dumps({"task": "sentiment", "fields": {"sentence": t}, "answer": "positive"}) + "\n"
                   for t in texts)


def name_lines() -> str:
    return "".join(json.dumps({"lexicon": "names", "axis": "gender", "group": g, "value": v,
                               "pronoun_set": "she" if g == "female" else "he", "source": "test",
                               "license": "CC0-1.0"}) + "\n" for g, vs in NAMES.items() for v in vs)


def write_tiny_spec(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "templates.jsonl").write_text(template_lines())
    (folder / "names.jsonl").write_text(name_lines())
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec_dict(), sort_keys=False))
    return folder / "spec.yaml"


def edit_template(folder: Path, index: int, text: str) -> None:
    texts = list(TEMPLATES)
    texts[index] = text
    (folder / "templates.jsonl").write_text(template_lines(texts))
