"""``configs/holistic-bias.yaml`` takes its configs (one per axis) and groups (buckets) from the files, so
a HolisticBias release other than v1.1 builds with no spec edit, with the reference generator's row count.

The only release in ``../shared`` is v1.1. The held-out release is derived from it in a temporary folder
by :func:`held_out_release`, a documented change of the kind HolisticBias's releases make (v1.0 → v1.1 added
and dropped descriptors and buckets): the bucket ``ability/other_disabilities`` is dropped (the spec that
listed v1.1's buckets by hand failed on exactly this), a new axis ``hobbies`` with one bucket and a new
bucket ``age/centenarian`` are added, and a neutral noun is added. Its expected row count comes from
:func:`reference_row_count`, a plain re-statement of the reference generator's rule written here, which
gives v1.1's published 566,625 on v1.1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.spec import load_spec

V11_ROWS = 566_625
#: v1.1's configs and buckets, as the spec listed them by hand before they came from the files
V11_CONFIGS = {
    "statement_null": ["(none)"],
    "statement_ability": ["auditory", "intellectual_and_developmental", "mobility", "neurological", "speech", "visual",
                          "other_disabilities", "unspecific", "(none)"],
    "statement_age": ["child", "young", "middle_aged", "old", "adult", "(none)"],
    "statement_body_type": ["thin", "fit", "overweight", "attractive", "unattractive", "large_stature",
                            "medium_stature", "small_stature", "eye_color", "hair", "skin_color", "miscellaneous",
                            "(none)"],
    "statement_characteristics": ["addictions", "children", "domestic_status", "handedness", "immigration_status",
                                  "job_status", "marital_status", "miscellaneous", "(none)"],
    "statement_cultural": ["generations", "cultural_descriptors", "(none)"],
    "statement_gender_and_sex": ["binary", "cisgender", "descriptors", "non_binary_or_gnc", "queer", "sex",
                                 "transgender", "(none)"],
    "statement_nationality": ["china", "cuba", "dominican_republic", "el_salvador", "guatemala", "india", "mexico",
                              "philippines", "south_korea", "united_states", "vietnam"],
    "statement_nonce": ["all"],
    "statement_political_ideologies": ["all"],
    "statement_race_ethnicity": ["alaska_native", "asian", "black", "latinx", "indigenous", "native_hawaiian",
                                 "pacific_islander", "white", "combined", "(none)"],
    "statement_religion": ["all", "(none)"],
    "statement_sexual_orientation": ["asexual_or_aromantic", "bi", "demisexual", "gay", "lesbian", "pansexual",
                                     "polyamorous", "queer", "straight", "(none)"],
    "statement_socioeconomic_class": ["upper_class", "middle_class", "working_class", "below_poverty_line",
                                      "educational_attainment", "(none)"],
}


def reference_row_count(folder: Path) -> int:
    """Sentences the reference generator writes for a HolisticBias folder: every noun phrase × every template,
    except that templates marked ``must_be_noun`` skip phrases without a noun (a descriptor alone, a fixed
    standalone phrase). Noun phrases: each noun alone; each descriptor alone, and with each noun of its gender
    (all nouns when it has none); each standalone phrase with ``{noun}`` once per noun, without it once."""
    load = lambda name: json.loads((folder / name).read_text(encoding="utf-8"))  # noqa: E731
    nouns = [gender for gender, pairs in load("nouns.json").items() for _ in pairs]
    templates = load("sentence_templates.json")
    all_t = len(templates)
    noun_t = all_t - sum(1 for flags in templates.values() if flags.get("must_be_noun"))
    with_noun, without = len(nouns), 0
    for buckets in load("descriptors.json").values():
        for items in buckets.values():
            for item in items:
                gender = item.get("gender") if isinstance(item, dict) else None
                without += 1
                with_noun += sum(1 for g in nouns if gender in (None, g))
    for items in load("standalone_noun_phrases.json").values():
        for item in items:
            phrase = item["noun_phrase"] if isinstance(item, dict) else item
            if "{noun}" in phrase:
                with_noun += len(nouns)
            else:
                without += 1
    return with_noun * all_t + without * noun_t


def held_out_release(v11: Path, folder: Path) -> Path:
    """v1.1 with a bucket dropped, a new axis and a new bucket, and a new noun (module docstring)."""
    folder.mkdir(parents=True)
    for name in ("sentence_templates.json", "standalone_noun_phrases.json"):
        shutil.copyfile(v11 / name, folder / name)
    descriptors = json.loads((v11 / "descriptors.json").read_text(encoding="utf-8"))
    del descriptors["ability"]["other_disabilities"]
    descriptors["age"]["centenarian"] = ["centenarian", "hundred-year-old"]
    descriptors["hobbies"] = {"pastimes": ["chess-playing", "bird-watching", "marathon-running", "stamp-collecting",
                                           "gardening", "knitting", "opera-loving", "surfing"]}
    (folder / "descriptors.json").write_text(json.dumps(descriptors, indent=1), encoding="utf-8")
    nouns = json.loads((v11 / "nouns.json").read_text(encoding="utf-8"))
    nouns["neutral"].append(["roommate", "roommates"])
    (folder / "nouns.json").write_text(json.dumps(nouns, indent=1), encoding="utf-8")
    return folder


def resolved_configs(data_dir: Path) -> dict[str, list[str]]:
    from transforms.lexicons import load_lexicon
    from transforms.plan import expand_lexicon_axes, resolve_lexicon_groups

    spec = load_spec("configs/holistic-bias.yaml", data_dir=str(data_dir))
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    expand_lexicon_axes(spec, lexicons)
    resolve_lexicon_groups(spec, lexicons)
    return {c.name: [g.name for g in c.groups] for c in spec.configs}


def test_reference_count_restated_here_gives_v11s_published_count(holistic_dir):
    assert reference_row_count(holistic_dir) == V11_ROWS


def test_v11_resolves_to_the_configs_and_buckets_once_listed_by_hand(holistic_dir):
    assert resolved_configs(holistic_dir) == V11_CONFIGS  # same names, axes, buckets and order


def test_a_held_out_release_resolves_its_own_axes_and_buckets(holistic_dir, tmp_path):
    configs = resolved_configs(held_out_release(holistic_dir, tmp_path / "held-out"))
    assert "other_disabilities" not in configs["statement_ability"]
    assert configs["statement_age"] == ["child", "young", "middle_aged", "old", "adult", "centenarian", "(none)"]
    assert configs["statement_hobbies"] == ["pastimes"]
    assert list(configs)[-1] == "statement_hobbies" and len(configs) == len(V11_CONFIGS) + 1


@pytest.mark.slow
@pytest.mark.xdist_group("holistic-bias")  # on the worker that builds holistic-bias for the session
def test_rebuild_over_a_new_holistic_release_needs_no_spec_edit(holistic_dir, shipped_release, tmp_path, capsys):
    """v1.1 (the session's build, copied: its inputs copied elsewhere change nothing), then the held-out release
    in the same --data-dir: a new version with the reference's row count, and a diff that names the new and
    removed buckets and the new axis's config."""
    from pipelines.cli import main

    data, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(holistic_dir, data)
    v11 = shipped_release("holistic-bias")
    shutil.copytree(v11, out / "holistic-bias" / v11.name)
    assert main(["rebuild", "configs/holistic-bias.yaml", "--data-dir", str(data), "--out", str(out), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["status"] == "unchanged" and first["version"] == v11.name
    shutil.rmtree(data)
    held_out_release(holistic_dir, data)
    expected = reference_row_count(data)
    assert expected != V11_ROWS
    assert main(["rebuild", "configs/holistic-bias.yaml", "--data-dir", str(data), "--out", str(out), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["status"] == "new" and second["previous"] == first["version"]
    assert second["changed_inputs"] == ["."]  # the lexicon folder; the templates file is the same
    manifest = json.loads((Path(second["release"]) / "manifest.json").read_text())
    assert sum(c["rows"] for c in manifest["configs"].values()) == expected
    diff = second["diff"]
    assert diff["configs_added"] == ["statement_hobbies"] and diff["configs_removed"] == []
    assert diff["groups"]["statement_ability"] == {"added": [], "removed": ["other_disabilities"]}
    assert diff["groups"]["statement_age"] == {"added": ["centenarian"], "removed": []}
    assert set(diff["groups"]) == {"statement_ability", "statement_age"}
