"""The parser-based grammar check: the defect families regex lint misses, mapped back to rows (real spaCy)."""

import pytest

from pipelines.grammar import grammar_report
from schemas.spec import DesignSpec, GroupSpec
from schemas.articles import indefinite_article
from schemas.records import LexiconEntry, Template
from transforms.plan import ConfigLayout, ShardTask, plan_config
from transforms.lexicon_context import LexiconContext
from transforms.extract import load_nlp
from transforms.grammar_probes import entry_class, grammar_probes
from validation.gate import add_grammar_check
from validation.grammar_check import check_doc


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


def names(*specs):
    return [LexiconEntry("n", "gender", group, value, pronoun_set=ps) for group, value, ps in specs]


PEOPLE = names(("male", "Omar", "he"), ("male", "Ivan", "he"), ("female", "Ana", "she"),
               ("non-binary", "Alex", "they"), ("non-binary", "Sam", "they"), ("non-binary", "Robin", "they"))
GROUPS = [GroupSpec(name="male"), GroupSpec(name="female"), GroupSpec(name="non-binary")]


def planned(texts, lexicon=PEOPLE, groups=GROUPS, task="sentiment", overrides=None):
    """Shard tasks of one config over ``texts`` (one template each), every entry of every group."""
    field = {"sentiment": "sentence", "statement": "text"}[task]
    templates = [Template.create(task=task, fields={field: t}, answer="x" if task == "sentiment" else "",
                                 source_record_id=str(i), ordinal=i) for i, t in enumerate(texts)]
    ctx = LexiconContext({"n": lexicon}, overrides)
    layout = ConfigLayout(task, "gender", "n", name="c")
    shards = plan_config(layout, groups, DesignSpec(strategy="all"), templates, ctx, seed=0, rows_per_shard=10**6)
    return [ShardTask(layout, blocks, i, len(shards), "test", "all", 0, 1000) for i, blocks in enumerate(shards)], ctx


def rules(nlp, text, overrides=None):
    return [f.rule for f in check_doc(nlp(text), overrides)]


# ------------------------------------------------------------------------------------- the checker


@pytest.mark.parametrize("text", ["Alex said they listens to music.", "They tries hard.", "Then they visits often.",
                                  "They was late.", "They try hard and visits often.", "He listen to music.",
                                  "She were late."])
def test_agreement_errors_are_found(nlp, text):
    assert rules(nlp, text) == ["agreement"]


@pytest.mark.parametrize("text", ["Alex said they listen to music.", "She always watches TV.", "Do they know?",
                                  "If she were rich, she would go.", "They were late and she is tired.",
                                  "He has a dog that they like."])
def test_agreement_that_is_right_is_not_flagged(nlp, text):
    assert rules(nlp, text) == []


@pytest.mark.parametrize("text, found", [
    ("I'm a F2M person.", ["article"]), ("She is a NRA member.", ["article"]), ("I'm a LGBTQ person.", ["article"]),
    ("He has a MBA.", ["article"]), ("She drives a SUV.", ["article"]), ("He is an US citizen.", ["article"]),
    ("She is a 18-year-old.", ["article"]), ("It is an UN agency.", ["article"]), ("He is a FBI agent.", ["article"]),
    ("He is an FBI agent at a NATO base, an 80-year-old with a UN pass.", []),
    ("The the end.", ["doubled_word"]), ("{person} left.", ["leftover_marker"]),
    ("It rained. the end came.", ["lowercase_start"]), ("e.g. this is fine.", ["lowercase_start"]),
    ("I left, i.e. early.", []), ("Fruit, e.g. apples, is fine.", []),
])
def test_articles_doubles_markers_and_capitals(nlp, text, found):
    assert rules(nlp, text) == found


def test_article_overrides_are_exceptions(nlp):
    assert rules(nlp, "He is a FBI agent.", {"FBI": "a"}) == []


@pytest.mark.parametrize("phrase, article", [
    ("NRA member", "an"), ("LGBTQ person", "an"), ("MBA", "an"), ("SUV", "an"), ("US", "a"), ("UN", "a"),
    ("FBI agent", "an"), ("18-year-old", "an"), ("80-year-old", "an"), ("8", "an"), ("11", "an"), ("1", "a"),
    ("100-year-old", "a"), ("NATO summit", "a"), ("NASA engineer", "a"), ("UNICEF worker", "a"),
    ("F2M person", "an"), ("M2F person", "an"), ("FoC person", "an"), ("PhD", "a"), ("HIV test", "an"),
    ("NAACP member", "an"), ("MAGA hat", "a"), ("US-born person", "a"), ("European", "a"), ("hour", "an"),
    ("McDonald", "a"), ("honest man", "an"), ("X-ray", "an"), ("A", "an"), ("USDA rule", "a"),
])
def test_article_rule_by_how_the_word_is_read(phrase, article):
    assert indefinite_article(phrase) == article


# ------------------------------------------------------------------------------------- probes and rows


def test_calm_syntax_verb_off_the_old_list_is_found_and_counted(nlp):
    """What the word-list importer made of "<PERSON> said <he/she/they> listens to music."."""
    tasks, ctx = planned(["{person} said {person.subj} listens to music."])
    report = grammar_report(tasks, ctx, nlp)
    assert report["counts"]["agreement"] == 3  # the three "they" rows, not the he/she ones
    # one probe per pronoun set: no "a"/"an" before the name, so its article is no part of the class
    assert report["rows_checked"] == 6 and report["probes"] == 3 and report["cells"] == 3
    [finding] = report["listed"]
    assert finding["fillers"] == ["they/*"] and finding["text"] == "Alex said they listens to music."
    assert finding["rows"] == 3 and finding["configs"] == {"c": 3} and finding["rule"] == "agreement"
    fixed, ctx = planned(["{person} said {person.subj} {person:listens} to music."])
    assert grammar_report(fixed, ctx, nlp)["cells"] == 0


def test_singular_verb_for_he_she_is_found_too(nlp):
    tasks, ctx = planned(["{person} said {person.subj} listen to music."])
    report = grammar_report(tasks, ctx, nlp)
    assert report["counts"]["agreement"] == 3 and {f["fillers"][0].split("/")[0] for f in report["listed"]} == {
        "he", "she"}


def test_holistic_style_initialism_with_a_baked_in_article(nlp):
    """Noun phrases carry their article (HolisticBias): an entry whose article misreads its initialism is a
    class of its own, so the probe shows it and every row of it is counted."""
    phrases = names(("queer", "a Deaf person", "they"), ("queer", "a F2M person", "they"),
                    ("queer", "a NRA member", "they"), ("queer", "an LGBTQ person", "they"),
                    ("queer", "a LGBTQ person", "they"))
    tasks, ctx = planned(["I'm {person}.", "I love being {person}."], phrases, [GroupSpec(name="queer")], "statement")
    report = grammar_report(tasks, ctx, nlp)
    assert report["counts"]["article"] == 6 and report["rows_checked"] == 10
    details = sorted({f["detail"].split(":")[0] for f in report["listed"]})
    assert details == ["a F2M", "a LGBTQ", "a NRA"]
    # the filler's own first word ("a") takes "an": the class's second part, for an article written before it
    assert entry_class(phrases[1]) == "they/an/a F2M" and entry_class(phrases[0]) == "they/an"


def test_article_slot_and_literal_article_before_the_filler(nlp):
    people = names(("x", "NRA member", "he"), ("x", "US citizen", "he"), ("x", "18-year-old", "she"),
                   ("x", "FBI agent", "they"))
    tasks, ctx = planned(["I met {a:person}."], people, [GroupSpec(name="x")])
    assert grammar_report(tasks, ctx, nlp)["cells"] == 0  # the renderer's article: right for every entry
    tasks, ctx = planned(["I met a {person}."], people, [GroupSpec(name="x")])
    report = grammar_report(tasks, ctx, nlp)
    assert report["counts"]["article"] == 3  # "a NRA", "a 18-year-old", "a FBI"; "a US" is right


def test_probes_are_per_class_not_per_row():
    many = names(*[("male", f"Name{i}", "he") for i in range(200)], *[("female", f"Nom{i}", "she") for i in range(200)],
                 ("female", "Ana", "she"))
    tasks, ctx = planned(["{person} left.", "{person.subj} stayed.", "I met a {person}."], many,
                         [GroupSpec(name="male"), GroupSpec(name="female")])
    probes = grammar_probes(tasks, ctx)
    shown = {(p.text.split()[-1], p.classes) for p in probes}
    # "{person} left.": nothing shows the class (one probe); "… stayed.": the pronoun set; "a {person}": the article
    assert len(probes) == 1 + 2 + 2 and sum(p.rows["c"] for p in probes) == 3 * 401
    assert ("Ana.", ("*/an",)) in shown and ("stayed.", ("she/*",)) in shown
    assert [p.rows["c"] for p in probes if p.classes == ("*/an",)] == [1]


def test_gate_fails_on_findings(nlp):
    tasks, ctx = planned(["{person} said {person.subj} listens to music."])
    grammar = grammar_report(tasks, ctx, nlp)
    report = add_grammar_check({"checks": [], "passed": True, "failed": []}, grammar, 0)
    assert not report["passed"] and report["failed"] == ["*/grammar"]
    assert add_grammar_check({"checks": [], "passed": True, "failed": []}, grammar, 3)["passed"]


def test_spacy_is_not_loaded_without_templates(monkeypatch):
    import transforms.nlp

    monkeypatch.setattr(transforms.nlp, "load_nlp", lambda *a, **k: pytest.fail("spaCy loaded for nothing"))
    report = grammar_report([], LexiconContext({"n": PEOPLE}))
    assert report["probes"] == 0 and report["cells"] == 0
