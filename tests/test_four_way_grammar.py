"""The grammar check of the two-person QA design (BBQ's): planted defects in a four-way template are found
by the parser and counted against exactly the rows that show them (real spaCy, the config's own renderer)."""

import re

import pytest

from pipelines.grammar import grammar_report
from schemas.records import Template
from transforms.bbq_pairs import PairItem, Person
from transforms.extract import load_nlp
from transforms.four_way import FourWayOptions, render_four_way
from transforms.four_way_plan import FourWayBlock
from transforms.four_way_probes import CUT, four_way_probes, sentences, value_class
from transforms.lexicon_context import LexiconContext
from transforms.plan import ConfigLayout, ShardTask
from validation.gate import add_grammar_check


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


def template(context, disambiguated, question, non_negative, options, record="1"):
    return Template.create(task="qa", source_dataset="t", source_record_id=record,
                           fields={"context": context, "context_disambiguated": disambiguated,
                                   "question": question, "question_non_negative": non_negative},
                           answer=options[0], options=options, metadata={"category": "Age"})


def pairs(firsts, seconds, words=(None,)):
    return [PairItem(Person(a, a), Person(b, b), w, None, "None", False) for w in words for a in firsts for b in seconds]


def planned(t, items, articles="sound", name="age"):
    """One four-way shard task over ``items`` (and the rows it renders, for counting defects in them)."""
    layout = ConfigLayout("qa", "age", "v", fill_type="explicit", name=name, design="four_way")
    block = FourWayBlock(name, t, items, [""] * len(items), [p.person.info for p in items],
                         FourWayOptions(seed=3, articles=articles))
    rows = render_four_way(t, items, block.targets, block.options, axis="age", fill_type="explicit",
                           schema=layout.schema, groups=block.groups).to_pylist()
    return [ShardTask(layout, [block], 0, 1, "test", "four_way", 3, 1000)], rows


def cells_with(rows, pattern) -> int:
    """Row cells (the context, the question, each answer option) whose text shows ``pattern``."""
    found = re.compile(pattern)
    return sum(bool(found.search(r["context"])) + bool(found.search(r["question"]))
               + sum(bool(found.search(o)) for o in r["options"]) for r in rows)


def counted(report, rule, detail_start) -> int:
    return sum(f["rows"] for f in report["listed"] if f["rule"] == rule and f["detail"].startswith(detail_start))


PLANTED = template("I met {a:person} and {person2} at an university.",  # every row's context
                   "The {person} came with with the {person2}. {=person2} stayed.",  # disambiguated rows only
                   "Who said they likes {word1}?",  # the negative question's rows
                   "Who was kind?",
                   ("The {person}", "The on {person2}"))  # "on on" only with "on welfare"


def test_planted_defects_are_found_and_mapped_to_the_rows_that_show_them(nlp):
    items = pairs(["grandfather", "elderly man"], ["on welfare", "Ana Lopez"], ["tea", "coffee"])
    tasks, rows = planned(PLANTED, items)
    report = grammar_report(tasks, LexiconContext({}), nlp)
    assert report["rows_checked"] == len(rows) == 4 * len(items)
    # every defect counted against exactly the cells of the rendered rows that show it
    assert counted(report, "article", "an university") == cells_with(rows, r"\ban university") == 4 * 8
    assert counted(report, "doubled_word", "with with") == cells_with(rows, r"\bwith with\b") == 2 * 8
    assert counted(report, "agreement", "they … likes") == cells_with(rows, r"they likes") == 2 * 8
    assert counted(report, "doubled_word", "on on") == cells_with(rows, r"\bon on\b") == 4 * 4
    assert counted(report, "lowercase_start", "on") == cells_with(rows, r"\. on welfare stayed") == 2 * 4
    assert report["counts"] == {"agreement": 16, "article": 32, "doubled_word": 32, "leftover_marker": 0,
                                "lowercase_start": 8}
    # … and named by template, field and the filler class that shows it
    [on_on] = [f for f in report["listed"] if f["detail"] == "on on"]
    assert on_on["template_id"] == PLANTED.template_id and on_on["field"] == "options[1]"
    assert on_on["fillers"] == ["person2: */on="] and on_on["configs"] == {"age": 16}
    [lower] = [f for f in report["listed"] if f["rule"] == "lowercase_start"]
    assert lower["field"] == "context_disambiguated" and lower["fillers"] == ["person2: */lower"]
    assert lower["text"] == "on welfare stayed."
    gate = add_grammar_check({"checks": [], "passed": True, "failed": []}, report, 0)
    assert not gate["passed"] and gate["failed"] == ["*/grammar"]


def test_a_template_without_defects_has_no_findings(nlp):
    clean = template("I met {a:person} and {person2} at a university.", "The {person} came with the {person2}.",
                     "Who said they like {word1}?", "Who was kind?", ("The {person}", "The one {person2}"))
    tasks, rows = planned(clean, pairs(["grandfather", "elderly man", "18-year-old"], ["on welfare"], ["tea"]))
    report = grammar_report(tasks, LexiconContext({}), nlp)
    assert report["cells"] == 0 and report["rows_checked"] == len(rows)


def test_bbqs_own_article_rule_is_checked_as_its_rows_show_it(nlp):
    """BBQ v1's rule ("a" → "an" before every vowel letter once any filler starts with one) writes
    "an university" only in the pairs it fires for, and leaves "a 80-year-old" where it does not."""
    v1 = template("Listen. A {=person} met a {=person2} at a university.", "Then they left.", "Who left?",
                  "Who stayed?", ("The {=person}", "The {=person2}"))
    items = pairs(["elderly man", "grandson", "82-year-old"], ["college student", "optometrist", "80-year-old"])
    tasks, rows = planned(v1, items, articles="bbq_v1")
    report = grammar_report(tasks, LexiconContext({}), nlp)
    assert counted(report, "article", "an university") == cells_with(rows, r"\ban university") > 0
    assert counted(report, "article", "a 80") == cells_with(rows, r"\ba 80") > 0
    assert counted(report, "article", "A 82") == cells_with(rows, r"\bA 82") > 0
    # the rule reads " A" after "Listen. ": the sentence is cut from the rendered field, not rendered alone
    assert cells_with(rows, r"Listen\. An elderly") > 0 and counted(report, "article", "A elderly") == 0


def test_probes_are_per_sentence_and_class_not_per_pair():
    names = [f"Name{i} Family{i}" for i in range(60)]
    t = template("{person} met {person2}. It rained.", "{person} left.", "Who left?", "Who stayed?",
                 ("{person}", "{person2}"))
    items = pairs(names[:30], names[30:])  # 900 pairs of proper names: one class
    tasks, rows = planned(t, items)
    probes = four_way_probes(tasks)
    unknown = [p for p in probes if p.field == "options[unknown]"]
    shown = [p for p in probes if p.field != "options[unknown]"]
    # two context sentences, one disambiguating, two questions, two answers: one probe each
    assert len(shown) == 7 and sum(sum(p.group_rows.values()) for p in shown) == len(rows) == 3600
    assert {p.field: p.rows["age"] for p in shown} == {"context": 3600, "context_disambiguated": 1800,
                                                       "question": 1800, "question_non_negative": 1800,
                                                       "options[0]": 3600, "options[1]": 3600}
    # the "unknown" phrasings: one probe each, counted against the rows that offer them
    offered = {}
    for r in rows:
        for o in r["options"]:
            if r["answer_info"][r["options"].index(o)]["info"] == "unknown":
                offered[o] = offered.get(o, 0) + 1
    assert {p.text: p.rows["age"] for p in unknown} == offered


def test_sentences_and_value_classes():
    slot = ("person", "", "filler", False, "")
    parts = sentences(["Listen. It rained.  \"Yes,\" said ", slot, ", e.g. to Mr. Lee. ", slot, " left."])
    assert parts == [["Listen."], [" It rained."], ["  \"Yes,\" said ", slot, ", e.g. to Mr. Lee."], [" ", slot, " left."]]
    assert CUT not in "".join(p for s in parts for p in s if isinstance(p, str))
    before = frozenset({"with"})
    assert value_class("with friends", before, frozenset()) == "*/with="
    assert value_class("elderly man", frozenset({"a", "an"}), frozenset()) == "an"
    assert value_class("elderly man", frozenset({"a"}), frozenset(), bbq_v1=True) == "an/vowel"
    assert value_class("a one percenter", bbq_v1=True) == "*/a one"  # BBQ's rule would write "an one"
    assert value_class("a F2M person") == "*/a F2M"
    assert value_class("people people") == "*/doubled"
    assert value_class("on welfare", frozenset({"^"})) == "*/lower"
    assert value_class(None) == "none"
