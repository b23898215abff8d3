"""The spec loader: typed objects, and one-line errors naming file and key."""

import pytest
import yaml

from pipelines.spec import default_spec_path, load_spec, resolve_spec_path
from schemas.errors import SpecError

MINIMAL = {
    "benchmark": "tiny",
    "template_files": [{"path": "t.jsonl"}],
    "lexicons": [{"name": "names", "path": "names.jsonl"}],
    "configs": [{"name": "qa_gender", "task": "qa", "axis": "gender", "lexicon": "names",
                 "groups": [{"name": "male"}, {"name": "female"}]}],
}


def write(tmp_path, data, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(path)


def test_default_spec_loads_typed():
    spec = load_spec(default_spec_path())
    assert spec.benchmark == "biasbench-demo"
    assert spec.configs[0].groups[0].name == "male"
    assert spec.configs[0].design.strategy == "sample" and spec.configs[0].design.per_group == 5
    assert spec.resolve("data/x.jsonl").endswith("configs/data/x.jsonl")
    assert len(spec.spec_hash) == 32


def test_minimal_spec_defaults(tmp_path):
    spec = load_spec(write(tmp_path, MINIMAL))
    assert spec.version == "0.1.0" and spec.filters.dedup == "exact" and spec.configs[0].fill_type == "implicit"
    assert spec.base_dir == str(tmp_path)


def test_data_dir_replaces_the_spec_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    spec = load_spec(write(tmp_path, MINIMAL), data_dir=str(data))
    assert spec.resolve("t.jsonl") == str(data / "t.jsonl")
    with pytest.raises(SpecError, match="--data-dir .*: no such directory"):
        load_spec(write(tmp_path, MINIMAL), data_dir=str(tmp_path / "nope"))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(benchmarck="x"), "key 'benchmarck': unknown key; expected one of benchmark"),
    (lambda d: d["configs"][0].update(tsak="qa"), "key 'configs[0].tsak': unknown key"),
    (lambda d: d["configs"][0]["groups"][1].update(count="many"), "key 'configs[0].groups[1].count': expected int"),
    (lambda d: d["configs"][0].update(lexicon="nope"), "uses lexicon 'nope', not defined under 'lexicons'"),
    (lambda d: d["configs"][0].update(task="poetry"), "task 'poetry' is not one of"),
    (lambda d: d.update(version="1.0"), "version '1.0' is not semver"),
    (lambda d: d["configs"][0]["design"].update(strategy="random") if "design" in d["configs"][0]
     else d["configs"][0].update(design={"strategy": "random"}), "configs[0].design.strategy': expected one of"),
    (lambda d: d.pop("benchmark"), "key 'benchmark': required key is missing"),
    (lambda d: d.update(configs=[]), "at least one entry under 'configs'"),
])
def test_bad_specs_name_file_and_key(tmp_path, mutate, message):
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value).startswith(path) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "benchmark: x\nconfigs: [\n  - a: b\n")
    with pytest.raises(SpecError, match=r"spec.yaml, line \d+: not valid YAML"):
        load_spec(path)


def test_shipped_spec_names_resolve():
    assert resolve_spec_path("default").endswith("configs/default.yaml")
    with pytest.raises(SpecError, match="no such spec file"):
        resolve_spec_path("no-such-spec")
