"""The people rules on the sentences that broke extraction on SNLI, and every candidate read for he/she/they."""

import os

import pytest

from schemas.records import LexiconEntry, SourceRecord, Template
from schemas.spec import ExtractSpec
from pipelines.extract_check import render_findings, renderings
from transforms.extract import PREFILTERED, Rejection, extract_batch, load_nlp
from transforms.people.cues import may_mention_person
from transforms.render import render_text

NLI = ExtractSpec(source="snli", task="nli", fields={"premise": "p", "hypothesis": "h"}, answer="label")
ELIJAH = LexiconEntry("names", "gender", "male", "Elijah", pronoun_set="he")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


def nli(nlp, premise, hypothesis="The sun is out."):
    [out] = extract_batch([SourceRecord("snli", "test", "1", {"p": premise, "h": hypothesis, "label": "neutral"})],
                          NLI, nlp)
    return out


@pytest.mark.parametrize("premise", [
    "Workers cleaning up after St Patrick's Day.",  # a name inside a holiday
    "Three men in Scottish dress and helmets.",  # plural people
    "Groups of people are gathered around the statue.",
])
def test_no_person_a_name_can_stand_for(nlp, premise):
    out = nli(nlp, premise)
    assert isinstance(out, Rejection)


def test_a_name_used_as_a_modifier_is_no_person(nlp):
    t = nli(nlp, "A person in red is moving grass on a Harley motor.", "A person is outside.")
    assert t.fields == {"premise": "{person} in red is moving grass on a Harley motor.",
                        "hypothesis": "{person} is outside."}
    assert render_text(t.fields["premise"], {"person": ELIJAH}) == \
        "Elijah in red is moving grass on a Harley motor."  # the article went with the mention: no "A Elijah"


def test_reflexive_bound_to_the_plain_noun_phrase(nlp):
    t = nli(nlp, "A man sits by himself at Starbucks.", "The man is alone.")
    assert t.fields == {"premise": "{person} sits by {person.refl} at Starbucks.", "hypothesis": "{person} is alone."}


def test_the_same_person_in_premise_and_hypothesis_is_slotted_in_both(nlp):
    t = nli(nlp, "A woman attends to her laundry in a laundromat.", "A woman is doing laundry.")
    assert t.fields == {"premise": "{person} attends to {person.poss} laundry in a laundromat.",
                        "hypothesis": "{person} is doing laundry."}


def test_a_modified_person_noun_is_never_half_slotted(nlp):
    out = nli(nlp, "An old man is sleeping on a bench.", "A man is tired.")
    assert isinstance(out, Rejection) and "An old man" in out.reason
    out = nli(nlp, "A man is playing a guitar.", "A musician plays his instrument.")
    assert out.reason == "'A musician' in hypothesis may be 'A man'"


def test_a_name_still_written_outside_its_slots_is_rejected_not_half_slotted(nlp):
    out = nli(nlp, "Carolina went to see the Carolina Panthers play.", "Carolina is at a game.")
    assert isinstance(out, Rejection)
    assert out.reason == "'Carolina' is still written in premise outside the slots of 'Carolina'"
    # the same surname after another first name is someone else, whom the template may leave as written
    t = nli(nlp, "The youngest billionaire is Hind Hariri, daughter of Prime Minister Rafik Hariri.",
            "Hind Hariri is rich.")
    assert t.fields["premise"].endswith("of Prime Minister Rafik Hariri.") and t.fields["hypothesis"] == "{person} is rich."


def test_two_people_and_gendered_words(nlp):
    t = nli(nlp, "A girl playfully kicks a guy in the park.", "A girl is play fighting.")
    assert t.fields == {"premise": "{person} playfully kicks {person2} in the park.",
                        "hypothesis": "{person} is play fighting."}
    spec = ExtractSpec(source="d", task="sentiment", fields={"sentence": "s"}, answer="label")
    [t] = extract_batch([SourceRecord("d", "test", "1", {"s": "Tom is a good boy and he knows it.", "label": "x"})],
                        spec, nlp)
    assert t.fields["sentence"] == "{person} is a good {person:boy/girl/kid} and {person.subj} {person:knows} it."


def test_prefilter_turns_away_records_without_a_person_cue(nlp):
    assert not may_mention_person(["Two dogs are playing.", "He runs."])
    assert may_mention_person(["The girl runs."]) and may_mention_person(["Mrs. Carter runs."])
    out = nli(nlp, "Two dogs are playing together.", "Two mutts chase each other.")
    assert out.reason == PREFILTERED


def test_every_candidate_renders_cleanly_for_he_she_and_they(nlp):
    t = nli(nlp, "A woman wears a robe as she stands on stage.", "A woman is standing in her own home.")
    assert {p for p, _, _ in renderings(t)} == {"he", "she", "they"}
    assert render_findings([t], nlp) == {}
    bad = Template.create(task="nli", fields={"premise": "A {person} was here.", "hypothesis": "{person.subj} was."},
                          answer="neutral")
    found = render_findings([bad], nlp)[bad.template_id]
    assert any("article" in f for f in found) and any("they was" in f or "agreement" in f for f in found)


def test_the_name_gazetteer_ships_with_the_lexicons_beside_its_builder():
    import importlib.util

    from transforms.people.cues import GAZETTEER_PATH, load_gazetteer

    lexicons = os.path.join(ROOT, "configs", "data", "lexicons")
    assert os.path.samefile(GAZETTEER_PATH, os.path.join(lexicons, "name_gazetteer.tsv"))
    spec = importlib.util.spec_from_file_location("build_name_gazetteer",
                                                  os.path.join(lexicons, "build_name_gazetteer.py"))
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert os.path.samefile(builder.OUT, GAZETTEER_PATH)  # the builder rewrites the file extraction reads
    assert load_gazetteer()["Mary"] == "f"
