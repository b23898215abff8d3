"""Lexicon loading (errors name file and line) and the first-name builder on the real SSA/CALM data."""

from pathlib import Path

import pytest

from schemas.spec import LexiconSpec
from schemas.errors import InputError, SpecError
from schemas.pronouns import PRONOUN_SETS
from transforms.lexicons import LEXICON_LOADERS, load_lexicon
from transforms.lexicons.names import build_name_lexicon, main as names_main

SHIPPED = Path(__file__).resolve().parent.parent / "configs" / "data" / "lexicons" / "first_names.jsonl"
BUILD_SETTINGS = dict(min_count=50, top_n=30, min_gender_share=0.95, nonbinary_min_count=1000, years=(2020, 2021))


def write(tmp_path, lines, name="lex.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_jsonl_loader_defaults_and_lexicon_name(tmp_path):
    path = write(tmp_path, ['{"axis": "gender", "group": "female", "value": "Ada", "pronoun_set": "she",'
                            ' "features": {"min_count": 5}}', "", '{"axis": "gender", "group": "non-binary", "value": "Sam"}'])
    entries = load_lexicon(LexiconSpec(name="names", path="lex.jsonl"), path)
    assert [(e.lexicon, e.value, e.pronoun_set) for e in entries] == [("names", "Ada", "she"), ("names", "Sam", "they")]
    assert entries[0].features == {"min_count": "5"}  # features are strings


@pytest.mark.parametrize("line, message", [
    ('{"axis": "gender", "group": "female", "value": "Ada",}', r"line 2: not valid JSON: Expecting property name"),
    ('{"axis": "gender", "group": "female"}', r"line 2: 'value' is missing"),
    ('{"axis": "gender", "group": "female", "value": "Ada", "pronoun_set": "sie"}', r"line 2: unknown pronoun_set 'sie'"),
    ('{"axis": "gender", "group": "female", "value": "Ada", "colour": "red"}', r"line 2: unknown key\(s\) colour"),
    ('["Ada"]', r"line 2: expected a JSON object"),
    ('{"axis": "gender", "group": "male", "value": "Bo"}', r"line 2: 'Bo' is already in gender/male \(line 1\)"),
])
def test_jsonl_loader_errors_name_file_and_line(tmp_path, line, message):
    path = write(tmp_path, ['{"axis": "gender", "group": "male", "value": "Bo", "pronoun_set": "he"}', line])
    with pytest.raises(InputError, match=r"lex\.jsonl, " + message):
        load_lexicon(LexiconSpec(name="names"), path)


def test_unknown_format_and_empty_file(tmp_path):
    assert "jsonl" in LEXICON_LOADERS
    with pytest.raises(SpecError, match="unknown format 'xlsx'"):
        load_lexicon(LexiconSpec(name="n", format="xlsx"), "x")
    with pytest.raises(InputError, match="no entries"):
        load_lexicon(LexiconSpec(name="n"), write(tmp_path, [""]))


def test_shipped_first_names_lexicon():
    assert SHIPPED.stat().st_size < 100_000
    entries = load_lexicon(LexiconSpec(name="first_names"), str(SHIPPED))
    groups = {}
    for e in entries:
        groups.setdefault((e.axis, e.group), []).append(e)
        assert e.source and e.license and e.frequency and e.frequency > 0
        assert e.pronoun_set in PRONOUN_SETS
    assert sorted(groups) == sorted([("gender", g) for g in ("male", "female", "non-binary")]
                                    + [("race", g) for g in ("white", "black", "hispanic", "asian")])
    assert all(len(v) == 30 for v in groups.values())
    assert {e.pronoun_set for e in groups[("gender", "male")]} == {"he"}
    assert {e.pronoun_set for e in groups[("gender", "female")]} == {"she"}
    assert {e.pronoun_set for e in groups[("gender", "non-binary")]} == {"they"}
    assert all("public domain" in e.license for e in groups[("gender", "male")])
    assert all("MIT" in e.license for e in groups[("race", "asian")])


def test_builder_thresholds_and_pronoun_sets(calm_dir, tmp_path):
    out = tmp_path / "names.jsonl"
    entries = build_name_lexicon(str(calm_dir / "names"), str(out), **BUILD_SETTINGS)
    assert out.read_text(encoding="utf-8").count("\n") == len(entries)
    male = [e for e in entries if e.axis == "gender" and e.group == "male"]
    nb = [e for e in entries if e.group == "non-binary"]
    assert len(male) == 30 and len(nb) == 30
    for e in male:
        assert e.features["min_count"] == "50" and e.features["min_gender_share"] == "0.95"
        assert float(e.features["male_share"]) >= 0.95 and e.frequency >= 50 and e.pronoun_set == "he"
    assert [e.frequency for e in male] == sorted((e.frequency for e in male), reverse=True)
    for e in nb:
        assert 0.05 < float(e.features["male_share"]) < 0.95 and e.frequency >= 1000 and e.pronoun_set == "they"
    race = [e for e in entries if e.axis == "race"]
    assert {e.group for e in race} == {"white", "black", "hispanic", "asian"}
    for e in race:
        gender = e.features.get("gender")
        assert e.pronoun_set == {"male": "he", "female": "she"}.get(gender, "they")
    asian = [e for e in race if e.group == "asian"]
    assert {e.features["gender"] for e in asian} == {"male", "female"}  # balanced where the table allows
    assert len({e.value for e in male} & {e.value for e in entries if e.group == "female"}) == 0


def test_builder_stricter_thresholds_change_the_selection(calm_dir):
    strict = build_name_lexicon(str(calm_dir / "names"), None, **{**BUILD_SETTINGS, "min_gender_share": 0.999})
    for e in strict:
        if e.axis == "gender" and e.group in ("male", "female"):
            share = float(e.features["male_share"])
            assert (share if e.group == "male" else 1 - share) >= 0.999


def test_shipped_file_is_what_the_builder_makes(calm_dir, tmp_path):
    out = tmp_path / "rebuilt.jsonl"
    assert names_main([str(calm_dir / "names"), str(out), "--min-count", "50", "--top-n", "30",
                       "--min-gender-share", "0.95", "--nonbinary-min-count", "1000"]) == 0
    assert out.read_bytes() == SHIPPED.read_bytes()


def test_builder_errors_name_the_file(tmp_path):
    (tmp_path / "ssa").mkdir()
    (tmp_path / "ssa" / "yob2020.txt").write_text("Ada,F,10\nBo,X,3\n")
    with pytest.raises(InputError, match=r"yob2020\.txt, line 2: expected name,M\|F,count"):
        build_name_lexicon(str(tmp_path), None, years=(2020,))
    with pytest.raises(InputError, match=r"yob2019\.txt: no such file"):
        build_name_lexicon(str(tmp_path), None, years=(2019,))
    with pytest.raises(ValueError, match="min_gender_share"):
        build_name_lexicon(str(tmp_path), None, min_gender_share=0.4)
