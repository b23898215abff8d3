"""The figures on real benchmarks: holistic-bias built through the CLI (the session's shared build), and CALM as
published.

calm-v1 reproduces CALM's published rows line for line, so its row figures must equal those
`biasbench stats` computes from CALM's own JSON Lines (tests/test_calm_v1.py builds calm-v1).
"""

import json

import pytest

from pipelines.cli import main


@pytest.mark.slow
@pytest.mark.xdist_group("calm-v1")  # the session computes these stats once, on the worker of calm-v1's tests
def test_calm_as_published_has_the_figures_without_template_ones(calm_published_stats):
    stats = calm_published_stats
    assert sorted(stats["configs"]) == sorted(f"{t}_{a}" for t in ("qa", "nli", "sentiment") for a in ("gender", "race"))
    assert stats["total_rows"] == 78_400
    qa = stats["configs"]["qa_gender"]
    assert qa["figures"]["templates"] is None and qa["figures"]["template_length"] is None
    assert qa["figures"]["group_uniform_distance"] == 0.0 and qa["figures"]["sources"] >= 4
    assert 0 < qa["diversity"]["distinct_2"] < 1 and 0 < qa["figures"]["self_bleu"] <= 100


@pytest.mark.slow
@pytest.mark.xdist_group("holistic-bias")  # on the worker that builds it
def test_holistic_bias_figures_in_stats_card_and_picture(shipped_release, capsys):
    release = shipped_release("holistic-bias")
    stats = json.loads((release / "stats.json").read_text())
    assert stats["total_rows"] == 566_625 and stats["task_shares"] == {"statement": 1.0}
    age = stats["configs"]["statement_age"]["figures"]
    assert age["templates"] == 26 and age["template_length"]["mean"] > 3
    assert 0 < age["group_uniform_distance"] < 1 and 0 < age["length_parity"] <= 1
    assert (release / "stats.png").read_bytes()[:4] == b"\x89PNG" and "(stats.png)" in (release / "README.md").read_text()
    printed = main(["stats", str(release)])
    out = capsys.readouterr().out
    assert printed == 0 and "statement_age" in out and "self-BLEU" in out
    assert main(["validate", str(release)]) == 0
