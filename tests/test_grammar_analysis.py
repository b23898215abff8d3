"""The grammar check analyses each probe no further than its findings need, and finds what a full parse finds.

``pipelines.grammar.check_texts`` tokenizes every probe, tags only those with an article to judge or a
subject pronoun, and parses only those whose pronoun could disagree with a verb. These tests hold it to
the findings of the whole pipeline (``nlp(text)``, attribute ruler included) on the defect families of
the check, and the shipped specs to the findings counted before the change (real spaCy, real data).
"""

import os
import subprocess
import sys

import pytest

from pipelines.grammar import check_texts
from transforms.nlp import load_nlp
from validation.grammar_check import check_doc, needs_parse, needs_tags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")

TEXTS = [
    # agreement, wrong and right
    "Alex said they listens to music.", "They tries hard.", "Then they visits often.", "They was late.",
    "They try hard and visits often.", "He listen to music.", "She were late.", "Alex said they listen to music.",
    "She always watches TV.", "Do they know?", "If she were rich, she would go.", "They were late and she is tired.",
    "He has a dog that they like.", "I thought they comes back.", "if they so chooses, they go.",
    # articles, wrong and right, and an "a" that is no article
    "I met an university student.", "She is a F2M person.", "He is an one percenter.", "I met a FTM person.",
    "It was an hour late.", "She got an A on the test.", "Plan A failed.", "We saw a European and an LGBTQ person.",
    # doubled words, markers, sentence starts, whitespace tokens
    "The the cat sat.", "They had had enough.", "I said that that was fine.", "The on on welfare man left.",
    "We met {person} there.", "the answer is no. then we left.", "She  is   here.\nThey  listens.",
    " Leading space and they listens.", "Who was already already there?", "Nothing to see here.",
]


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


def test_findings_are_those_of_a_full_parse(nlp):
    got = check_texts(TEXTS, {"hour": "an"}, nlp)
    full = {text: check_doc(nlp(text), {"hour": "an"}) for text in TEXTS}
    assert got == full
    rules = {f.rule for found in got.values() for f in found}
    assert rules == {"agreement", "article", "doubled_word", "leftover_marker", "lowercase_start"}


def test_only_probes_with_an_article_or_a_pronoun_are_tagged_and_few_parsed(nlp):
    docs = {text: nlp.make_doc(text) for text in ("The the cat sat.", "I met an university student.",
                                                  "She always watches TV.", "Nothing to see here.")}
    assert [needs_tags(d) for d in docs.values()] == [False, True, True, False]
    # a plural-verb pronoun and no singular form in its sentence (or the reverse): nothing can disagree
    assert not needs_parse(nlp("They listen to a friend and sing."))
    assert not needs_parse(nlp("She listens to a friend."))
    assert needs_parse(nlp("They listens."))
    assert needs_parse(nlp("They sing and she listens."))  # "she listens" is right, but the parse decides


def test_spacy_is_imported_without_torch_and_torch_still_imports():
    code = ("import sys; from transforms.nlp import load_nlp; load_nlp(); "
            "print('torch' in sys.modules, 'apache_beam' in sys.modules); import importlib.util; "
            "print(importlib.util.find_spec('torch') is None or __import__('torch') is not None)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]


#: the grammar check's figures on the shipped specs before probes were analysed selectively (main, fbff22c)
SHIPPED = {
    "bbq-v1": ("bbq", {"cells": 6144, "findings": 159, "probes": 5167, "parsed": 3463, "counts": {
        "agreement": 0, "article": 1252, "doubled_word": 248, "leftover_marker": 0, "lowercase_start": 4644}}),
    "bbq": ("bbq", {"cells": 0, "findings": 0, "probes": 3520, "parsed": 2705}),
    "calm-v1": ("calm", {"cells": 18150, "findings": 118, "probes": 733, "parsed": 704, "counts": {
        "agreement": 9250, "article": 700, "doubled_word": 700, "leftover_marker": 0, "lowercase_start": 7500}}),
    "calm": ("calm", {"cells": 0, "findings": 0, "probes": 551, "parsed": 524}),
    "holistic-bias": (os.path.join("holistic_bias", "v1.1"), {"cells": 0, "findings": 0, "probes": 26, "parsed": 26}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_specs_keep_their_findings(nlp, name):
    from pipelines.spec import load_spec
    from pipelines.grammar import grammar_report
    from transforms.importers import import_templates
    from transforms.lexicon_context import LexiconContext
    from transforms.lexicons import load_lexicon
    from transforms.plan import plan_release

    folder, want = SHIPPED[name]
    data = os.path.join(DATA, folder)
    if not os.path.isdir(data):
        pytest.skip(f"{data} is absent")
    spec = load_spec(name, data_dir=data)
    templates = [t for f in spec.template_files for t in import_templates(f, spec.resolve(f.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    ctx = LexiconContext(lexicons, spec.article_overrides)
    report = grammar_report(plan_release(spec, templates, lexicons, ctx), ctx, nlp)
    assert {key: report[key] for key in want} == want
