"""Candidate filters (per record and quota), their Beam transform, and curation."""

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import Template
from schemas.spec import CurationSpec
from schemas.spec import ExtractSpec
from transforms.candidate_filters import (KEPT, REJECTED, FilterCandidates, SampleRecords, apply_filters, check,
                                          check_rules, record_sample_rates, sample_key)
from transforms.curation import curate


def tmpl(rid, premise="{person} is in the park.", hypothesis="{person} is outside.", source="snli", label="x",
         provenance=("extract:person_mentions", "person: premise[0:5]", "person is 'A man'")):
    return Template.create(task="nli", fields={"premise": premise, "hypothesis": hypothesis}, answer=label,
                           source_dataset=source, source_record_id=str(rid), provenance=provenance)


def test_rules(tmp_path):
    celebs = tmp_path / "celebs.csv"
    celebs.write_text("RANK,NAME\n1,George W. Bush\n2,Madonna\n")
    t = tmpl(1)
    assert check(t, {"rule": "words", "min": 10}, 0) == "too few words: 8, at least 10"
    assert check(t, {"rule": "person_in", "fields": ["premise", "hypothesis"]}, 0) is None
    assert check(tmpl(2, hypothesis="It is sunny."), {"rule": "person_in", "fields": ["premise", "hypothesis"]}, 0) \
        == "no person slot in hypothesis"
    famous = tmpl(3, provenance=("person is 'Bush'",))
    assert check(famous, {"rule": "no_celebrities", "path": str(celebs)}, 0) == "a famous person (Bush)"
    assert check(tmpl(4, provenance=("person is 'Madonna'",)), {"rule": "no_celebrities", "path": str(celebs)}, 0)
    assert check(tmpl(5, provenance=("person is 'Mary'",)), {"rule": "no_celebrities", "path": str(celebs)}, 0) is None
    qa = Template.create(task="qa", fields={"context": "{person} went home.", "question": "Where?"}, answer="home")
    assert check(qa, {"rule": "answer_in_context"}, 0) is None
    assert check(Template.create(task="qa", fields={"context": "x", "question": "y"}, answer="z"),
                 {"rule": "answer_in_context"}, 0) == "the answer is not in the context"
    with pytest.raises(ValueError, match="unknown candidate filter"):
        check_rules([{"rule": "nope"}])
    with pytest.raises(ValueError, match="needs max"):
        check_rules([{"rule": "quota"}])


def test_sample_and_quota_depend_on_seed_and_id_only():
    ts = [tmpl(i) for i in range(40)]
    kept, dropped = apply_filters(ts, [{"rule": "sample", "rate": 0.5}, {"rule": "quota", "max": 5}], seed=3)
    again, _ = apply_filters(list(reversed(ts)), [{"rule": "sample", "rate": 0.5}, {"rule": "quota", "max": 5}], seed=3)
    assert len(kept) == 5 and {t.template_id for t in kept} == {t.template_id for t in again}
    assert {s for _, s, _ in dropped} == {"filter:sample", "filter:quota"}
    assert sample_key(ts[0], 3) != sample_key(ts[0], 4)


def test_a_leading_sample_drops_the_records_whose_candidates_it_would_drop():
    def entry(source, *filters):
        return ExtractSpec(source=source, task="nli", fields={"premise": "p", "hypothesis": "h"}, filters=list(filters))

    specs = [entry("snli", {"rule": "sample", "rate": 0.3}), entry("snli", {"rule": "sample", "rate": 0.5}),
             entry("rte", {"rule": "words", "max": 9}, {"rule": "sample", "rate": 0.1}), entry("wnli")]
    assert record_sample_rates(specs) == {"snli": 0.5}  # rte's sample is not first, wnli has none
    ts = [tmpl(i) for i in range(60)]
    kept, _ = apply_filters(ts, [{"rule": "sample", "rate": 0.5}], seed=7)
    records = [{"source_dataset": s, "record_id": str(i)} for s in ("snli", "wnli") for i in range(60)]
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(records) | SampleRecords(specs, 7)
        assert_that(out[KEPT] | "Ids" >> beam.Map(lambda r: (r["source_dataset"], r["record_id"])),
                    equal_to([("snli", t.source_record_id) for t in kept] + [("wnli", str(i)) for i in range(60)]),
                    label="kept")
        assert_that(out[REJECTED] | "Why" >> beam.Map(lambda r: (r["stage"], r["reason"])),
                    equal_to([("filter:sample", "not in the 0.5 sample")] * (60 - len(kept))), label="rejected")


def test_filter_candidates_transform_matches_the_plain_functions():
    ts = [tmpl(i, premise="{person} is in the park." + " Very" * (i % 3)) for i in range(12)]
    filters = [{"rule": "words", "max": 9}, {"rule": "quota", "max": 3}, {"rule": "sample", "rate": 0.9}]
    kept, dropped = apply_filters(ts, filters, seed=5)
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create([t.to_dict() for t in ts]) | FilterCandidates(filters, 5)
        assert_that(out[KEPT] | "Ids" >> beam.Map(lambda t: t["template_id"]),
                    equal_to([t.template_id for t in kept]), label="kept")
        assert_that(out[REJECTED] | "Why" >> beam.Map(lambda r: (r["template"]["template_id"], r["stage"])),
                    equal_to([(t.template_id, s) for t, s, _ in dropped]), label="rejected")


def test_curation():
    a, b, c = tmpl(1), tmpl(2), tmpl(3)
    cur = CurationSpec(accept=[a.template_id], reject=[b.template_id],
                       edits={c.template_id: {"hypothesis": "{person} is in a park."}})
    assert curate(a, cur).provenance[-1] == "curation: accepted"
    assert curate(b, cur) is None
    edited = curate(c, cur)
    assert edited.fields["hypothesis"] == "{person} is in a park." and edited.template_id != c.template_id
    assert curate(tmpl(4), CurationSpec(accept=[a.template_id], only_accepted=True)) is None
    assert cur.counts() == {"accepted": 1, "rejected": 1, "edited": 1}
    with pytest.raises(ValueError, match="both accepted and rejected"):
        CurationSpec(accept=["t-1"], reject=["t-1"])
    with pytest.raises(ValueError, match="no text 'context'"):
        curate(c, CurationSpec(edits={c.template_id: {"context": "x"}}))
