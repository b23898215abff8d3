"""Nothing lost silently: each drop counted by stage and reason, in the summary, the card and rejected.json;
a filler_where naming an unknown feature or value refused in one line."""

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.cli import main
from schemas.errors import SpecError
from schemas.records import LexiconEntry, Template
from schemas.spec import FilterSpec
from small_specs import TEMPLATES, lexicon_entries, write_small_spec
from transforms.filter import DROPPED, KEPT, DedupTemplates, rejection
from transforms.lexicon_context import LexiconContext


def tpl(text, source="own"):
    return Template.create(task="sentiment", fields={"sentence": text}, answer="positive", source_dataset=source)


def test_rejection_reasons_are_the_spec_keys():
    spec = FilterSpec(max_referents=1, exclude_sources=["noisy"], min_chars=10, max_chars=60)
    assert rejection(tpl("{person} met {person2} at noon."), spec)[0] == "max_referents"
    assert rejection(tpl("{person} loved it.", source="noisy"), spec)[0] == "exclude_sources"
    assert rejection(tpl("{person}"), spec)[0] == "min_chars"
    assert rejection(tpl("{person} " + "x" * 80), spec)[0] == "max_chars"
    assert rejection(tpl("Nobody loved the film."), spec)[0] == "no_referent"
    assert rejection(tpl("{person} loved it."), spec) is None


def test_dedup_reports_each_dropped_duplicate():
    a, b = tpl("{person} loved the film."), tpl("{person}  LOVED the film.")
    with TestPipeline() as p:
        out = (p | beam.Create([a.to_dict(), b.to_dict()])
               | DedupTemplates("exact", report_dropped=True))
        assert_that(out[KEPT] | "Ids" >> beam.Map(lambda t: t["template_id"]), equal_to([min(a, b, key=lambda t: (
            t.ordinal, t.template_id)).template_id]), label="kept")
        assert_that(out[DROPPED] | "Reasons" >> beam.Map(lambda d: (d["stage"], d["reason"])),
                    equal_to([("dedup", "exact")]), label="dropped")


def test_filler_where_unknown_feature_or_value_is_refused():
    entries = [LexiconEntry.from_dict(e) for e in lexicon_entries(kind="noun")]
    ctx = LexiconContext({"names": entries})
    ctx.check_filler_where("names", "kind=noun", "t-1")
    with pytest.raises(SpecError, match=r"template t-1: metadata key 'filler_where' \('kind=nounn'\): no entry of "
                                        r"lexicon 'names' has kind='nounn' \(its values: noun\)"):
        ctx.check_filler_where("names", "kind=nounn", "t-1")
    with pytest.raises(SpecError, match="no entry of lexicon 'names' has a feature 'knd'"):
        ctx.check_filler_where("names", "knd!=noun", "t-1")
    ctx.check_filler_where("names", "group=female|male", "t-1")  # entry fields count as features


def test_build_counts_every_drop_by_stage_and_reason(tmp_path, capsys):
    templates = TEMPLATES + [
        {"task": "sentiment", "fields": {"sentence": "{person} loved the  LONG film."}, "answer": "positive"},  # dup
        {"task": "sentiment", "fields": {"sentence": "{person} thanked {person2} warmly."}, "answer": "positive"},
        {"task": "sentiment", "source_dataset": "noisy", "fields": {"sentence": "{person} hated the noisy bar."},
         "answer": "negative"},
        {"task": "sentiment", "fields": {"sentence": "{person} enjoyed the quiet walk."}, "answer": "positive",
         "metadata": {"filler_where": "group=female"}},
    ]
    spec = write_small_spec(tmp_path / "ws", templates=templates,
                            filters={"max_referents": 1, "exclude_sources": ["noisy"]},
                            validation={"require_balanced_groups": False})
    assert main(["build", str(spec), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    release = tmp_path / "out" / "small" / "0.1.0"
    report = json.loads((release / "rejected.json").read_text())
    assert report["counts"] == {"dedup/exact": 1, "filter/exclude_sources": 1, "filter/max_referents": 1,
                                "plan/filler_where": 1}
    record = next(r for r in report["records"] if r["reason"] == "filler_where")
    assert record["stage"] == "plan" and record["count"] == 1 and record["ids"][0].endswith("/male")
    assert ("dropped before expansion (stage/reason): dedup/exact 1, filter/exclude_sources 1, "
            "filter/max_referents 1, plan/filler_where 1 (rejected.json)") in err
    assert "Dropped before expansion (stage/reason: count; ids in `rejected.json`): dedup/exact 1" in (
        release / "README.md").read_text()
    assert main(["validate", str(release)]) == 0  # rejected.json is listed in the manifest like every file


def test_filler_where_typo_is_one_line_and_exit_2(tmp_path, capsys):
    templates = TEMPLATES + [{"task": "sentiment", "fields": {"sentence": "{person} enjoyed the quiet walk."},
                              "answer": "positive", "metadata": {"filler_where": "kind=nounn"}}]
    spec = write_small_spec(tmp_path / "ws", templates=templates, lexicon=lexicon_entries(kind="noun"))
    assert main(["build", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("biasbench:")]
    assert len(lines) == 1 and "metadata key 'filler_where'" in lines[0] and "kind='nounn'" in lines[0], err
    assert not (tmp_path / "out" / "small" / "0.1.0").exists()
