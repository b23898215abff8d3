"""Source profiles: named, reusable source definitions in ``configs/data/sources/<name>.yaml``.

A profile holds the keys of a spec's ``sources[]`` entry (format, path, license, id_field,
records, options, task, mapping) for one corpus; a spec entry that says
``profile: <name>`` takes them as defaults and overrides any (``options`` merge key by
key, the entry's winning). ``name`` defaults to the profile's name. The shipped CALM
profiles' paths are relative to CALM's data folder (``--data-dir ../shared/data/calm``). The
stages never see profiles: the spec loader merges them before typing the spec.

>>> merged = apply_profiles([{"profile": "snli", "options": {"limit": 5}}], where="spec.yaml")
>>> merged[0]["name"], merged[0]["format"], merged[0]["options"], merged[0]["mapping"]["answer"]
('snli', 'csv', {'limit': 5}, 'label')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from pipelines.typed_yaml import load_typed
from schemas.errors import SpecError
from schemas.spec import SourceSpec

PROFILE_DIR = Path(__file__).resolve().parent.parent / "configs" / "data" / "sources"


def profile_names() -> list[str]:
    """The shipped profiles, by name."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str, where: str = "") -> dict[str, Any]:
    """A shipped profile's keys (``name`` a profile name, or a path to a profile file)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PROFILE_DIR / f"{name}.yaml"
    if not path.exists():
        raise SpecError(f"{where or name}: no source profile {name!r}; shipped: {', '.join(profile_names())}")
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a source profile is a YAML mapping")
    return data


def apply_profiles(sources: Any, where: str) -> Any:
    """The spec's ``sources`` list with each entry's profile merged in (entries without one as they are)."""
    if not isinstance(sources, list):
        return sources
    out = []
    for i, entry in enumerate(sources):
        if not isinstance(entry, dict) or not entry.get("profile"):
            out.append(entry)
            continue
        name = str(entry["profile"])
        profile = load_profile(name, where=f"{where}: key 'sources[{i}].profile'")
        merged = {"name": Path(name).stem, **profile, **entry}
        if isinstance(profile.get("options"), dict) and isinstance(entry.get("options"), dict):
            merged["options"] = {**profile["options"], **entry["options"]}
        out.append(merged)
    return out


def source_from_profile(name: str, **overrides: Any) -> SourceSpec:
    """A typed SourceSpec from a profile and overrides (as a spec entry would write them)."""
    [raw] = apply_profiles([{"profile": name, **overrides}], where=f"profile {name}")
    return load_typed(SourceSpec, raw, where=f"profile {name}")


def resolve_data_path(path: str, data_dir: str) -> str:
    """A profile path under ``data_dir`` (as ``BenchmarkSpec.resolve`` does with ``--data-dir``)."""
    return path if os.path.isabs(path) or "://" in path else os.path.normpath(os.path.join(data_dir, path))
