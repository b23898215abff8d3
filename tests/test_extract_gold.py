"""Extraction measured on the hand-checked gold set (tests/data/extract_gold.jsonl over ../shared/data/calm)."""

import os

import pytest

from pipelines.extract_eval import extract_gold, gold_spans, load_gold, score
from pipelines.spec import load_spec
from schemas.errors import InputError
from schemas.records import Template

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CALM = os.path.join(os.path.dirname(ROOT), "shared", "data", "calm")
GOLD = os.path.join(HERE, "data", "extract_gold.jsonl")


def test_gold_set_shape():
    gold = load_gold(GOLD)
    assert len(gold) >= 300
    assert len({g["source"] for g in gold}) >= 8
    assert len({(g["source"], g["record_id"]) for g in gold}) == len(gold)
    assert sum(bool(g["people"]) for g in gold) >= 150 and sum(not g["people"] for g in gold) >= 50


def test_gold_spans_and_scoring_rules():
    g = {"source": "s", "record_id": "1", "line": 1,
         "people": [[["premise", "A man", 0], ["hypothesis", "his", 0]], [["premise", "Mary", "*"]]]}
    texts = {"premise": "A man met Mary. Mary left.", "hypothesis": "The man lost his hat."}
    assert gold_spans(g, texts) == [frozenset({("premise", 0, 5), ("hypothesis", 13, 16)}),
                                    frozenset({("premise", 10, 14), ("premise", 16, 20)})]
    with pytest.raises(InputError, match="no occurrence 1 of 'his'"):
        gold_spans({**g, "people": [[["hypothesis", "his", 1]]]}, texts)
    right = Template.create(task="nli", fields={"premise": "{person} met Mary. Mary left.", "hypothesis": "x"},
                            provenance=("extract:person_mentions", "person: premise[0:5], hypothesis[13:16]"))
    half = Template.create(task="nli", fields={"premise": "{person} met Mary.", "hypothesis": "x"},
                           provenance=("extract:person_mentions", "person: premise[0:5]"))
    s = score([g], {("s", "1"): texts}, {("s", "1"): right})["all"]
    assert (s.kept, s.correct, s.precision, s.recall) == (1, 1, 1.0, 1.0)
    s = score([g], {("s", "1"): texts}, {("s", "1"): half})["all"]
    assert (s.kept, s.correct, s.recall) == (1, 0, 0.0)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(CALM), reason="../shared/data/calm is not present (a fresh clone)")
def test_precision_and_recall_on_the_gold_set():
    spec = load_spec(os.path.join(ROOT, "configs", "calm-extract.yaml"), data_dir=CALM)
    gold = load_gold(GOLD)
    texts_of, outputs = extract_gold(spec, gold)
    scores = score(gold, texts_of, outputs)
    overall = scores["all"]
    assert overall.precision >= 0.9, scores
    assert overall.recall >= 0.7, scores
