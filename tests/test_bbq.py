"""BBQ from its own templates (configs/bbq-v1.yaml, configs/bbq.yaml), read in place from ../shared/data/bbq.

Expected counts come from ``benchmarks/bbq_baseline.py``, a plain-Python re-run of BBQ's own
generation algorithm over the same CSVs that shares no code with the pipeline; the category
totals are also checked against BBQ's published numbers as literals.
"""

from __future__ import annotations

import collections
import json
import re
import sys

import pyarrow as pa
import pytest

from conftest import BBQ_DIR, PROJECT, build_in_child, file_digests

sys.path.insert(0, str(PROJECT / "benchmarks"))

import bbq_baseline  # noqa: E402

from pipelines.spec import load_spec  # noqa: E402
from schemas.spec import LexiconSpec, TemplateFileSpec  # noqa: E402
from schemas.errors import InputError  # noqa: E402
from transforms.four_way import UNKNOWN_OPTIONS, render_four_way  # noqa: E402
from transforms.importers import import_templates  # noqa: E402
from transforms.lexicons import load_lexicon  # noqa: E402
from transforms.plan import plan_release  # noqa: E402

# the rows of both specs are computed once per module: one worker runs the module (and builds both releases)
pytestmark = pytest.mark.xdist_group("bbq")

#: BBQ's published row counts per category (Parrish et al., 2022; nyu-mll/BBQ data/*.jsonl)
PUBLISHED = {"Age": 3680, "Disability_status": 1556, "Gender_identity": 5672, "Nationality": 3080,
             "Physical_appearance": 1576, "Race_ethnicity": 6880, "Race_x_SES": 11160, "Race_x_gender": 15960,
             "Religion": 1200, "SES": 6864, "Sexual_orientation": 864}
TYPOS = ("an university", "already already", "people people", "with with", "an one percenter", "The on on welfare",
         "listening the advice")


def _rows(spec_name: str, data_dir, **overrides) -> tuple[pa.Table, list]:
    """Import, plan and render a BBQ spec in process (no Beam, no gate): every row, and the plan."""
    spec = load_spec(str(PROJECT / "configs" / spec_name), data_dir=str(data_dir), overrides=overrides or None)
    templates = [t for tf in spec.template_files for t in import_templates(tf, spec.resolve(tf.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    tasks = plan_release(spec, templates, lexicons)
    batches = [render_four_way(b.template, b.items, b.targets, b.options, axis=t.layout.axis,
                               fill_type=t.layout.fill_type, schema=t.layout.schema, groups=b.groups)
               for t in tasks for b in t.blocks]
    return pa.Table.from_batches(batches), tasks


@pytest.fixture(scope="module")
def v1(bbq_dir):
    return _rows("bbq-v1.yaml", bbq_dir)


@pytest.fixture(scope="module")
def corrected(bbq_dir):
    return _rows("bbq.yaml", bbq_dir)


@pytest.fixture(scope="module")
def reference_cells(bbq_dir):
    """(category, question index, polarity, context condition) → rows, by BBQ's algorithm."""
    return collections.Counter((r["category"], str(r["question_index"]), r["question_polarity"],
                                r["context_condition"]) for r in bbq_baseline.generate(str(bbq_dir), seed=7))


def _plain(text: str) -> str:
    """Lower case without articles (v1 keeps BBQ's "an one percenter") or BBQ's "Latino woman" repair."""
    return re.sub(r"\b(a|an) ", "", text.lower().strip()).replace("latina", "latino")


def _cells(table: pa.Table) -> collections.Counter:
    cols = [table[c].to_pylist() for c in ("category", "question_index", "question_polarity", "context_condition")]
    return collections.Counter(zip(*cols))


def test_reference_algorithm_gives_bbqs_published_totals(reference_cells):
    totals = collections.Counter()
    for (category, *_), n in reference_cells.items():
        totals[category] += n
    assert dict(totals) == PUBLISHED
    assert sum(totals.values()) == 58_492


@pytest.mark.parametrize("which", ["v1", "corrected"])
def test_counts_per_category_and_cell_equal_bbqs(which, request, reference_cells):
    table, tasks = request.getfixturevalue(which)
    assert table.num_rows == 58_492
    per_category = collections.Counter(table["category"].to_pylist())
    assert dict(per_category) == PUBLISHED
    cells = _cells(table)
    assert cells == reference_cells  # every (question index, polarity, context condition) cell
    assert {t.layout.name: t.rows for t in tasks} == {c.lower(): n for c, n in PUBLISHED.items()}


@pytest.mark.parametrize("which", ["v1", "corrected"])
def test_three_options_one_unknown_and_gold_per_condition(which, request):
    table, tasks = request.getfixturevalue(which)
    option_referent = {}
    for t in tasks:
        for b in t.blocks:
            option_referent[b.template.template_id] = [
                "person2" if "{person2" in o or "{=person2" in o or "{a:person2" in o else "person"
                for o in b.template.options]
    rows = table.select(["template_id", "options", "answer_info", "label", "answer", "context_condition",
                         "question_polarity", "name1", "name2", "target_loc"]).to_pylist()
    for r in rows:
        opts, info, label = r["options"], r["answer_info"], r["label"]
        assert len(opts) == 3 and len(set(opts)) == 3
        unknown = [i for i, o in enumerate(opts) if o in UNKNOWN_OPTIONS]
        assert len(unknown) == 1 and [i for i, x in enumerate(info) if x["info"] == "unknown"] == unknown
        assert r["answer"] == opts[label]
        if r["context_condition"] == "ambig":
            assert label == unknown[0]
        else:
            assert label != unknown[0]
            referent = option_referent[r["template_id"]][0 if r["question_polarity"] == "neg" else 1]
            person = r["name1"] if referent == "person" else r["name2"]
            assert _plain(person) in _plain(opts[label])
        if r["target_loc"] is not None:
            assert r["target_loc"] != unknown[0]
    resolved = sum(r["target_loc"] is not None for r in rows)
    assert resolved >= len(rows) - 16  # only pairs naming no (or both) stereotyped people lack a target


def test_draws_are_seeded_and_stable(bbq_dir, v1):
    again, _ = _rows("bbq-v1.yaml", bbq_dir)
    assert again.equals(v1[0])
    other, _ = _rows("bbq-v1.yaml", bbq_dir, seed=1)
    assert _cells(other) == _cells(v1[0])
    assert other["options"].to_pylist() != v1[0]["options"].to_pylist()  # another seed, other draws


def test_ids_unique_and_counterfactual_sets_swap_the_roles(v1):
    table, _ = v1
    assert len(set(table["example_id"].to_pylist())) == table.num_rows
    sets = collections.defaultdict(list)
    for r in table.select(["counterfactual_set_id", "category", "name1", "name2", "context_condition",
                           "question_polarity"]).to_pylist():
        sets[r["counterfactual_set_id"]].append(r)
    religion = [rows for rows in sets.values() if rows[0]["category"] == "Religion"]
    assert religion and all(len(rows) == 2 for rows in religion)
    for a, b in religion:
        assert (a["name1"], a["name2"]) == (b["name2"], b["name1"])
        assert (a["context_condition"], a["question_polarity"]) == (b["context_condition"], b["question_polarity"])


def test_v1_keeps_bbqs_text_and_defects(v1):
    table, _ = v1
    text = "\n".join(table["context"].to_pylist() + [o for opts in table["options"].to_pylist() for o in opts])
    for typo in TYPOS:
        assert typo in text, typo
    first = table.slice(0, 1).to_pylist()[0]
    assert first["context"].startswith("I saw a grandson and their grandfather last week")


def test_corrected_is_lint_clean_without_the_typos_and_counts_each_fix(corrected):
    from schemas.lint import lint_batch

    table, _ = corrected
    spec = load_spec(str(PROJECT / "configs" / "bbq.yaml"))
    result = lint_batch(table, ["context", "question", "answer"], article_overrides=spec.article_overrides)
    assert result.total == 0, result.counts
    text = "\n".join(table["context"].to_pylist() + table["question"].to_pylist()
                     + [o for opts in table["options"].to_pylist() for o in opts])
    for typo in TYPOS:
        assert typo not in text, typo
    assert not re.search(r"\b(\w+) \1\b", text.replace("that that", "").replace("had had", ""))
    counted = collections.Counter(f for fixes in table["fixes"].to_pylist() for f in fixes.split(";") if f)
    written = {}
    for line in spec.release.changelog:
        m = re.match(r"fix (\S+) .*\((\d+) rows\)$", line)
        if m:
            written[m.group(1)] = int(m.group(2))
    from transforms.importers.bbq_fixes import FIXES

    assert set(written) == {f.id for f in FIXES}
    assert dict(counted) == written


@pytest.mark.slow
def test_grammar_check_finds_nothing_in_bbq_and_bbqs_own_defects_in_v1(v1, corrected, monkeypatch):
    """The parser-based grammar check over all 58,492 rows (one parse per probe sentence): nothing in the
    corrected BBQ; in bbq-v1 BBQ's typos, each counted against the rows the fix list changes in bbq."""
    import pipelines.grammar
    from schemas.sentences import lowercase_sentence_starts
    from transforms.lexicon_context import LexiconContext

    monkeypatch.setattr(pipelines.grammar, "MAX_LISTED", 10**6)
    spec = load_spec(str(PROJECT / "configs" / "bbq.yaml"))
    ctx = LexiconContext({}, spec.article_overrides)
    clean = pipelines.grammar.grammar_report(corrected[1], ctx)
    assert clean["cells"] == 0 and clean["rows_checked"] == 58_492, clean["listed"][:5]
    assert clean["probes"] < 58_492 // 10  # per template sentence × class, not per row
    report = pipelines.grammar.grammar_report(v1[1], ctx)
    assert report["rows_checked"] == 58_492
    found = collections.Counter()
    for f in report["listed"]:
        found[f["detail"]] += f["rows"]
    fixed = collections.Counter(f for fixes in corrected[0]["fixes"].to_pylist() for f in fixes.split(";") if f)
    assert {d: found[d] for d in ("already already", "people people", "with with", "on on")} == {
        "already already": fixed["physical-already-already"], "people people": fixed["religion-people-people"],
        "with with": fixed["religion-with-with"], "on on": fixed["ses-the-one"]}
    assert found["an university: “a” by how “university” is read"] == 36  # BBQ's a→an rule before "university"
    # every lower-case start is counted against exactly the row cells (context, question, each option) that show one
    table = v1[0].select(["context", "question", "options"]).to_pylist()
    lower = sum(bool(lowercase_sentence_starts(r["context"])) + bool(lowercase_sentence_starts(r["question"]))
                + sum(bool(lowercase_sentence_starts(o)) for o in r["options"]) for r in table)
    assert report["counts"]["lowercase_start"] == lower > 0


def test_importer_and_lexicons(bbq_dir):
    spec = TemplateFileSpec(path="templates", format="bbq", task="qa", options={"mode": "v1"})
    templates = list(import_templates(spec, str(bbq_dir / "templates")))
    assert len(templates) == 441  # every row with an ambiguous context; Filler_items is never expanded
    assert {t.metadata["category"] for t in templates} == set(PUBLISHED)
    first = next(t for t in templates if t.metadata["category"] == "Age")
    assert first.fields["context"].startswith("I saw a {=person} and their {=person2}")
    assert first.options == ("The {=person}", "The {=person2}")
    assert first.metadata["stereotyped_groups"] == '["old"]'
    assert (first.metadata["name1_info"], first.metadata["name2_info"]) == ("nonOld", "old")
    inter = [t for t in templates if t.metadata["category"] == "Race_x_SES"]
    assert any("{=person.occ}" in t.fields["context"] for t in inter)
    corrected = list(import_templates(TemplateFileSpec(path="templates", format="bbq", task="qa",
                                                       options={"mode": "corrected"}), str(bbq_dir / "templates")))
    age = next(t for t in corrected if t.metadata["category"] == "Age")
    assert age.fields["context"].startswith("I saw {a:person} and their {person2}")
    vocab = load_lexicon(LexiconSpec(name="v", format="bbq", options={"table": "vocabulary"}),
                         str(bbq_dir / "templates" / "vocabulary.csv"))
    assert all(e.value != "Orthodox " for e in vocab)  # Pilot_include == "No" is dropped
    names = load_lexicon(LexiconSpec(name="n", format="bbq", options={"table": "proper_names"}),
                         str(bbq_dir / "templates"))
    assert collections.Counter(e.axis for e in names) == {"first": 100, "last": 100, "first_only": 40}
    assert {e.pronoun_set for e in names if e.features["gender"] == "F"} == {"she"}


def test_bad_inputs_are_one_line_errors(bbq_dir, tmp_path):
    with pytest.raises(InputError, match="options.mode"):
        list(import_templates(TemplateFileSpec(path="t", format="bbq", options={"mode": "v2"}), str(bbq_dir)))
    with pytest.raises(InputError, match="unknown BBQ category"):
        list(import_templates(TemplateFileSpec(path="t", format="bbq", options={"categories": ["Height"]}),
                              str(bbq_dir)))
    with pytest.raises(InputError, match="table"):
        load_lexicon(LexiconSpec(name="v", format="bbq"), str(bbq_dir / "templates"))
    # a changed input under the fix list is refused, not silently left unfixed
    copy = tmp_path / "templates"
    copy.mkdir()
    for f in (bbq_dir / "templates").iterdir():
        text = f.read_text(encoding="utf-8")
        if f.name == "new_templates - Religion.csv":
            text = text.replace("people people", "people")
        (copy / f.name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="religion-people-people"):
        list(import_templates(TemplateFileSpec(path="t", format="bbq", options={"mode": "corrected"}), str(copy)))


@pytest.mark.slow
@pytest.mark.parametrize("bench, version", [("bbq-v1", "1.0.0"), ("bbq", "1.1.0")])
def test_cli_builds_bbq_v1_and_bbq_reproducibly(shipped_release, bench, version, tmp_path):
    """The session's CLI build of each spec (a child process, PYTHONHASHSEED=1); bbq built again in another
    process with another hash seed must give the same bytes in every file."""
    import datasets
    import pyarrow.parquet as pq

    release = shipped_release(bench)
    assert release.parts[-2:] == (bench, version)
    for category, n in PUBLISHED.items():
        ds = datasets.load_dataset(str(release), category.lower(), split="test", cache_dir=str(tmp_path / "cache"))
        assert ds.num_rows == n
        assert set(ds.unique("context_condition")) == {"ambig", "disambig"}
    checks = {c["name"]: c for c in json.loads((release / "validation.json").read_text())["checks"]
              if c["config"] == "*"}
    grammar = checks["grammar"]
    assert grammar["passed"] and grammar["details"]["rows_checked"] == 58_492
    if bench == "bbq-v1":  # BBQ's defects kept: reported, not gated
        assert grammar["observed"] > 0 and grammar["details"]["counts"]["doubled_word"] > 0
    if bench == "bbq":
        assert grammar["observed"] == 0 and checks["lint_failures"]["observed"] == 0
        again = build_in_child(tmp_path / "again", str(PROJECT / "configs" / "bbq.yaml"), "--data-dir",
                               str(BBQ_DIR), hashseed=4242)
        files = sorted(f for f in release.rglob("*") if f.is_file())
        assert len(files) > 11 and any(f.suffix == ".parquet" for f in files)
        assert file_digests(again) == file_digests(release)  # data, catalogues, stats, validation, card, manifest
        assert all(pq.read_table(f).num_rows > 0 for f in (release / "data").rglob("*.parquet"))
