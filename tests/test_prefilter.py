"""The prefilter (transforms/prefilter.py): each rule alone, and that it never drops a record the full
path (extraction, then the spec's candidate filters) keeps: on hand-written records, random sentences,
the gold set and a sample of every real source."""

import os
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.records import SourceRecord, Template
from schemas.spec import ExtractSpec
from transforms.candidate_filters import _words, apply_filters, sample_key
from transforms.extract import extract_batch, load_nlp, record_prefilter, record_texts
from transforms.people.cues import may_mention_person
from transforms.prefilter import (PERSON_REASON, Prefilter, Raw, filter_rules, is_prefiltered, min_slotted_chars,
                                  min_slotted_words)
from transforms.people.cues import GAZETTEER_PATH

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CALM = os.path.join(os.path.dirname(ROOT), "shared", "data", "calm")
GOLD = os.path.join(HERE, "data", "extract_gold.jsonl")
SEED = 7


def raw(fields, answer="", options=(), metadata=None, record_id="1"):
    items = list(fields.items()) + ([("answer", answer)] if answer else []) + \
        [(f"options[{i}]", o) for i, o in enumerate(options)]
    return Raw(fields, answer, items, metadata or {}, "src", record_id)


def verdict(filters, r, seed=SEED):
    return Prefilter(filters, GAZETTEER_PATH, seed)(r)


# --------------------------------------------------------------------------- one rule at a time

def test_the_person_rule_reads_names_in_any_script_hyphenated_names_and_lower_case_titles():
    assert verdict([], raw({"t": "The soup was cold."})) == PERSON_REASON
    assert is_prefiltered(PERSON_REASON)
    assert may_mention_person(["André sang."])  # a gazetteer name with an accent
    assert may_mention_person(["Mary-Jane sang."])  # the parser splits it; "Mary" starts the name
    assert may_mention_person(["Then mr Carter sang."])  # a title the parser takes in any case
    assert not may_mention_person(["I miss you."])  # "miss" before a lower-case word is the verb
    assert may_mention_person(["what are the person's qualifications?"])  # TweetQA: a possessive noun


def test_slotting_bounds_hold_for_the_mentions_a_text_can_have():
    text = "Mr. Christopher Montgomery-Smith met a man at the station."
    # the longest shortening: the name and "a man" both become {person}
    slotted = "{person} met {person2} at the station."
    assert min_slotted_chars(text) <= len(slotted) and min_slotted_words(text) <= _words(slotted)
    # no word of a mention longer than {person}: nothing can shrink
    assert min_slotted_chars("Then we went to 3 shops, quickly") == len("Then we went to 3 shops, quickly")
    # a lower-case text can hold a name anywhere (TweetQA's questions): no bound
    assert min_slotted_chars("who did john smith thank?") <= len("who did {person} thank?")


def test_words_and_context_chars_reject_only_what_stays_too_long():
    long_context = "It rained on the hills for days. " * 60  # 1,980 characters, 420 words
    r = raw({"context": long_context + "Mary left.", "question": "Who left?"}, answer="Mary")
    assert verdict([{"rule": "context_chars", "max": 1500}], r).startswith("context at least")
    assert verdict([{"rule": "context_chars", "max": 2500}], r) is None
    assert verdict([{"rule": "words", "max": 150}], r).startswith("at least")
    assert verdict([{"rule": "words", "min": 500}], r) is None  # a minimum needs the slotted text
    short = raw({"context": "Mary Ann Smith-Jones and Mr. Peter Parker met.", "question": "Who met?"}, "Mary")
    # 10 words as written, but the names may fold into {person} and {person2}: "{person} and {person2} met."
    assert verdict([{"rule": "words", "max": 7}], short) is None


def test_person_in_needs_a_word_a_slot_can_take_in_each_field():
    rule = [{"rule": "person_in", "fields": ["premise", "hypothesis"]}]
    assert "in hypothesis" in verdict(rule, raw({"premise": "A man plays.", "hypothesis": "The music is loud."}))
    for hypothesis in ("He plays.", "A boy plays.", "The doctor plays.", "Smith plays.", "smith plays."):
        # a pronoun, a person or role noun, or a word the premise writes with a capital ("Smith" after
        # "Mary Smith") can become a slot
        assert verdict(rule, raw({"premise": "Mary Smith plays.", "hypothesis": hypothesis})) is None, hypothesis
    assert "in hypothesis" in verdict(rule, raw({"premise": "A man plays.", "hypothesis": "Dogs play."}))
    # a word both texts write with a capital could be a name word, even "A" (an initial: "Mary A. Smith")
    assert verdict(rule, raw({"premise": "A man plays.", "hypothesis": "A dog plays."})) is None


def test_metadata_in_and_sample_are_exact():
    rule = [{"rule": "metadata_in", "field": "relation", "values": ["occupation"]}]
    r = raw({"t": "Mary sang."}, metadata={"relation": "occupation"})
    assert verdict(rule, r) is None
    assert "'place of birth'" in verdict(rule, replace(r, metadata={"relation": "place of birth"}))
    sample = [{"rule": "sample", "rate": 0.5}]
    for i in range(40):
        r = raw({"t": "Mary sang."}, record_id=str(i))
        t = Template.create(task="statement", fields={"text": "{person} sang."}, source_dataset="src",
                            source_record_id=str(i))
        kept = int(sample_key(t, SEED), 16) / 16 ** 16 < 0.5
        assert (verdict(sample, r) is None) == kept
    assert filter_rules(sample, seed=None) == []  # without the spec's seed it is not judged


def test_answer_in_context_rejects_only_an_answer_slotting_cannot_change():
    rule = [{"rule": "answer_in_context"}]
    ctx = {"context": "Mary went to the kitchen.", "question": "Where is Mary?"}
    assert verdict(rule, raw(ctx, answer="kitchen")) is None
    assert verdict(rule, raw(ctx, answer="the garden")).startswith("the answer is not")
    assert verdict(rule, raw(ctx, answer="")) == "no answer (prefilter)"
    # the answer may become a slot the context also has ("Mary Smith" -> "{person}")
    assert verdict(rule, raw(ctx, answer="Mary Smith")) is None
    # or lie inside a slot of the context once slotted: "son" in "{person}", "has" in "{person:has}"
    # (she's been -> {person.subj} {person:has} been)
    for inside in ("son", "has", "Poss"):
        assert verdict(rule, raw(ctx, answer=inside)) is None, inside


def test_rules_come_only_from_filters_before_the_first_quota():
    filters = [{"rule": "words", "max": 2}, {"rule": "quota", "max": 5}, {"rule": "context_chars", "max": 1}]
    assert len(filter_rules(filters)) == 1
    r = raw({"context": "Mary went to the kitchen and then to the garden.", "question": "Where?"}, "garden")
    assert verdict(filters[1:], r) is None  # a record dropped after a quota would free a place for another


# --------------------------------------------------------------------------- against the full path

@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


def assert_never_drops_a_kept_record(spec, records, nlp, seed=SEED, max_chars=None, filters=None):
    """Extract with spaCy on every record, apply the per-record filters before the first quota, and check
    the prefilter passes every record kept; returns (records kept, records the prefilter turned away)."""
    filters = spec.filters if filters is None else filters
    first_quota = next((i for i, f in enumerate(filters) if f["rule"] == "quota"), len(filters))
    everyone = replace(spec, settings={**spec.settings, "prefilter": False})
    outputs = extract_batch(records, everyone, nlp, max_chars, seed)
    kept, _ = apply_filters([o for o in outputs if isinstance(o, Template)], filters[:first_quota], seed)
    check = record_prefilter(spec, seed)
    turned_away = {}
    for r in records:
        texts = record_texts(r, spec)
        if not isinstance(texts, str):
            why = check(r, texts)
            if why is not None:
                turned_away[r.record_id] = why
    lost = {t.source_record_id: turned_away[t.source_record_id] for t in kept
            if t.source_record_id in turned_away}
    assert not lost, lost
    with_prefilter = extract_batch(records, spec, nlp, max_chars, seed)
    assert {t.template_id for t in apply_filters([o for o in with_prefilter if isinstance(o, Template)],
                                                 filters[:first_quota], seed)[0]} == {t.template_id for t in kept}
    return len(kept), len(turned_away)


NLI = ExtractSpec(source="s", task="nli", fields={"premise": "p", "hypothesis": "h"}, answer="label",
                  filters=[{"rule": "person_in", "fields": ["premise", "hypothesis"]},
                           {"rule": "words", "min": 4, "max": 14}, {"rule": "quota", "max": 3}])
QA = ExtractSpec(source="s", task="qa", fields={"context": "c", "question": "q"}, answer="a",
                 filters=[{"rule": "context_chars", "max": 60}, {"rule": "answer_in_context"},
                          {"rule": "sample", "rate": 0.7}])


def test_hand_written_records_near_every_rule_boundary(nlp):
    def nli(i, p, h):
        return SourceRecord("s", "test", str(i), {"p": p, "h": h, "label": "neutral"})

    records = [nli(i, p, h) for i, (p, h) in enumerate([
        ("A man plays a guitar.", "A man plays."), ("A man plays a guitar.", "Music is playing."),
        ("Mary Smith plays a guitar.", "Smith plays."), ("Mary plays a guitar.", "She plays."),
        ("Mr. Christopher Montgomery-Smith plays the old piano in the hall tonight.", "He plays."),
        ("Mr. Christopher Montgomery-Smith plays the old piano in the big hall tonight again.", "He plays."),
        ("The girl sings.", "The girl sings loudly today."), ("Two dogs run.", "Dogs run.")])]
    kept, away = assert_never_drops_a_kept_record(NLI, records, nlp)
    assert kept >= 3 and away >= 2

    def qa(i, c, q, a):
        return SourceRecord("s", "test", str(i), {"c": c, "q": q, "a": a})

    records = [qa(i, c, q, a) for i, (c, q, a) in enumerate([
        ("Mary went to the kitchen.", "Where is Mary?", "kitchen"),
        ("Mary went to the kitchen.", "Where is Mary?", "garden"),
        ("Mary Smith went to the kitchen.", "Who went?", "Mary Smith"),
        ("Mary went to the kitchen. Then she went to the garden and the hall.", "Where is Mary?", "hall"),
        ("John met Mary in the park on a sunny day in June.", "Who met Mary?", "John"),
        ("Tom went home.", "Where is Tom?", "home")] * 3)]
    assert_never_drops_a_kept_record(QA, records, nlp)


_WORDS = ["Mary", "John", "Smith", "Mr.", "Mrs.", "a", "the", "man", "woman", "girl", "he", "she", "her",
          "his", "went", "saw", "met", "the", "park", "doctor", "dog", "kitchen", "-", "and", "quickly"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(_WORDS), min_size=2, max_size=12), min_size=2, max_size=2),
       st.integers(min_value=4, max_value=10), st.integers(min_value=15, max_value=60))
def test_random_sentences_never_lose_a_kept_record(nlp, sentences, most_words, most_chars):
    premise, hypothesis = (" ".join(s).capitalize() + "." for s in sentences)
    spec = replace(NLI, filters=[{"rule": "person_in", "fields": ["premise", "hypothesis"]},
                                 {"rule": "words", "max": most_words},
                                 {"rule": "context_chars", "field": "premise", "max": most_chars}])
    record = SourceRecord("s", "test", "1", {"p": premise, "h": hypothesis, "label": "neutral"})
    assert_never_drops_a_kept_record(spec, [record], nlp)


def _calm_spec():
    from pipelines.spec import load_spec

    return load_spec(os.path.join(ROOT, "configs", "calm-extract.yaml"), data_dir=CALM)


def _with_resolved_filters(spec, ex):
    from pipelines.graph import resolved_filters

    return replace(ex, filters=resolved_filters(spec, ex))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(CALM), reason="../shared/data/calm is not present (a fresh clone)")
def test_the_gold_set_never_loses_a_kept_record(nlp):
    from pipelines.extract_eval import gold_records, load_gold

    spec = _calm_spec()
    kept = away = 0
    for ex, records in gold_records(spec, load_gold(GOLD)):
        k, a = assert_never_drops_a_kept_record(_with_resolved_filters(spec, ex), records, nlp, spec.seed,
                                                spec.filters.max_chars)
        kept, away = kept + k, away + a
    assert kept >= 100 and away >= 50  # the check has records on both sides


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(CALM), reason="../shared/data/calm is not present (a fresh clone)")
def test_a_sample_of_every_real_source_never_loses_a_kept_record(nlp):
    from transforms.ingest import read_source

    spec = _calm_spec()
    sources = {s.name: s for s in spec.sources}
    for ex in spec.extract:
        src = sources[ex.source]
        records = []
        for r in read_source(src, spec.resolve(src.path)):
            if isinstance(r, SourceRecord):
                records.append(r)
            if len(records) >= 60:
                break
        assert_never_drops_a_kept_record(_with_resolved_filters(spec, ex), records, nlp, spec.seed,
                                         spec.filters.max_chars)
