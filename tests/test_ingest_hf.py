"""Hugging Face datasets as sources, on local dataset folders (never the network)."""

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.manifest import input_hashes
from pipelines.spec import default_spec_path, load_spec
from schemas.errors import InputError
from schemas.records import SourceRecord
from schemas.spec import SourceSpec, TaskMapping
from transforms.ingest import RECORDS, IngestSources, read_source

NLI = TaskMapping(fields={"premise": "premise", "hypothesis": "hypothesis"}, answer="label",
                  answer_map={"0": "entailment", "1": "not_entailment"})


@pytest.fixture
def hub_folder(tmp_path):
    """A dataset repository laid out as on the Hub: two configs of Parquet files named in README.md."""
    root = tmp_path / "glue-like"
    for config, n in (("rte", 3), ("wnli", 1)):
        (root / config).mkdir(parents=True)
        pq.write_table(pa.table({"premise": [f"{config} premise {i}." for i in range(n)],
                                 "hypothesis": [f"{config} hypothesis {i}." for i in range(n)],
                                 "label": [i % 2 for i in range(n)], "idx": list(range(10, 10 + n))}),
                       root / config / "test-00000-of-00001.parquet")
    configs = "".join(f"- config_name: {c}\n  data_files:\n  - split: test\n    path: {c}/test-*.parquet\n"
                      for c in ("rte", "wnli"))
    (root / "README.md").write_text(f"---\nconfigs:\n{configs}---\n")
    return root


def hf(path, **options):
    return SourceSpec("rte", "hf", str(path), id_field="idx", task="nli", mapping=NLI, license="CC-BY-4.0",
                      options=options)


def test_hub_layout_folder_by_config_and_split_streaming(hub_folder):
    recs = list(read_source(hf(hub_folder, config="rte"), str(hub_folder)))
    assert [(r.record_id, r.task, r.fields["premise"], r.fields["answer"]) for r in recs] == [
        ("10", "nli", "rte premise 0.", "entailment"), ("11", "nli", "rte premise 1.", "not_entailment"),
        ("12", "nli", "rte premise 2.", "entailment")]
    assert recs[0].location == f"{hub_folder}, row 0" and recs[0].source_license == "CC-BY-4.0"
    [wnli] = read_source(hf(hub_folder, config="wnli"), str(hub_folder))
    assert wnli.fields["hypothesis"] == "wnli hypothesis 0."


def test_not_streaming_caches_where_told_and_reads_the_same_rows(hub_folder, tmp_path):
    streamed = [r.to_dict() for r in read_source(hf(hub_folder, config="rte"), str(hub_folder))]
    cache = tmp_path / "cache"
    loaded = [r.to_dict() for r in read_source(hf(hub_folder, config="rte", streaming=False, cache_dir=str(cache)),
                                               str(hub_folder))]
    assert loaded == streamed and any(cache.iterdir())


def test_saved_to_disk_folder_and_its_split(tmp_path):
    import datasets

    folder = tmp_path / "saved"
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"premise": ["t."], "hypothesis": ["t."], "label": [0], "idx": [0]}),
        "test": datasets.Dataset.from_dict({"premise": ["Mary left.", "Sam sat."], "hypothesis": ["A.", "B."],
                                            "label": [1, 0], "idx": [5, 6]}),
    }).save_to_disk(str(folder))
    recs = list(read_source(hf(folder), str(folder)))
    assert [(r.record_id, r.fields["premise"], r.fields["answer"]) for r in recs] == [
        ("5", "Mary left.", "not_entailment"), ("6", "Sam sat.", "entailment")]
    with pytest.raises(InputError, match="no split 'validation'"):
        list(read_source(SourceSpec("x", "hf", str(folder), split="validation"), str(folder)))


def test_a_dataset_that_cannot_be_loaded_is_an_input_error(hub_folder):
    with pytest.raises(InputError, match=r"cannot load the dataset \(config nope, split test\)"):
        list(read_source(hf(hub_folder, config="nope"), str(hub_folder)))
    # a Hub id, offline (the tests never reach the network)
    with pytest.raises(InputError, match="some-org/absent: cannot load the dataset"):
        list(read_source(SourceSpec("x", "hf", "some-org/absent"), "/nonexistent/some-org/absent"))


def test_manifest_records_the_local_folder_hash_and_a_hub_revision(hub_folder, tmp_path):
    spec = load_spec(default_spec_path())
    spec.base_dir = str(tmp_path)
    commit = "0123456789abcdef0123456789abcdef01234567"
    spec.sources = [hf("glue-like", config="rte"), SourceSpec("hub", "hf", "nyu-mll/glue", options={"revision": commit})]
    hashes = input_hashes(spec)
    assert hashes["nyu-mll/glue"] == f"git:{commit}"
    assert len(hashes["glue-like"]) == 64  # the folder's content hash
    (hub_folder / "rte" / "test-00000-of-00001.parquet").write_bytes(b"changed")
    assert input_hashes(spec)["glue-like"] != hashes["glue-like"]
    # a branch name cannot be resolved offline: the build says to pin a commit
    spec.sources = [SourceSpec("hub", "hf", "nyu-mll/glue", options={"revision": "main"})]
    with pytest.raises(InputError, match="cannot resolve revision 'main'.*pin a commit"):
        input_hashes(spec)


def test_hf_source_in_a_beam_pipeline(hub_folder):
    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | IngestSources([(hf(hub_folder, config="rte"), str(hub_folder))])
        ids = out[RECORDS] | "Ids" >> beam.Map(lambda d: (SourceRecord.from_dict(d).record_id, d["task"]))
        assert_that(ids, equal_to([("10", "nli"), ("11", "nli"), ("12", "nli")]))
