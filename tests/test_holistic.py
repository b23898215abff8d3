"""HolisticBias v1.1 rebuilt through the expansion stage: counts, corrections, lint (real data, no mocks)."""

import collections

import pyarrow as pa
import pyarrow.parquet  # noqa: F401
import pyarrow.compute as pc
import pytest

from pipelines.spec import load_spec
from tests.conftest import HOLISTIC_DIR
from transforms import holistic_bias as hb
from transforms.importers import import_templates
from transforms.lexicons import load_lexicon
from transforms.lexicon_context import LexiconContext
from transforms.plan import plan_release
from transforms.shards import write_shard

# the whole HolisticBias release, planned and written from the real data once, on one worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("holistic-rows")]

REFERENCE_ROWS = 566_625
REFERENCE_DISTINCT = 563_195


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Plan and write the whole release once: (spec, rows table, shard summaries)."""
    if not HOLISTIC_DIR.is_dir():  # the same skip as the `holistic_dir` fixture, once per module
        pytest.skip(f"{HOLISTIC_DIR} is absent: HolisticBias v1.1 is read in place from ../shared")
    holistic_dir = HOLISTIC_DIR
    spec = load_spec("configs/holistic-bias.yaml", data_dir=str(holistic_dir))
    templates = [t for f in spec.template_files for t in import_templates(f, spec.resolve(f.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    tasks = plan_release(spec, templates, lexicons)
    ctx = LexiconContext(lexicons, spec.article_overrides)
    out = tmp_path_factory.mktemp("hb")
    summaries = [write_shard(t, str(out), ctx, lint="boundary") for t in tasks]
    table = pa.concat_tables(
        pa.parquet.read_table(out / s["path"]) for s in summaries) if summaries else None
    return spec, table, summaries


def test_row_count_matches_reference(built):
    _, table, summaries = built
    assert table.num_rows == REFERENCE_ROWS == sum(s["rows"] for s in summaries)


def test_same_rows_as_reference_generator_except_articles(built, holistic_dir):
    _, table, _ = built
    ref = collections.Counter(r["text"] for r in hb.reference_sentences(str(holistic_dir)))
    assert sum(ref.values()) == REFERENCE_ROWS and len(ref) == REFERENCE_DISTINCT
    fixes = table.column("article_fix").to_pylist()
    ours = []
    for text, fix, template in zip(table.column("text").to_pylist(), fixes, table.column("template").to_pylist()):
        if fix and "{noun_phrase}" in template:  # undo the correction: the reference's text
            theirs, mine = fix.split(" → ")
            assert mine in text
            text = text.replace(mine, theirs, 1)
        ours.append(text)
    assert collections.Counter(ours) == ref


def test_corrections_counted_and_in_card(built):
    spec, table, _ = built
    singular = pc.match_substring(table.column("template"), "{noun_phrase}")
    fixed = pc.and_(singular, pc.not_equal(table.column("article_fix"), ""))
    n = pc.sum(fixed).as_py()
    texts = pc.filter(table.column("text"), fixed).to_pylist()
    assert any("an FTM" in t for t in texts) and any("a European" in t for t in texts)
    assert any("a one-percenter" in t for t in texts) and any("an LGBTQ" in t for t in texts)
    assert any("an F2M" in t for t in texts) and any("an FoC" in t for t in texts)
    counts = hb.correction_counts(table)
    assert sum(counts.values()) == n
    changelog = " ".join(spec.release.changelog)
    assert f"{n:,} rows are corrected" in changelog
    for label, k in counts.items():
        assert f"{label} ({k:,})" in changelog, label


def test_lint_zero_article_and_agreement_errors(built):
    _, _, summaries = built
    totals = collections.Counter()
    for s in summaries:
        totals.update(s["lint"]["counts"])
    assert totals["article_mismatch"] == 0 and totals["agreement"] == 0
    assert sum(totals.values()) == 0, totals


def test_grammar_check_finds_nothing(built):
    """The parser-based check over the whole release: 26 probes stand for 566,625 rows, none flagged
    (the rule before F2M/M2F and FoC/MoC were read as initialisms left 1,479 rows with "a")."""
    from pipelines.grammar import grammar_report

    spec, _, _ = built
    templates = [t for f in spec.template_files for t in import_templates(f, spec.resolve(f.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    ctx = LexiconContext(lexicons, spec.article_overrides)
    report = grammar_report(plan_release(spec, templates, lexicons, ctx), ctx)
    assert report["rows_checked"] == REFERENCE_ROWS and report["cells"] == 0, report["listed"][:3]


def test_rows_carry_metadata(built):
    _, table, _ = built
    for col in ("axis", "group", "bucket", "descriptor", "noun", "noun_phrase_type", "template", "preference"):
        assert col in table.column_names
    types = set(table.column("noun_phrase_type").unique().to_pylist())
    assert types == {"descriptor", "descriptor_noun", "noun", "noun_descriptor", "fixed_phrase"}
    # must_be_noun templates never take a phrase without a noun
    mbn = pc.equal(table.column("template"), "As {noun_phrase}, I have an opinion about that.")
    assert set(pc.filter(table.column("noun_phrase_type"), mbn).unique().to_pylist()) <= {
        "descriptor_noun", "noun", "noun_descriptor"}
    assert pc.count_distinct(table.column("example_id")).as_py() == table.num_rows
