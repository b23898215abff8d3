"""The manifest agrees with the rest of the release: the card, validation.json and the Parquet files.

Run after ``schemas.release.integrity_checks`` has passed, so every file the
manifest lists is a regular file inside the release with the recorded sha256;
these checks read only such files.

==================  ===========================================================
check               passes when
==================  ===========================================================
manifest_version    ``version`` is X.Y.Z and equals validation.json's; the
                    benchmark name equals validation.json's
config_files        each config's files are listed, Parquet, under
                    ``data/<config>/``; every listed ``data/*`` file belongs to
                    a config
manifest_rows       a config's ``rows`` (and its per-group rows) equal the
                    rows its files hold
manifest_schema     each file's Parquet schema is the config's recorded schema
card_configs        README.md's YAML ``configs`` select exactly each config's
                    files, with its split, and name no other config
==================  ===========================================================

Each check is ``(name, config, path, problems)``; ``path`` is the file at fault.
"""

from __future__ import annotations

import os
import re
from fnmatch import fnmatchcase
from typing import Any, Mapping, NamedTuple

_SEMVER = re.compile(r"\d+\.\d+\.\d+")
# pyarrow names a list's item field "item" when built and "element" when read back from Parquet
_LIST_ITEM = re.compile(r"\blist<\w+: ")


class ManifestCheck(NamedTuple):
    name: str
    config: str
    path: str
    problems: tuple[str, ...]


def _version_checks(release_dir: str, manifest: Mapping[str, Any]) -> list[ManifestCheck]:
    import json

    problems = []
    version = manifest.get("version")
    if not isinstance(version, str) or not _SEMVER.fullmatch(version):
        problems.append(f"version {version!r} is not X.Y.Z")
    path = os.path.join(release_dir, "validation.json")
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            report = None
            problems.append(f"validation.json unreadable: {type(e).__name__}")
        if isinstance(report, dict):
            for key in ("version", "benchmark"):
                if report.get(key) != manifest.get(key):
                    problems.append(f"{key} {manifest.get(key)!r} but validation.json says {report.get(key)!r}")
    return [ManifestCheck("manifest_version", "*", "manifest.json", tuple(problems))]


def _normal_type(text: str) -> str:
    return _LIST_ITEM.sub("list<item: ", text)


def _schema_problem(path: str, recorded: Any) -> str | None:
    import pyarrow.parquet as pq

    if not isinstance(recorded, list) or not all(isinstance(c, list) and len(c) == 2 for c in recorded):
        return "manifest records no schema ([[column, type], ...]) for its config"
    want = [(str(n), _normal_type(str(t))) for n, t in recorded]
    got = [(f.name, _normal_type(str(f.type))) for f in pq.read_schema(path)]
    if want == got:
        return None
    if [n for n, _ in want] != [n for n, _ in got]:
        return f"columns {[n for n, _ in got]} but the manifest records {[n for n, _ in want]}"
    name, have, wanted = next((n, g, w) for (n, w), (_, g) in zip(want, got) if w != g)
    return f"column {name} is {have} but the manifest records {wanted}"


def _config_checks(release_dir: str, name: str, info: Any, rows_of: Mapping[str, int]) -> list[ManifestCheck]:
    if not isinstance(info, Mapping):
        return [ManifestCheck("config_files", name, "manifest.json", (f"configs.{name} is not an object",))]
    files = info.get("files")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        return [ManifestCheck("config_files", name, "manifest.json", (f"configs.{name}.files is not a list of paths",))]
    checks = []
    for rel in files:
        problems = []
        if rel not in rows_of:
            problems.append("named by the config but not listed in the manifest's files")
        elif not (rel.startswith(f"data/{name}/") and rel.count("/") == 2 and rel.endswith(".parquet")):
            problems.append(f"not a Parquet file under data/{name}/")
        checks.append(ManifestCheck("config_files", name, rel, tuple(problems)))
    if any(c.problems for c in checks):
        return checks
    held = sum(rows_of[rel] for rel in files)
    problems = []
    if info.get("rows") != held:
        problems.append(f"configs.{name}.rows says {info.get('rows')!r}, its files hold {held}")
    groups = info.get("groups")
    if isinstance(groups, Mapping) and sum(v for v in groups.values() if isinstance(v, int)) != held:
        problems.append(f"configs.{name}.groups add up to {sum(v for v in groups.values() if isinstance(v, int))}, "
                        f"its files hold {held}")
    checks.append(ManifestCheck("manifest_rows", name, "manifest.json", tuple(problems)))
    for rel in files:
        try:
            problem = _schema_problem(os.path.join(release_dir, rel), info.get("schema"))
        except Exception as e:  # noqa: BLE001 - any reader error means the schema cannot be trusted
            problem = f"unreadable Parquet schema: {type(e).__name__}"
        checks.append(ManifestCheck("manifest_schema", name, rel, (problem,) if problem else ()))
    return checks


def _card_front_matter(release_dir: str) -> tuple[dict | None, str | None]:
    import yaml

    try:
        with open(os.path.join(release_dir, "README.md"), encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None, "no dataset card"
    except (OSError, UnicodeDecodeError) as e:
        return None, f"unreadable: {type(e).__name__}"
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if not m:
        return None, "no YAML front matter"
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as e:
        return None, f"YAML front matter does not parse: {str(e).splitlines()[0]}"
    return (data, None) if isinstance(data, dict) else (None, "YAML front matter is not a mapping")


def _glob(path: str, pattern: str) -> bool:
    """Hub data_files matching: ``*`` stays within one path component."""
    parts, pats = path.split("/"), pattern.split("/")
    return len(parts) == len(pats) and all(fnmatchcase(p, q) for p, q in zip(parts, pats))


def _card_checks(release_dir: str, configs: Mapping[str, Any], listed: list[str]) -> list[ManifestCheck]:
    data, problem = _card_front_matter(release_dir)
    if problem:
        return [ManifestCheck("card_configs", "*", "README.md", (problem,))]
    card = data.get("configs")
    if not isinstance(card, list) or not all(isinstance(c, dict) for c in card):
        return [ManifestCheck("card_configs", "*", "README.md", ("YAML has no configs list",))]
    by_name = {c.get("config_name"): c for c in card}
    checks = []
    for name, info in configs.items():
        entry = by_name.get(name)
        if entry is None:
            checks.append(ManifestCheck("card_configs", name, "README.md", (f"config {name} is missing from the card",)))
            continue
        problems = []
        data_files = entry.get("data_files")
        if isinstance(data_files, (str, dict)):
            data_files = [data_files]
        selected: dict[str, set[str]] = {}
        for df in data_files if isinstance(data_files, list) else []:
            split, patterns = ("train", df) if isinstance(df, str) else (df.get("split"), df.get("path"))
            for pattern in patterns if isinstance(patterns, list) else [patterns]:
                if isinstance(pattern, str):
                    selected.setdefault(str(split), set()).update(p for p in listed if _glob(p, pattern))
        want_split = info.get("split", "test") if isinstance(info, Mapping) else "test"
        files = info.get("files") if isinstance(info, Mapping) else None
        want = {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()
        if set(selected) != {want_split} or selected.get(want_split) != want:
            shown = {s: sorted(v) for s, v in sorted(selected.items())}
            problems.append(f"config {name}: data_files select {shown}, the manifest has "
                            f"{ {want_split: sorted(want)} }")
        checks.append(ManifestCheck("card_configs", name, "README.md", tuple(problems)))
    extra = sorted(str(n) for n in by_name if n not in configs)
    if extra:
        checks.append(ManifestCheck("card_configs", "*", "README.md",
                                    (f"card names configs the manifest does not: {', '.join(extra)}",)))
    return checks


def manifest_checks(release_dir: str, manifest: Mapping[str, Any]) -> list[ManifestCheck]:
    """Every check of the module docstring, in a fixed order."""
    rows_of = {e["path"]: e["rows"] for e in manifest.get("files", [])}
    checks = _version_checks(release_dir, manifest)
    configs = manifest.get("configs")
    if not isinstance(configs, Mapping) or not configs:
        return checks + [ManifestCheck("config_files", "*", "manifest.json", ("no configs",))]
    for name, info in sorted(configs.items()):
        checks += _config_checks(release_dir, name, info, rows_of)
    claimed = {f for info in configs.values() if isinstance(info, Mapping)
               for f in (info.get("files") if isinstance(info.get("files"), list) else []) if isinstance(f, str)}
    orphans = sorted(p for p in rows_of if p.startswith("data/") and p not in claimed)
    checks += [ManifestCheck("config_files", "*", p, ("a data file no config names",)) for p in orphans]
    checks += _card_checks(release_dir, configs, sorted(rows_of))
    return checks
