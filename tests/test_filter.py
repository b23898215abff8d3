"""Filtering reasons and deterministic exact dedup."""

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.spec import FilterSpec
from schemas.records import Template
from transforms.filter import DedupTemplates, FilterTemplates, _EarliestFn, dedup_key, rejection_reason


def tpl(text, *, task="sentiment", source="demo", rid="1", ordinal=0, answer="positive"):
    field = {"sentiment": "sentence", "statement": "text"}[task]
    return Template.create(task=task, fields={field: text}, answer=answer, source_dataset=source,
                           source_record_id=rid, ordinal=ordinal)


def test_kept_template_has_no_reason():
    assert rejection_reason(tpl("{person} loved the film."), FilterSpec()) is None
    assert rejection_reason(tpl("{person} loved the film.").to_dict(), FilterSpec()) is None  # dicts too


def test_reasons():
    spec = FilterSpec(min_chars=10, max_chars=60, max_referents=1, exclude_sources=["noisy"])
    assert rejection_reason(tpl("{person} left.", source="noisy"), spec) == "source 'noisy' is excluded"
    assert rejection_reason(tpl("{person}!"), spec) == "too short: 9 characters of text, at least 10 required"
    assert rejection_reason(tpl("{person} " + "x" * 60), spec).startswith("too long: 69 characters")
    assert rejection_reason(tpl("Nobody loved the film."), spec) == "no referent slot"
    assert rejection_reason(tpl("{person} thanked {person2} twice."), spec) == \
        "2 referents (person, person2), at most 1 allowed"
    bad = rejection_reason(tpl("{person.subjj} loved the film."), spec)
    assert bad.startswith("bad slot: template t-") and "field 'sentence'" in bad and "subjj" in bad
    assert rejection_reason(tpl("   "), spec) == "text field(s) sentence missing or empty"
    # the answer's slots count as referents too
    assert rejection_reason(tpl("Someone was here.", answer="{person}"), spec) is None


def test_dedup_key_folds_case_and_whitespace_but_not_words():
    a = tpl("{person} loved  the film.", rid="1")
    assert dedup_key(a) == dedup_key(tpl(" {person} Loved the\nfilm. ", rid="2", answer="negative"))
    assert dedup_key(a) != dedup_key(tpl("{person} loved the films."))
    assert dedup_key(a) != dedup_key(tpl("{person} loved  the film.", task="statement"))


def test_dedup_keeps_smallest_ordinal_then_id_whatever_the_order():
    dups = [tpl("{person} loved the film.", rid=str(i), ordinal=o) for i, o in [(1, 5), (2, 3), (3, 3), (4, 9)]]
    other = tpl("{person} hated the film.", rid="9", ordinal=1)
    survivor = min(dups[1:3], key=lambda t: t.template_id)
    dropped = sorted(t.template_id for t in dups if t is not survivor)
    expected = [{**survivor.to_dict(),
                 "provenance": [f"dedup:exact dropped 3 ({', '.join(dropped)})"]}, other.to_dict()]
    for order in (dups + [other], [other] + dups[::-1]):
        with TestPipeline(runner=FnApiRunner()) as p:
            out = p | beam.Create([t.to_dict() for t in order]) | DedupTemplates()
            assert_that(out, equal_to(expected))


def test_dedup_none_passes_everything():
    same = [tpl("{person} left early.", rid=str(i)) for i in range(3)]
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create([t.to_dict() for t in same]) | DedupTemplates(mode="none")
        assert_that(out, equal_to([t.to_dict() for t in same]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=8), st.randoms())
def test_earliest_combine_is_order_and_grouping_independent(items, rnd):
    templates = [{"template_id": f"t-{i}", "ordinal": o} for o, i in items]
    fn = _EarliestFn()
    shuffled = templates[:]
    rnd.shuffle(shuffled)
    cut = rnd.randint(0, len(shuffled))
    left, right = fn.create_accumulator(), fn.create_accumulator()
    for t in shuffled[:cut]:
        left = fn.add_input(left, t)
    for t in shuffled[cut:]:
        right = fn.add_input(right, t)
    merged = fn.extract_output(fn.merge_accumulators([right, left]))
    best = min(templates, key=lambda t: (t["ordinal"], t["template_id"]))
    assert merged[0] == best
    assert sorted(merged[1]) == list(merged[1]) and len(merged[1]) == len(templates) - 1


def test_filter_templates_pipeline_tags_rejections():
    keep = tpl("{person} loved the film.")
    short = tpl("{person}.", rid="2")
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create([keep.to_dict(), short.to_dict()]) | FilterTemplates(FilterSpec(min_chars=12))
        assert_that(out.templates, equal_to([keep.to_dict()]), label="kept")
        assert_that(out.rejected, equal_to([{"stage": "filter", "reason": "min_chars", "id": short.template_id,
                                             "template_id": short.template_id, "source_dataset": "demo",
                                             "source_record_id": "2",
                                             "detail": "too short: 9 characters of text, at least 12 required"}]),
                    label="rejected")
