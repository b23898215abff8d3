"""The rendering rules' version (``transforms.rules.RULES_VERSION``) moves when rows move.

A fixed set of templates — every kind of slot: names, pronouns in each case, agreeing verbs, word
choice by pronoun set, "a"/"an", plurals of a plain lexicon — is planned and rendered in process, and
the canonical digest of its rows is compared with the one recorded for the current rules version.
A change to rendering, ids or columns changes the digest: bump ``RULES_VERSION`` (so scheduled
rebuilds cut a new version over unchanged inputs) and record the new digest here.
"""

from __future__ import annotations

from pipelines.spec import load_spec
from schemas.release import canonical_rows_digest
import json

import yaml

from tests.small_specs import TINY_TEXTS, tiny_name_lines, tiny_spec_dict, tiny_template_lines
from transforms import rules
from transforms.importers import import_templates
from transforms.lexicon_context import LexiconContext
from transforms.lexicons import load_lexicon
from transforms.plan import plan_release
from transforms.shards import write_shard

#: rules version -> digest of the rows below
RECORDED = {"1": "a1df6b23aed7ac3880138d4b7d8af2801c659713421645d166c6372777721419"}

PROBES = TINY_TEXTS + [
    "{person} said {person.subj} {person:was} tired, so {person.subj} {person:goes} home to {person.poss} flat.",
    "Everyone thanked {person.obj}; the idea was {person.poss_pron} and {person.subj} did it {person.refl}.",
    "As a {person:boy/girl/kid}, {person} started {a:person} fan club.",
]


def rows_digest(tmp_path) -> str:
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "templates.jsonl").write_text(tiny_template_lines(PROBES))
    they = {"lexicon": "names", "axis": "gender", "group": "non-binary", "value": "Alex", "pronoun_set": "they",
            "source": "test", "license": "CC0-1.0"}
    (folder / "names.jsonl").write_text(tiny_name_lines() + json.dumps(they) + "\n")
    raw = tiny_spec_dict()
    raw["configs"][0]["groups"].append({"name": "non-binary"})
    (folder / "spec.yaml").write_text(yaml.safe_dump(raw))
    spec = load_spec(str(folder / "spec.yaml"))
    templates = [t for f in spec.template_files for t in import_templates(f, spec.resolve(f.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    ctx = LexiconContext(lexicons, spec.article_overrides)
    out = tmp_path / "rows"
    summaries = [write_shard(task, str(out), ctx) for task in plan_release(spec, templates, lexicons, ctx)]
    assert sum(s["rows"] for s in summaries) == len(PROBES) * 5
    return canonical_rows_digest(str(out / s["path"]) for s in summaries)


def test_rows_are_what_this_rules_version_renders(tmp_path):
    digest = rows_digest(tmp_path)
    assert rules.RULES_VERSION in RECORDED, f"record the digest of rules version {rules.RULES_VERSION}: {digest}"
    assert RECORDED[rules.RULES_VERSION] == digest, (
        f"rendered rows changed ({digest}) under rules version {rules.RULES_VERSION}: bump "
        "transforms.rules.RULES_VERSION and record the new digest in tests/test_rules_version.py")
