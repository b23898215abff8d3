"""Reading a spec: the YAML file (or a shipped spec's name) to a checked ``schemas.spec.BenchmarkSpec``.

>>> spec = load_spec(default_spec_path())
>>> spec.benchmark, [c.name for c in spec.configs][:2]
('biasbench-demo', ['qa_gender', 'qa_race'])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from pipelines.sources import apply_profiles
from pipelines.typed_yaml import load_typed
from schemas.errors import SpecError
from schemas.ids import digest
from schemas.spec import BenchmarkSpec


def default_spec_path() -> str:
    """The embedded default spec, shipped inside the ``configs`` package."""
    return str(Path(__file__).resolve().parent.parent / "configs" / "default.yaml")


def resolve_spec_path(name: str | None) -> str:
    """A path, or the name of a shipped spec (``calm`` -> configs/calm.yaml)."""
    if not name:
        return default_spec_path()
    if os.path.isfile(name):
        return name
    # a folder of the same name in the current directory (``calm/`` holding CALM's data) is not a spec
    configs = Path(default_spec_path()).parent
    shipped = configs / (name if name.endswith(".yaml") else f"{name}.yaml")
    if shipped.is_file() and os.sep not in name and "/" not in name:
        return str(shipped)
    if os.path.isdir(name):
        raise SpecError(f"{name}: a directory, not a spec file (nor a shipped spec of that name in {configs})")
    raise SpecError(f"{name}: no such spec file (nor a shipped spec of that name in {configs})")


def load_spec(path: str, data_dir: str | None = None, overrides: dict[str, Any] | None = None,
              confine_inputs: bool = False) -> BenchmarkSpec:
    """Read, check and type a spec. ``data_dir`` replaces the spec's folder for data paths.

    With ``confine_inputs`` (or the spec's own ``confine_inputs: true``) every input path
    must lie inside ``data_dir`` or the spec's folder (``pipelines.confine``).
    """
    path = resolve_spec_path(path)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}{line}: not valid YAML: {getattr(e, 'problem', e)}") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read spec: {e.strerror}") from None
    if raw is None:
        raise SpecError(f"{path}: the spec is empty")
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec is a YAML mapping (benchmark:, configs: …), not a {type(raw).__name__}")
    for key in ("spec_path", "base_dir", "spec_hash"):
        if isinstance(raw, dict) and key in raw:
            raise SpecError(f"{path}: key '{key}': set by the loader, not by the spec")
    raw = {**raw, **(overrides or {})}
    if "sources" in raw:
        # profiles merged first, so the spec hash changes when a profile the spec uses does
        raw["sources"] = apply_profiles(raw["sources"], where=path)
    if data_dir is not None and not os.path.isdir(data_dir):
        raise SpecError(f"--data-dir {data_dir}: no such directory")
    spec = load_typed(BenchmarkSpec, raw, where=path)
    spec.spec_path = os.path.abspath(path)
    spec.base_dir = os.path.abspath(data_dir) if data_dir else os.path.dirname(os.path.abspath(path))
    spec.spec_hash = digest(raw, size=16)
    if confine_inputs or spec.confine_inputs:
        from pipelines.confine import check_confined

        check_confined(spec, data_dir, "--confine-inputs" if confine_inputs else "confine_inputs: true")
    return spec
