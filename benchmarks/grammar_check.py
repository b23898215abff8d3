"""Time the parser-based grammar check (once per template × filler class) against parsing every row.

For each spec (HolisticBias v1.1, CALM corrected, BBQ corrected): templates imported, lexicons
loaded and the release planned (not timed), then in the same process

* ``probes``: the probe sentences built (``transforms.grammar_probes``: fillers chosen as the
  shards choose them, rows grouped by template × filler class, one rendering per group; for
  BBQ's two-person design ``transforms.four_way_probes``: one per template sentence × class);
* ``load spaCy``: spaCy imported (without torch) and the model loaded (once per build, and only
  when there are probes);
* ``parse + check``: every distinct probe checked as a build does (``pipelines.grammar.check_texts``:
  tokenized, tagged only with an article or a subject pronoun, parsed only where agreement could fail);
* baseline ``every row``: the full parse (tagger and parser) and check of a sample of rendered rows
  (every block's first row, up to ``--sample``), extrapolated to all rows × text fields.

    .venv/bin/python benchmarks/grammar_check.py [--holistic-dir ../shared/data/holistic_bias/v1.1]
        [--calm-dir ../shared/data/calm] [--bbq-dir ../shared/data/bbq] [--sample 400]

A four-way (BBQ) row's text cells are its context, its question and its options.

ratio = (probes + parse + check) / every-row estimate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT]
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _prepare(name: str, data_dir: str):
    from pipelines.spec import load_spec
    from transforms.lexicon_context import LexiconContext
    from transforms.importers import import_templates
    from transforms.lexicons import load_lexicon
    from transforms.plan import plan_release

    spec = load_spec(name, data_dir=data_dir)
    templates = [t for f in spec.template_files for t in import_templates(f, spec.resolve(f.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    ctx = LexiconContext(lexicons, spec.article_overrides)
    return plan_release(spec, templates, lexicons, ctx), ctx


def _cells_per_row(task) -> int:
    from schemas.records import TASK_FIELDS

    return 3 if task.strategy == "four_way" else len(TASK_FIELDS[task.layout.task])


def _first_row_texts(task, block, ctx) -> list[str]:
    """The text cells of a block's first row."""
    from schemas.records import TASK_FIELDS
    from transforms.expand import render_block
    from transforms.four_way import render_four_way

    if task.strategy == "four_way":
        batch = render_four_way(block.template, block.items[:1], block.targets[:1], block.options,
                                axis=task.layout.axis, fill_type=task.layout.fill_type, schema=task.layout.schema,
                                groups=block.groups[:1])
        return [text for row in batch.slice(0, 1).to_pylist()
                for text in (row["context"], row["question"], "; ".join(row["options"]))]
    batch = render_block(block, task.layout, ctx, strategy=task.strategy, seed=task.seed)
    return [batch.column(f)[0].as_py() for f in TASK_FIELDS[task.layout.task] if batch.num_rows]


def _sample_rows(tasks, ctx, limit: int) -> tuple[list[str], int]:
    """The text cells of every block's first row (up to ``limit`` texts), and the release's text cells."""
    texts, cells, blocks = [], 0, [(t, b) for t in tasks for b in t.blocks]
    step = max(1, len(blocks) * 2 // max(limit, 1))
    for i, (task, block) in enumerate(blocks):
        cells += block.rows * _cells_per_row(task)
        if i % step == 0 and len(texts) < limit:
            texts += _first_row_texts(task, block, ctx)
    return texts[:limit], cells


def _bench(label: str, name: str, data_dir: str, sample: int) -> None:
    from pipelines.grammar import check_texts
    from transforms.nlp import _NLP_CACHE, load_nlp
    from transforms.four_way_probes import four_way_probes
    from transforms.grammar_probes import grammar_probes
    from validation.grammar_check import check_doc

    tasks, ctx = _prepare(name, data_dir)
    _NLP_CACHE.clear()
    t0 = time.perf_counter()
    probes = grammar_probes([t for t in tasks if t.strategy != "four_way"], ctx) + \
        four_way_probes([t for t in tasks if t.strategy == "four_way"])
    t_probes = time.perf_counter() - t0
    t0 = time.perf_counter()
    nlp = load_nlp()
    t_load = time.perf_counter() - t0

    def parse_and_check(texts):
        with nlp.select_pipes(disable=[p for p in ("ner", "lemmatizer") if p in nlp.pipe_names]):
            return sum(len(check_doc(doc, ctx.article_overrides)) for doc in nlp.pipe(texts, batch_size=256))

    distinct = sorted({p.text for p in probes})
    t0 = time.perf_counter()
    check_texts(distinct, ctx.article_overrides, nlp)  # what a build runs: each probe analysed as far as it needs
    t_check = time.perf_counter() - t0
    rows_sample, cells = _sample_rows(tasks, ctx, sample)
    t0 = time.perf_counter()
    parse_and_check(rows_sample)
    per_cell = (time.perf_counter() - t0) / max(len(rows_sample), 1)
    every_row = per_cell * cells
    ours = t_probes + t_check
    print(f"{label}: {cells:,} text cells, {len(probes):,} probes ({len(distinct):,} distinct)")
    print(f"  {'probes':<28}{t_probes:8.2f} s")
    print(f"  {'load spaCy (once per build)':<28}{t_load:8.2f} s")
    print(f"  {'parse + check probes':<28}{t_check:8.2f} s")
    print(f"  {'every row (estimated)':<28}{every_row:8.1f} s   ({len(rows_sample)} rows parsed: "
          f"{per_cell * 1000:.2f} ms each)")
    print(f"  ratio (probes + check) / every row: {ours / every_row:.4f}")


def main() -> None:
    shared = os.path.join(os.path.dirname(ROOT), "shared", "data")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--holistic-dir", default=os.path.join(shared, "holistic_bias", "v1.1"))
    ap.add_argument("--calm-dir", default=os.path.join(shared, "calm"))
    ap.add_argument("--bbq-dir", default=os.path.join(shared, "bbq"))
    ap.add_argument("--sample", type=int, default=400)
    args = ap.parse_args()
    for label, name, data in (("HolisticBias v1.1", "holistic-bias", args.holistic_dir),
                              ("CALM corrected", "calm", args.calm_dir), ("BBQ corrected", "bbq", args.bbq_dir)):
        if not os.path.isdir(data):
            print(f"{label}: skipped, {data} is absent")
            continue
        _bench(label, name, data, args.sample)


if __name__ == "__main__":
    main()
