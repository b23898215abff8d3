"""Source profiles in specs: merged by the loader, read by extraction as task records, confined like any input."""

import os
from pathlib import Path

import pytest
import yaml

from pipelines.manifest import input_hashes
from pipelines.spec import default_spec_path, load_spec
from schemas.errors import SpecError

DEMO = yaml.safe_load(Path(default_spec_path()).read_text())


def spec_file(tmp_path, sources, extract=(), **extra) -> str:
    spec = {**DEMO, "sources": sources, "extract": list(extract), **extra}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def test_profile_defaults_entry_overrides_and_extract_reads_task_fields(tmp_path):
    path = spec_file(tmp_path, [{"profile": "snli", "options": {"limit": 3}, "license": "own"}],
                     [{"source": "snli", "task": "nli"}])
    spec = load_spec(path, data_dir=str(tmp_path))
    [src] = spec.sources
    assert (src.name, src.format, src.path, src.task, src.license, src.options) == (
        "snli", "csv", "sources/snli/test.csv", "nli", "own", {"limit": 3})
    [ex] = spec.extract
    assert (ex.fields, ex.answer, ex.options) == ({"premise": "premise", "hypothesis": "hypothesis"}, "answer", "options")
    # the spec hash covers the merged profile, not just the entry
    assert spec.spec_hash != load_spec(spec_file(tmp_path, [{"profile": "wnli", "name": "snli", "license": "own",
                                                              "options": {"limit": 3}}],
                                                 [{"source": "snli", "task": "nli"}]), data_dir=str(tmp_path)).spec_hash


def test_extract_without_fields_needs_a_source_mapped_to_its_task(tmp_path):
    path = spec_file(tmp_path, [{"profile": "gap"}], [{"source": "gap", "task": "qa"}])
    with pytest.raises(SpecError, match="extract\\[0\\] \\(gap\\) has no 'fields'.*mapped to task 'qa' "
                                        "\\(it is coreference\\)"):
        load_spec(path)
    with pytest.raises(SpecError, match="no source profile 'snil'; shipped: babi, drop"):
        load_spec(spec_file(tmp_path, [{"profile": "snil"}]))


def test_task_records_feed_extraction(calm_dir, tmp_path):
    from transforms.extract import extract_batch, load_nlp
    from transforms.ingest import read_source
    from schemas.records import SourceRecord

    spec = load_spec(spec_file(tmp_path, [{"profile": "wnli"}], [{"source": "wnli", "task": "nli"}]),
                     data_dir=str(calm_dir))
    [src], [ex] = spec.sources, spec.extract
    records = [r for r in read_source(src, spec.resolve(src.path)) if isinstance(r, SourceRecord)]
    out = extract_batch(records[:20], ex, load_nlp())
    templates = [t for t in out if hasattr(t, "template_id")]
    assert templates and all(t.source_dataset == "wnli" and t.answer in ("entailment", "not_entailment")
                             and t.source_license == "CC-BY-4.0" for t in templates)


def test_globbed_and_joined_files_are_hashed_and_confined(calm_dir, tmp_path):
    data = tmp_path / "data"
    (data / "sources").mkdir(parents=True)
    for sub in ("babi", "mctest"):
        os.symlink(calm_dir / "sources" / sub, data / "sources" / sub)
    spec = load_spec(spec_file(tmp_path, [{"profile": "babi"}, {"profile": "mctest"}]), data_dir=str(data))
    hashes = input_hashes(spec)
    assert {f"sources/babi/task{i}.json" for i in range(1, 21)} | {
        "sources/mctest/mc500.test.tsv", "sources/mctest/mc500.test.ans"} <= set(hashes)
    # the folders are symlinks out of --data-dir: confinement sees through the glob and the join
    with pytest.raises(SpecError, match="key 'sources\\[0\\].path': 'sources/babi/task1.json' resolves to"):
        load_spec(spec_file(tmp_path, [{"profile": "babi"}]), data_dir=str(data), confine_inputs=True)
    with pytest.raises(SpecError, match="'nyu-mll/glue' is a Hugging Face Hub dataset"):
        load_spec(spec_file(tmp_path, [{"name": "rte", "format": "hf", "path": "nyu-mll/glue"}]),
                  data_dir=str(data), confine_inputs=True)
