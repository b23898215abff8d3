"""Demographic expansion at scale: the pipeline's expand+write path against named baselines, in one run.

    .venv/bin/python benchmarks/expansion.py [--templates 1000] [--names 10000] [--skip-holistic]
                                             [--holistic-data ../shared/data/holistic_bias/v1.1]

Two parts; every variant runs in its own child process (``peak`` = that child's ``ru_maxrss``),
and ratios are taken against a baseline measured in the same invocation (the machine is shared
and noisy: absolute seconds vary run to run, ratios much less).

Part 1, synthetic (default 1,000 templates x 10,000 names = 10,000,000 rows, config ``qa_gender``):
  templates are QA items of four sentences with ``{person}``, ``{person.subj}``, ``{person.poss}``,
  ``{person.obj}``, ``{person:was}`` / ``{person:has}`` agreement slots and a gold answer with a slot;
  the lexicon has 10,000 synthetic names in three groups with pronoun sets (he/she/they) and a
  ``region`` feature that becomes a metadata column.

  ``floor``        pyarrow compute alone: per template x group block, the same columns for the same
                   rows (take + binary_join_element_wise, pa.repeat for constants, ids and
                   counterfactual ids, metadata), written with the same Parquet options and row groups
                   into the same number of files; block by block (expand one block, write it, next).
  ``pipeline``     the real code path: ``plan_config`` -> ``ShardTask`` -> ``write_shard`` (run rendering,
                   ``ParquetShardWriter``), no lint, serially in one process.
  ``pipeline+lint`` the same with lint, as a build does it: ``write_shard(..., lint="boundary")``, i.e. the
                   boundary lint (``transforms.boundary_lint``: per template piece and lexicon entry, the
                   row lint's counts and examples without linting rows).
  ``pipeline+rowlint`` (``--row-lint``) the same with the rendered rows linted (``lint="rows"``:
                   ``lint_batches`` on every batch), the lint that ``biasbench validate`` runs on Parquet.
  ``beam``         ``ExpandAndWriteShards`` on Beam's in-process FnApiRunner, one shard per element,
                   no shuffle of row data (the build's phase 2), no lint.

Part 2, HolisticBias v1.1 (566,625 rows; skipped when the data folder is absent):
  ``reference-csv``     the reference generator's loop in plain Python (one dict per sentence,
                        ``transforms.holistic_bias.reference_sentences``), then what the reference
                        generator does with it: ``pandas.DataFrame(rows).to_csv(sentences.csv)``;
  ``reference-parquet`` the same loop, written with ``pa.Table.from_pylist`` + ``pq.write_table``
                        (the baseline if one insists on the same output format as ours);
  ``pipeline``          what ``biasbench build configs/holistic-bias.yaml`` does for the rows:
                        spec -> importer -> lexicon loader -> ``plan_release`` -> ``write_shard``
                        (expand + deterministic Parquet), serially in one process;
  ``pipeline+lint``     the same with lint (reported separately: lint is validation, not expansion);
  ``beam-1w`` / ``beam-2w`` (``--hb-beam``) the build's phase 2 itself: ``ExpandAndWriteShards`` (no lint) on
                        the DirectRunner with 1 worker, and 2 workers in multi_processing mode (runner start-up
                        and per-worker lexicon rebuilding included).
  Timings start after the imports of pyarrow/Beam/pandas (same for every variant).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_HB = os.path.join(ROOT, "..", "shared", "data", "holistic_bias", "v1.1")
GROUPS = (("female", "she", 0.4), ("male", "he", 0.4), ("non-binary", "they", 0.2))
REGIONS = ("north", "south", "east", "west", "centre")
ROWS_PER_SHARD = 500_000
ROW_GROUP_SIZE = 100_000

# --------------------------------------------------------------------------------------------------
# synthetic data (deterministic, no RNG state shared with anything)

_SUBJECTS = ("the report", "the budget", "a new project", "the old house", "the garden", "the contract",
             "the meeting", "the recipe", "the invoice", "the festival", "a long trip", "the exam")
_VERBS = (("was", "tired"), ("was", "late"), ("has", "a plan"), ("was", "sure of it"), ("has", "no idea"),
          ("was", "happy"), ("has", "a question"), ("was", "away"))
_PLACES = ("at the station", "in the office", "near the river", "at home", "in the library", "on the bus")


def synthetic_templates(n: int):
    from schemas.records import Template

    out = []
    for i in range(n):
        subj = _SUBJECTS[i % len(_SUBJECTS)]
        v1, c1 = _VERBS[i % len(_VERBS)]
        v2, c2 = _VERBS[(i // 3) % len(_VERBS)]
        place = _PLACES[(i // 7) % len(_PLACES)]
        context = (f"{{person}} worked on {subj} {place} for {i % 9 + 2} hours. "
                   f"{{person.subj}} {{person:{v1}}} {c1} when {{person.poss}} colleague called. "
                   f"Nobody had asked {{person.obj}} about item {i}, but {{person.subj}} {{person:{v2}}} {c2}. "
                   f"In the end {{person}} finished {subj} before noon.")
        question = f"What did {{person}} work on {place}?"
        answer = f"{{person}} worked on {subj}."
        out.append(Template.create(task="qa", fields={"context": context, "question": question},
                                   source_dataset="synthetic", source_record_id=str(i), answer=answer,
                                   ordinal=i))
    return out


def synthetic_names(n: int):
    from schemas.records import LexiconEntry

    syll = ("ka", "lo", "mi", "ren", "sa", "to", "vi", "del", "an", "bo", "ri", "el", "na", "jo")
    entries = []
    start = 0
    for g, (group, pset, share) in enumerate(GROUPS):
        count = n - start if g == len(GROUPS) - 1 else int(n * share)
        for k in range(count):
            j = start + k
            name = (syll[j % 14] + syll[(j // 14) % 14] + syll[(j // 196) % 14]).capitalize() + f"{j // 2744 or ''}"
            entries.append(LexiconEntry("names", "gender", group, name, pronoun_set=pset,
                                        features={"region": REGIONS[j % len(REGIONS)]}))
        start += count
    return entries


def _layout():
    from transforms.expand import ConfigLayout

    return ConfigLayout(task="qa", axis="gender", lexicon="names", fill_type="implicit",
                        metadata_columns=("region",), name="qa_gender")


class _Group:
    def __init__(self, name):
        self.name, self.source_group, self.count, self.sample = name, name, None, True


class _Design:
    strategy, per_group, seed, stratify, strata = "all", None, None, "", []


def _plan(n_templates: int, n_names: int):
    from transforms.expand import LexiconContext, plan_config
    from transforms.shards import ShardTask

    templates, names = synthetic_templates(n_templates), synthetic_names(n_names)
    ctx = LexiconContext({"names": names})
    layout = _layout()
    shards = plan_config(layout, [_Group(g) for g, _, _ in GROUPS], _Design(), templates, ctx, seed=0,
                         rows_per_shard=ROWS_PER_SHARD)
    tasks = [ShardTask(layout, blocks, i, len(shards), "test", "all", 0, ROW_GROUP_SIZE)
             for i, blocks in enumerate(shards)]
    return templates, names, ctx, tasks


# --------------------------------------------------------------------------------------------------
# variants (each runs in a child)

def run_floor(n_templates: int, n_names: int, out: str) -> int:
    """pyarrow alone, block by block: what expanding these rows and writing them costs at the least."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from schemas.pronouns import PRONOUN_SETS
    from schemas.records import row_schema
    from schemas.grammar import agree_verb, capitalize_first
    from transforms.write import PARQUET_OPTIONS

    templates, names = synthetic_templates(n_templates), synthetic_names(n_names)
    schema = row_schema("qa", ("region",))
    by_group = {}
    for group, _, _ in GROUPS:  # per group, per entry: every slot rendering the templates use
        es = [e for e in names if e.group == group]
        ps = [PRONOUN_SETS[e.pronoun_set] for e in es]
        by_group[group] = {
            "filler": pa.array([e.value for e in es]), "id": pa.array([e.entry_id for e in es]),
            "region": pa.array([e.features["region"] for e in es]),
            "Subj": pa.array([capitalize_first(p.subj) for p in ps]), "subj": pa.array([p.subj for p in ps]),
            "poss": pa.array([p.poss for p in ps]), "obj": pa.array([p.obj for p in ps]),
            "was": pa.array([agree_verb("was", p.plural_verbs) for p in ps]),
            "has": pa.array([agree_verb("has", p.plural_verbs) for p in ps]),
        }
    import re
    piece_re = re.compile(r"\{(person(?:\.(?:subj|poss|obj)|:(?:was|has))?)\}")

    def pieces(text):  # literal / column-name pieces of a synthetic field
        out, pos = [], 0
        for m in piece_re.finditer(text):
            out.append(text[pos:m.start()])
            key = m.group(1)
            key = "filler" if key == "person" else key.split(".")[-1].split(":")[-1]
            if key == "subj" and (m.start() == 0 or text[:m.start()].endswith(". ")):
                key = "Subj"  # a sentence opener is capitalised
            out.append((key,))
            pos = m.end()
        out.append(text[pos:])
        return [p for p in out if p != ""]

    parsed = [(t, {f: pieces(t.fields[f]) for f in ("context", "question")}, pieces(t.answer)) for t in templates]
    files, rows_in_file, total = 0, 0, 0
    writer, pending, pending_rows = None, [], 0

    def flush(size):
        nonlocal pending, pending_rows
        table = pa.Table.from_batches(pending, schema=schema)
        writer.write_table(table.slice(0, size).combine_chunks(), row_group_size=size)
        tail = table.slice(size)
        pending, pending_rows = tail.to_batches(), tail.num_rows

    def close():
        if pending_rows:
            flush(pending_rows)
        writer.close()

    for t, fields, answer in parsed:
        for group, _, _ in GROUPS:
            cols = by_group[group]
            n = len(cols["filler"])
            if writer is None or rows_in_file + n > ROWS_PER_SHARD:
                if writer is not None:
                    close()
                writer = pq.ParquetWriter(os.path.join(out, f"floor-{files:05d}.parquet"), schema, **PARQUET_OPTIONS)
                files, rows_in_file = files + 1, 0

            def const(v):
                return pa.repeat(pa.scalar(v, pa.string()), n)

            def join(ps):
                return pc.binary_join_element_wise(*[const(p) if isinstance(p, str) else cols[p[0]] for p in ps], "")

            tid = t.template_id
            batch = pa.RecordBatch.from_arrays([
                pc.binary_join_element_wise(const(tid), cols["id"], "-"),
                const(tid),
                pc.binary_join_element_wise(const(tid), pa.array([f"{k:05d}" for k in range(n)]), "-"),
                const("qa"), const("synthetic"), const("gender"), const(group), cols["filler"], const("implicit"),
                join(fields["context"]), join(fields["question"]), join(answer),
                pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string())),
                cols["region"],
            ], schema=schema)
            pending.append(batch)
            pending_rows += n
            while pending_rows >= ROW_GROUP_SIZE:
                flush(ROW_GROUP_SIZE)
            rows_in_file += n
            total += n
    close()
    return total


def run_pipeline(n_templates: int, n_names: int, out: str, lint: bool = False, lint_mode: str = "boundary") -> int:
    from transforms.shards import write_shard

    _, _, ctx, tasks = _plan(n_templates, n_names)
    return sum(write_shard(t, out, ctx, lint=lint_mode if lint else "none")["rows"] for t in tasks)


def _beam_shards(tasks, ctx, out: str, options: list[str]) -> int:
    """The build's phase 2 (``ExpandAndWriteShards``, no lint) on Beam's FnApiRunner; rows written.

    FnApiRunner itself: the "DirectRunner" name first tries to fetch the Prism binary.
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from transforms.shards import ExpandAndWriteShards, write_plan

    summaries = os.path.join(out, "summaries.json")
    paths = write_plan(out, tasks, ctx)
    with beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(options)) as p:
        _ = (p | "Tasks" >> beam.Create(paths, reshuffle=False)
             | "ExpandWrite" >> ExpandAndWriteShards(out, lint=False)
             | "Rows" >> beam.Map(lambda s: s["rows"])
             | "Sum" >> beam.CombineGlobally(sum)
             | "Save" >> beam.Map(lambda n: open(summaries, "w").write(str(n))))
    with open(summaries) as f:
        return int(f.read())


def run_beam(n_templates: int, n_names: int, out: str) -> int:
    _, _, ctx, tasks = _plan(n_templates, n_names)
    return _beam_shards(tasks, ctx, out, [])


def run_hb_reference(data_dir: str, out: str, fmt: str) -> int:
    from transforms.holistic_bias import reference_sentences

    rows = list(reference_sentences(data_dir))  # the reference's all_sentence_metadata list of dicts
    if fmt == "csv":
        import pandas as pd

        pd.DataFrame(rows).to_csv(os.path.join(out, "sentences.csv"), index=False)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from transforms.write import PARQUET_OPTIONS

        for r in rows:  # booleans in the reference; strings keep one Arrow type per column
            r["first_turn_only"], r["must_be_noun"] = str(r["first_turn_only"]), str(r["must_be_noun"])
        pq.write_table(pa.Table.from_pylist(rows), os.path.join(out, "ref.parquet"), **PARQUET_OPTIONS)
    return len(rows)


def run_hb_pipeline(data_dir: str, out: str, lint: bool) -> int:
    from pipelines.spec import load_spec
    from transforms.expand import LexiconContext
    from transforms.importers import import_templates
    from transforms.lexicons import load_lexicon
    from transforms.plan import plan_release
    from transforms.shards import write_shard

    spec = load_spec(os.path.join(ROOT, "configs", "holistic-bias.yaml"), data_dir=data_dir)
    templates = [t for f in spec.template_files for t in import_templates(f, spec.resolve(f.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    ctx = LexiconContext(lexicons, spec.article_overrides)
    tasks = plan_release(spec, templates, lexicons, ctx)  # one LexiconContext for planning and rendering
    return sum(write_shard(t, out, ctx, lint="boundary" if lint else "none",
                           article_overrides=spec.article_overrides)["rows"] for t in tasks)


def run_hb_beam(data_dir: str, out: str, workers: int) -> int:
    """The build's phase 2 for HolisticBias: ``ExpandAndWriteShards`` on Beam's FnApiRunner, no lint."""
    from pipelines.spec import load_spec
    from transforms.expand import LexiconContext
    from transforms.importers import import_templates
    from transforms.lexicons import load_lexicon
    from transforms.plan import plan_release

    spec = load_spec(os.path.join(ROOT, "configs", "holistic-bias.yaml"), data_dir=data_dir)
    templates = [t for f in spec.template_files for t in import_templates(f, spec.resolve(f.path))]
    lexicons = {lx.name: load_lexicon(lx, spec.resolve(lx.path)) for lx in spec.lexicons}
    ctx = LexiconContext(lexicons, spec.article_overrides)
    tasks = plan_release(spec, templates, lexicons, ctx)
    opts = ["--direct_num_workers", str(workers)] + (["--direct_running_mode", "multi_processing"] if workers > 1 else [])
    return _beam_shards(tasks, ctx, out, opts)


def child(args) -> None:
    sys.path.insert(0, ROOT)
    import pyarrow  # noqa: F401  imports are outside the timing, for every variant alike
    import pyarrow.parquet  # noqa: F401
    import pandas  # noqa: F401
    import apache_beam  # noqa: F401
    import transforms.shards  # noqa: F401
    v = args.child
    with tempfile.TemporaryDirectory(dir=args.tmp) as out:
        t0 = time.perf_counter()
        if v == "floor":
            rows = run_floor(args.templates, args.names, out)
        elif v in ("pipeline", "pipeline+lint", "pipeline+rowlint"):
            rows = run_pipeline(args.templates, args.names, out, lint=v.endswith("lint"),
                                lint_mode="rows" if v.endswith("rowlint") else "boundary")
        elif v == "beam":
            rows = run_beam(args.templates, args.names, out)
        elif v.startswith("hb-reference-"):
            rows = run_hb_reference(args.holistic_data, out, v.rsplit("-", 1)[1])
        elif v.startswith("hb-beam-"):
            rows = run_hb_beam(args.holistic_data, out, int(v.rsplit("-", 1)[1].rstrip("w")))
        elif v.startswith("hb-pipeline"):
            rows = run_hb_pipeline(args.holistic_data, out, lint=v.endswith("lint"))
        else:
            raise SystemExit(f"unknown variant {v}")
        seconds = time.perf_counter() - t0
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    print(json.dumps({"variant": v, "rows": rows, "seconds": seconds, "bytes": size,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _run(variant: str, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", variant, "--templates", str(args.templates),
           "--names", str(args.names), "--holistic-data", args.holistic_data]
    if args.tmp:
        cmd += ["--tmp", args.tmp]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"variant {variant} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _line(r: dict, base: dict | None, base_name: str) -> str:
    s = (f"{r['variant']:>18}: {r['rows']:>11,} rows {r['seconds']:7.2f}s {r['rows'] / r['seconds']:>11,.0f} rows/s "
         f"peak {r['peak_mb']:6.0f} MB")
    if base is not None and base is not r:
        s += f"  time x{r['seconds'] / base['seconds']:.2f} of {base_name}, memory x{r['peak_mb'] / base['peak_mb']:.2f}"
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", type=int, default=1000)
    ap.add_argument("--names", type=int, default=10000)
    ap.add_argument("--holistic-data", default=DEFAULT_HB)
    ap.add_argument("--skip-holistic", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--no-lint", action="store_true", help="skip the pipeline+lint variants")
    ap.add_argument("--row-lint", action="store_true", help="also run pipeline+rowlint (rows linted as rendered)")
    ap.add_argument("--hb-beam", action="store_true",
                    help="HolisticBias also through ExpandAndWriteShards on the DirectRunner, 1 and 2 workers")
    ap.add_argument("--tmp", default=None, help="where the children write (default: the system temp dir)")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    if not args.skip_synthetic:
        print(f"== synthetic: {args.templates:,} templates x {args.names:,} names "
              f"= {args.templates * args.names:,} rows (qa, 4-sentence context, pronoun + agreement slots)")
        variants = ["floor", "pipeline", "beam"] + ([] if args.no_lint else ["pipeline+lint"])
        variants += ["pipeline+rowlint"] if args.row_lint and not args.no_lint else []
        res = {}
        for v in variants:
            res[v] = _run(v, args)
            print(_line(res[v], res["floor"], "floor"), flush=True)
        assert len({r["rows"] for r in res.values()}) == 1, "variants disagree on the row count"
        f, p = res["floor"], res["pipeline"]
        print(f"pipeline expand+write vs floor: x{p['seconds'] / f['seconds']:.2f} (target <= 1.3), "
              f"peak {p['peak_mb']:.0f} MB (target < 500); Beam FnApiRunner: x{res['beam']['seconds'] / f['seconds']:.2f}, "
              f"peak {res['beam']['peak_mb']:.0f} MB")
        if "pipeline+lint" in res:
            pl = res["pipeline+lint"]
            print(f"lint adds {pl['seconds'] - p['seconds']:.2f}s "
                  f"({(pl['seconds'] - p['seconds']) / (p['rows'] / 1e6):.2f}s per 1M rows); "
                  f"pipeline+lint vs floor: x{pl['seconds'] / f['seconds']:.2f} (target <= 1.3)")
        if "pipeline+rowlint" in res:
            rl = res["pipeline+rowlint"]
            print(f"row lint adds {rl['seconds'] - p['seconds']:.2f}s; pipeline+rowlint vs floor: "
                  f"x{rl['seconds'] / f['seconds']:.2f}")
    if not args.skip_holistic:
        if not os.path.isdir(args.holistic_data):
            print(f"holistic-bias part skipped: {args.holistic_data} is absent")
            return 0
        print("== HolisticBias v1.1 (566,625 rows)")
        variants = ["hb-reference-csv", "hb-reference-parquet", "hb-pipeline"] + ([] if args.no_lint else
                                                                               ["hb-pipeline+lint"])
        variants += ["hb-beam-1w", "hb-beam-2w"] if args.hb_beam else []
        res = {}
        for v in variants:
            res[v] = _run(v, args)
            print(_line(res[v], res["hb-reference-csv"], "reference-csv"), flush=True)
        ref, refp, ours = res["hb-reference-csv"], res["hb-reference-parquet"], res["hb-pipeline"]
        print(f"pipeline (expand + Parquet) speed-up vs reference loop + CSV: x{ref['seconds'] / ours['seconds']:.2f} "
              f"(target >= 5), vs reference loop + Parquet: x{refp['seconds'] / ours['seconds']:.2f}; "
              f"peak memory ratio {ours['peak_mb'] / ref['peak_mb']:.2f} / {ours['peak_mb'] / refp['peak_mb']:.2f} "
              f"(target < 0.5)")
        if "hb-pipeline+lint" in res:
            pl = res["hb-pipeline+lint"]
            print(f"with lint: x{ref['seconds'] / pl['seconds']:.2f} vs reference + CSV "
                  f"(lint adds {pl['seconds'] - ours['seconds']:.2f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
