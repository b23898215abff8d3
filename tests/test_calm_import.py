"""The CALM importer (v1 exact and corrected), its fix list, and CALM's name-table loaders."""

import collections

import pytest

from schemas.spec import LexiconSpec, TemplateFileSpec
from schemas.errors import InputError
from schemas.records import LexiconEntry
from transforms.importers import import_templates
from transforms.importers.calm import apply_fixes, to_canonical_corrected, to_canonical_v1
from transforms.importers.calm_fixes import FIXES, Fix
from transforms.lexicons import load_lexicon
from transforms.render import render_text

HE = LexiconEntry("n", "gender", "male", "Omar", "he")
THEY = LexiconEntry("n", "gender", "non-binary", "Alex", "they")


def test_v1_is_calms_string_replacement_verbatim():
    t = to_canonical_v1("x. <he/she/they> was <boy/girl/kid>, <He/She/They> ran; <PERSON> {ok}")
    assert render_text(t, {"person": THEY}) == "x. they was kid, They ran; Alex {ok}"
    assert render_text(t, {"person": HE}) == "x. he was boy, He ran; Omar {ok}"


def test_corrected_cases_agreement_and_capitals():
    t = to_canonical_corrected("<PERSON> left. <he/she/they> was sure because <He/She/They> always is. "
                               "<his/her/their> <boy/girl/kid> met <him/her/them>.")
    assert render_text(t, {"person": THEY}) == "Alex left. They were sure because they always are. Their kid met them."
    assert render_text(t, {"person": HE}) == "Omar left. He was sure because he always is. His boy met him."


def test_typo_tuple_is_a_subject_pronoun():
    t = to_canonical_corrected("when <he/her/their> was sitting")
    assert render_text(t, {"person": THEY}) == "when they were sitting"


def test_fix_must_match_exactly():
    fix = Fix("x", "qa", "1", "context", "an devastating", "a devastating", "typo", "article")
    assert apply_fixes("with an devastating clarity", [fix], "t")[0] == "with a devastating clarity"
    with pytest.raises(InputError, match="expects 1"):
        apply_fixes("no match here", [fix], "t")


def test_unknown_marker_is_an_error():
    with pytest.raises(InputError, match="no canonical equivalent"):
        to_canonical_corrected("<PERSON> met <NAME2>", "t")


def _import(calm_dir, task, **options):
    spec = TemplateFileSpec(path=f"templates/{task}_templates.json", format="calm", task=task, options=options)
    return list(import_templates(spec, str(calm_dir / spec.path)))


def test_every_fix_applies_and_is_recorded(calm_dir):
    applied = collections.Counter()
    for task in ("qa", "nli", "sentiment"):
        options = {"labels_from": "gt/gt_sentiment_gender.csv"} if task == "sentiment" else {}
        for t in _import(calm_dir, task, mode="corrected", **options):
            applied.update(p[4:] for p in t.provenance if p.startswith("fix:"))
    assert all(applied[f.id] == 1 for f in FIXES), [f.id for f in FIXES if applied[f.id] != 1]
    labels = sum(n for k, n in applied.items() if k.startswith("label "))
    assert labels == 40  # sentiment labels from CALM's evaluation ground truth


def test_corrected_templates(calm_dir):
    qa = {t.metadata["calm_index"]: t for t in _import(calm_dir, "qa", mode="corrected")}
    assert "<" not in "".join(v for t in qa.values() for v in t.fields.values())
    assert "{person.subj} {person:was} sitting" in qa["12"].fields["context"]  # the <he/her/their> typo
    assert qa["87"].answer == "The other passengers"
    assert "{person2}" in qa["20"].fields["context"]
    assert qa["6"].options and qa["6"].answer == "{person.poss} brother."  # options moved out of the question
    assert "\nA:" not in qa["6"].fields["question"]
    mine = render_text(qa["10"].fields["context"], {"person": THEY})
    assert "themselves swimming" in mine and "because they were interested" in mine
    sentiment = {t.metadata["calm_index"]: t for t in _import(calm_dir, "sentiment", mode="corrected")}
    assert "a devastating" in sentiment["8"].fields["sentence"]


def test_v1_list_answers_render_like_ground_truth(calm_dir):
    qa = {t.metadata["calm_index"]: t for t in _import(calm_dir, "qa", mode="v1")}
    assert render_text(qa["6"].answer, {"person": THEY}) == "['D', 'Their brother']"


def test_missing_input_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = TemplateFileSpec(path="templates/qa_templates.json", format="calm", task="qa")
    with pytest.raises(InputError, match=r"not found at .*templates/qa_templates.json .*not fetched from"):
        list(import_templates(spec, str(tmp_path / spec.path)))
    spec = TemplateFileSpec(path="templates/qa_templates.json", format="calm", task="qa",
                            options={"hub": {"enabled": False}})
    with pytest.raises(InputError, match="pass --data-dir"):
        list(import_templates(spec, str(tmp_path / spec.path)))


def test_name_tables(calm_dir):
    lx = LexiconSpec(name="g", path="names", format="calm_gender_names")
    gender = load_lexicon(lx, str(calm_dir / "names"))
    groups = collections.Counter(e.group for e in gender)
    assert groups == {"male": 908, "female": 911, "non-binary": 50}
    nb = [e.value for e in gender if e.group == "non-binary"]
    assert nb[:5] == ["Bless", "Camdyn", "Kodee", "Callaway", "Tkai"]
    race = load_lexicon(LexiconSpec(name="r", path="names", format="calm_race_names"), str(calm_dir / "names"))
    assert collections.Counter(e.group for e in race) == {"white": 299, "black": 299, "hispanic": 299, "asian": 283}
    assert {e.pronoun_set for e in race} == {"they"} and all("gender" in e.features for e in race)
    excluded = load_lexicon(LexiconSpec(name="r", path="names", format="calm_race_names",
                                        options={"exclude_words": ["An", "Say", "Saw"]}), str(calm_dir / "names"))
    assert not {"An", "Say", "Saw"} & {e.value for e in excluded}


@pytest.mark.parametrize("sentence, they", [
    ("<PERSON> said <he/she/they> listens to music.", "Alex said they listen to music."),
    ("<PERSON> said <he/she/they> tries hard.", "Alex said they try hard."),
    ("<PERSON> said <he/she/they> visits often.", "Alex said they visit often."),
    ("<PERSON> said <he/she/they> goes home.", "Alex said they go home."),
    ("<PERSON> said <he/she/they> does the dishes.", "Alex said they do the dishes."),
    ("<PERSON> said <he/she/they> watches films.", "Alex said they watch films."),
    ("<PERSON> said <he/she/they> has a dog.", "Alex said they have a dog."),
    ("<He/She/They> always tries and usually succeeds.", "They always try and usually succeed."),
    ("Does <he/she/they> know <PERSON>?", "Do they know Alex?"),
    ("<PERSON> knew <he/she/they> wasn't there.", "Alex knew they weren't there."),
])
def test_corrected_agreement_for_any_verb(sentence, they):
    """Verbs are found by the parser, not a list: CALM-syntax templates beyond CALM's own agree too."""
    t = to_canonical_corrected(sentence)
    assert render_text(t, {"person": THEY}) == they
    he = render_text(t, {"person": HE})
    assert he == sentence.replace("<PERSON>", "Omar").replace("<he/she/they>", "he").replace("<He/She/They>", "He")


def test_corrected_agreement_leaves_non_verbs_alone():
    t = to_canonical_corrected("<PERSON> said <he/she/they> always reads books and the dishes were clean.")
    assert render_text(t, {"person": THEY}) == "Alex said they always read books and the dishes were clean."
    t = to_canonical_corrected("<he/she/they> gathers the silverware, and any other dishes with food.")
    assert render_text(t, {"person": THEY}) == "They gather the silverware, and any other dishes with food."
    # the verb of another subject keeps its form
    t = to_canonical_corrected("The student <he/she/they> met is broke and is tired.")
    assert render_text(t, {"person": THEY}) == "The student they met is broke and is tired."


def test_corrected_calm_templates_are_what_the_verb_list_gave(calm_dir):
    """On CALM's own templates the parser finds exactly the verbs the former word list named."""
    qa = {t.metadata["calm_index"]: t for t in _import(calm_dir, "qa", mode="corrected")}
    assert "{person.subj} {person:gathers} the silverware, and any other dishes" in qa["88"].fields["context"]
    nli = {t.metadata["calm_index"]: t for t in _import(calm_dir, "nli", mode="corrected")}
    assert "debt and is so broke" in nli["17"].fields["premise"]
