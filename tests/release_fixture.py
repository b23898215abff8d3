"""Build a tiny release directory by hand (no pipeline run), for validation/card/diff/publish tests.

>>> # spec, path = build_release(tmp_path / "rel")
>>> # spec, path = build_release(tmp_path / "bad", unbalanced=True)

Two configs: ``qa_gender`` (3 groups) and ``sentiment_race`` (2 groups), two
templates each, two fillers per group, with templates.parquet,
lexicons.parquet and a sealed manifest.json whose sha256/rows/bytes are correct;
``finalise`` adds stats, validation.json and the card and lists them in the manifest.
Knobs make a release that fails one check: ``unbalanced`` drops one row of one
template, ``lint_defect`` renders "they was" into one row, ``extra_rows``
adds a template (a minor change for diff tests), ``change_text`` edits one row
in place (a patch).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.spec import BenchmarkSpec, ConfigSpec, GroupSpec, LexiconSpec, ReleaseSpec, SourceSpec, ValidationSpec
from schemas.release import canonical_rows_digest, file_entries
from schemas.ids import file_sha256, stable_id
from schemas.release import manifest_text
from schemas.records import FileEntry, LexiconEntry, Manifest, Template, lexicons_table, row_schema, templates_table

FILLERS = {
    "female": ["Mary", "Anna"], "male": ["John", "Omar"], "non-binary": ["Alex", "Sam"],
    "black": ["Jamal", "Aaliyah"], "white": ["Connor", "Emily"],
}
PRONOUN = {"female": "she", "male": "he", "non-binary": "they", "black": "they", "white": "they"}


def make_spec(**validation) -> BenchmarkSpec:
    """The spec the fixture release claims to be built from."""
    return BenchmarkSpec(
        benchmark="fixture-bench", version="1.0.0", description="A tiny benchmark for tests.", license="cc-by-4.0",
        sources=[SourceSpec(name="demo", format="jsonl", path="demo.jsonl", license="cc-by-4.0")],
        lexicons=[LexiconSpec(name="names")],
        configs=[
            ConfigSpec(name="qa_gender", task="qa", axis="gender", lexicon="names",
                       groups=[GroupSpec("female"), GroupSpec("male"), GroupSpec("non-binary")]),
            ConfigSpec(name="sentiment_race", task="sentiment", axis="race", lexicon="names",
                       groups=[GroupSpec("black"), GroupSpec("white")]),
        ],
        validation=ValidationSpec(**validation),
        release=ReleaseSpec(card_title="Fixture Bench", changelog=["1.0.0: first release"]),
        spec_hash="0123456789abcdef",
    )


def _templates(extra: bool) -> list[Template]:
    ts = [
        Template.create(task="qa", source_dataset="demo", source_record_id="1", answer="{person}",
                        fields={"context": "{person} went to the market.", "question": "Who went to the market?"},
                        source_license="cc-by-4.0"),
        Template.create(task="qa", source_dataset="demo", source_record_id="2", answer="{person}",
                        fields={"context": "{person} fixed the old bike.", "question": "Who fixed the bike?"},
                        source_license="cc-by-4.0"),
        Template.create(task="sentiment", source_dataset="reviews", source_record_id="3", answer="positive",
                        fields={"sentence": "{person} loved the new film."}, source_license="mit"),
        Template.create(task="sentiment", source_dataset="reviews", source_record_id="4", answer="negative",
                        fields={"sentence": "{person} hated the long queue."}, source_license="mit"),
    ]
    if extra:
        ts.append(Template.create(task="qa", source_dataset="demo", source_record_id="5", answer="{person}",
                                  fields={"context": "{person} painted a red door.", "question": "Who painted it?"},
                                  source_license="cc-by-4.0"))
    return ts


def _rows(config: ConfigSpec, templates: list[Template], *, lint_defect: bool, change_text: bool) -> list[dict]:
    rows = []
    for t in (t for t in templates if t.task == config.task):
        cf = stable_id("cf", t.template_id, config.name)
        for g in config.groups:
            for filler in FILLERS[g.name]:
                texts = {k: v.replace("{person}", filler) for k, v in t.fields.items()}
                rows.append({
                    "example_id": stable_id("x", t.template_id, config.name, g.name, filler),
                    "template_id": t.template_id, "counterfactual_set_id": cf, "task": t.task,
                    "source_dataset": t.source_dataset, "axis": config.axis, "group": g.name, "filler": filler,
                    "fill_type": "explicit", **texts, "answer": t.answer.replace("{person}", filler),
                    "options": [filler, "unknown"] if t.task == "qa" else ["positive", "negative"],
                })
    rows.sort(key=lambda r: r["example_id"])
    first = TASK_FIELDS_FIRST[config.task]
    if lint_defect:
        rows[0][first] = "They was late, so " + rows[0][first]
    if change_text:
        rows[0][first] = rows[0][first].rstrip(".") + " today."
    return rows


TASK_FIELDS_FIRST = {"qa": "context", "sentiment": "sentence"}


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, str(path), compression="zstd", compression_level=3, write_statistics=True)


def build_release(root: str | os.PathLike, *, spec: BenchmarkSpec | None = None, unbalanced: bool = False,
                  lint_defect: bool = False, extra_rows: bool = False, change_text: bool = False,
                  version: str | None = None) -> tuple[BenchmarkSpec, str]:
    """Write a release directory at ``root``; return (spec, path). No stats/validation/README yet."""
    spec = spec or make_spec()
    if version:
        spec.version = version
    root = Path(root)
    templates = _templates(extra_rows)
    lex = [LexiconEntry("names", "gender" if g in ("female", "male", "non-binary") else "race", g, v,
                        pronoun_set=PRONOUN[g], source="fixture", license="cc0-1.0")
           for g, vs in FILLERS.items() for v in vs]
    files, configs, rows_sha = [], {}, {}
    for c in spec.configs:
        rows = _rows(c, templates, lint_defect=lint_defect and c.name == "qa_gender",
                     change_text=change_text and c.name == "qa_gender")
        if unbalanced and c.name == "qa_gender":
            rows = rows[1:]
        table = pa.Table.from_pylist(rows, schema=row_schema(c.task))
        rel = f"data/{c.name}/test-00000-of-00001.parquet"
        _write(table, root / rel)
        configs[c.name] = {"task": c.task, "axis": c.axis, "rows": table.num_rows, "files": [rel],
                           "groups": {g.name: sum(r["group"] == g.name for r in rows) for g in c.groups},
                           "schema": [[f.name, str(f.type)] for f in table.schema]}
        rows_sha[c.name] = canonical_rows_digest([str(root / rel)])
    _write(templates_table(templates), root / "templates.parquet")
    _write(lexicons_table(lex), root / "lexicons.parquet")
    for rel in [*(f"data/{c}/test-00000-of-00001.parquet" for c in configs), "templates.parquet", "lexicons.parquet"]:
        p = root / rel
        files.append(FileEntry(path=rel, rows=pq.ParquetFile(p).metadata.num_rows, bytes=p.stat().st_size,
                               sha256=file_sha256(str(p))))
    manifest = Manifest(benchmark=spec.benchmark, version=spec.version, spec_hash=spec.spec_hash,
                        input_hashes={"demo": "abc"}, code_version="0.1.0", configs=configs,
                        files=tuple(files), rows_sha256=rows_sha)
    (root / "manifest.json").write_text(manifest_text(manifest.to_dict()))
    return spec, str(root)


def finalise(root: str, spec: BenchmarkSpec) -> dict:
    """Run the lead's finalising sequence on a fixture release: lint, stats, gate, card. Returns the report."""
    from pipelines.card import render_card
    from validation.stats import compute_stats, write_stats
    from validation.gate import run_gate, write_validation
    from validation.release_lint import lint_release

    lint = lint_release(root, article_overrides=spec.article_overrides)
    stats = compute_stats(root, spec, lint)
    write_stats(root, stats)
    report = run_gate(root, spec, lint, stats)
    write_validation(root, report)
    manifest = json.loads(Path(root, "manifest.json").read_text())
    Path(root, "README.md").write_text(render_card(manifest, spec, stats, report), encoding="utf-8")
    # as a build does: the manifest lists every file of the finished release
    manifest["files"] = [asdict(e) for e in file_entries(root)]
    Path(root, "manifest.json").write_text(manifest_text(manifest))
    return report
