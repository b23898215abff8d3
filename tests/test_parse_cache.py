"""The worker's cache of parsed texts (transforms/parse_cache.py): a passage several records share is parsed
once, not once a batch or a quota-order round, and the candidates are the same with and without it."""

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import SourceRecord, Template
from schemas.spec import ExtractSpec
from transforms import parse_cache
from transforms.extract import extract_batch, load_nlp
from transforms.parse_cache import ParseCache, doc_bytes, model_id
from transforms.quota_order import QuotaPlan, extract_in_rounds
from transforms.quota_order import ExtractInQuotaOrder

STORIES = [
    "Mary walked to the harbour because she wanted fresh fish. The boats were late.",
    "John took the train to the museum, where he met a guide who showed him the old maps.",
    "Anna baked bread for the fair. She sold every loaf before noon.",
]
QUESTIONS = ["Where did {} go?", "Why did {} go there?", "What did {} want?", "When was {} done?"]
# a quota no candidate counts towards (none passes the filter before it): the rounds read every record, in
# two rounds (the first sized for the quota, the next eight times further)
PLAN = QuotaPlan("stories", 2, ({"rule": "words", "max": 1},))
ENTRY = ExtractSpec(source="stories", task="qa", fields={"context": "story", "question": "question"},
                    answer="answer", settings={"focus": "question"})


def story_records() -> list[SourceRecord]:
    """Four questions a story, as MCTest and DROP explode them: each story is the context of four records."""
    names = ["Mary", "John", "Anna"]
    return [SourceRecord("stories", "test", f"s{i}q{j}",
                         {"story": story, "question": q.format(names[i]), "answer": names[i]})
            for i, story in enumerate(STORIES) for j, q in enumerate(QUESTIONS)]


def test_a_repeated_text_is_parsed_once_across_calls():
    nlp, cache = load_nlp(), ParseCache()
    first = cache.parse(nlp, [STORIES[0], STORIES[1], STORIES[0]])
    assert cache.parsed == 2 and first[0] is first[2]
    again = cache.parse(nlp, [STORIES[0], STORIES[2]])
    assert cache.parsed == 3 and cache.hits == 1 and again[0] is first[0]
    assert [t.text for t in again[1]] == [t.text for t in nlp(STORIES[2])]


def test_the_cache_is_bounded_by_bytes_and_evicts_the_least_recently_used():
    nlp = load_nlp()
    sizes = [doc_bytes(nlp(s)) for s in STORIES]
    assert sizes[2] < sizes[1]
    cache = ParseCache(max_bytes=sizes[0] + sizes[1])
    cache.parse(nlp, STORIES[:2])
    cache.parse(nlp, [STORIES[0]])  # used again: STORIES[1] is now the least recently used
    cache.parse(nlp, [STORIES[2]])  # over the bound: the least recently used goes first
    assert cache.bytes <= cache.max_bytes and cache.parsed == 3
    cache.parse(nlp, [STORIES[0]])
    assert cache.parsed == 3  # still there (the smallest of the three joined it)
    cache.parse(nlp, [STORIES[1]])
    assert cache.parsed == 4  # evicted: parsed again
    tiny = ParseCache(max_bytes=10)
    tiny.parse(nlp, [STORIES[0]])
    tiny.parse(nlp, [STORIES[0]])
    assert len(tiny) == 0 and tiny.parsed == 2  # a doc over the bound is parsed, never kept


def test_the_key_holds_the_model_and_the_text():
    nlp = load_nlp()
    assert nlp.meta["version"] in model_id(nlp) and "ner" in model_id(nlp)
    assert ParseCache.key(model_id(nlp), "a") != ParseCache.key(model_id(nlp), "b")
    assert ParseCache.key(model_id(nlp), "a") != ParseCache.key("another model", "a")


def test_batches_and_rounds_with_the_cache_parse_each_story_once_and_keep_the_same_candidates():
    nlp, records = load_nlp(), story_records()

    def run(parses):
        # one record a batch: without the cache each batch parses its story again
        outputs, _, log = extract_in_rounds(
            records, lambda chosen: [o for r in chosen for o in extract_batch([r], ENTRY, nlp, None, 3, parses)],
            PLAN, 3)
        return sorted((o.to_dict() for o in outputs), key=repr), log

    cache = ParseCache()
    with_cache, log = run(cache)
    without, _ = run(None)
    assert with_cache == without
    assert sum(isinstance(o, dict) and "template_id" in o for o in with_cache) >= 6
    assert len([n for n, _ in log if n]) > 1  # the stories' questions fell into several rounds
    # three stories and twelve questions (the answers are the names, parsed once each)
    assert cache.parsed == len(STORIES) + len(records) + 3


def test_the_beam_transform_parses_each_story_once_a_worker_and_writes_the_same(monkeypatch):
    monkeypatch.setattr(parse_cache, "_WORKER_CACHES", {})  # this test's cache, whatever ran before
    records = [r.to_dict() for r in story_records()]
    filters = {"stories": [*PLAN.before, {"rule": "quota", "max": PLAN.quota}]}

    def run(cache_bytes):
        with beam.Pipeline() as p:
            out = (p | beam.Create(records)
                   | ExtractInQuotaOrder([ENTRY], filters, 3, rounds=3, parse_cache_bytes=cache_bytes))
            ids = out["templates"] | beam.Map(lambda t: (t["template_id"], t["fields"]["context"]))
            rejected = out["rejected"] | beam.Map(lambda r: (r["source_record_id"], r["reason"]))
            assert_that(ids, equal_to(expected_ids), label="templates")
            assert_that(rejected, equal_to(expected_rejected), label="rejected")

    outs = extract_batch(story_records(), ENTRY, load_nlp(), None, 3)
    expected_ids = [(o.template_id, o.fields["context"]) for o in outs if isinstance(o, Template)]
    expected_rejected = [(o.source_record_id, o.reason) for o in outs if not isinstance(o, Template)]
    assert expected_ids
    run(0)
    assert parse_cache._WORKER_CACHES == {}
    run(parse_cache.DEFAULT_MAX_BYTES)
    (cache,) = parse_cache._WORKER_CACHES.values()
    story_parses = [doc for doc, _ in cache._docs.values() if doc.text in STORIES]
    assert len(story_parses) == len(STORIES)
    assert cache.parsed == len(STORIES) + len(records) + 3  # each distinct text once, in every round


@pytest.mark.parametrize("max_bytes", [0, 1])
def test_a_cache_too_small_for_any_doc_still_parses_everything(max_bytes):
    nlp = load_nlp()
    cache = ParseCache(max_bytes=max_bytes)
    docs = cache.parse(nlp, STORIES)
    assert [d.text for d in docs] == STORIES and len(cache) == 0
