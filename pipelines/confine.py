"""Confined inputs: a spec may read only inside ``--data-dir`` and its own folder.

Absolute paths and ``..`` are a feature of specs (a spec beside its data, shared
lexicons elsewhere); a scheduled job that builds specs it did not write can turn
them off with ``--confine-inputs`` (or ``confine_inputs: true`` in the spec).
Every input path — ``sources[].path``, ``template_files[].path``, ``lexicons[].path`` —
is resolved as the pipeline will open it, with symlinks and ``..`` followed
(``os.path.realpath``), and must lie inside one of the allowed folders; a zip
member counts by its archive, a folder by itself and every symlink under it, a
glob by each file it matches, a joined side file by itself. A URL, or a Hugging
Face Hub dataset, is refused: it cannot lie inside a local folder.
"""

from __future__ import annotations

import os

from schemas.errors import SpecError
from schemas.paths import is_within
from transforms.ingest.base import split_zip


def _source_files(spec, i: int, source) -> list[tuple[str, str]]:
    """A source's inputs: each file its glob matches, and a joined side file beside each."""
    from transforms.ingest import expand_paths
    from transforms.ingest.combine import side_spec

    key = f"sources[{i}].path"
    if not any(c in source.path for c in "*?[") and not source.options.get("join"):
        return [(key, source.path)]
    out = []
    for one, _ in expand_paths(source, spec.resolve(source.path)):
        out.append((key, one.path))
        if one.options.get("join"):
            out.append((f"sources[{i}].options.join.path", side_spec(one, one.options["join"]).path))
    return out


def input_paths(spec) -> list[tuple[str, str]]:
    """``(key, path as the spec writes it)`` for every input file or folder the spec names."""
    return ([pair for i, s in enumerate(spec.sources) for pair in _source_files(spec, i, s)]
            + [(f"template_files[{i}].path", t.path) for i, t in enumerate(spec.template_files)]
            + [(f"lexicons[{i}].path", lx.path) for i, lx in enumerate(spec.lexicons) if lx.path])


def allowed_folders(spec, data_dir: str | None) -> list[str]:
    """The spec's folder and ``--data-dir`` (when given), symlinks resolved."""
    folders = [os.path.realpath(os.path.dirname(spec.spec_path))]
    if data_dir is not None:
        folders.insert(0, os.path.realpath(data_dir))
    return list(dict.fromkeys(folders))


def _inside(path: str, folders: list[str]) -> bool:
    return any(is_within(folder, path) for folder in folders)


def _escape_under(folder: str, folders: list[str]) -> str | None:
    """The first symlink under ``folder`` that leads outside ``folders`` (its target), else None."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in dirs + sorted(files):
            entry = os.path.join(root, name)
            if os.path.islink(entry) and not _inside(os.path.realpath(entry), folders):
                return f"{entry} -> {os.path.realpath(entry)}"
    return None


def check_confined(spec, data_dir: str | None, switch: str) -> None:
    """Raise a SpecError (one line: spec file, key, path) for the first input outside the allowed folders.

    ``switch`` says what turned confinement on, for the message (``--confine-inputs``).
    """
    folders = allowed_folders(spec, data_dir)
    allowed = ", ".join(folders)
    for i, source in enumerate(spec.sources):
        if source.format == "hf" and not os.path.exists(spec.resolve(source.path)):
            raise SpecError(f"{spec.spec_path}: key 'sources[{i}].path': {source.path!r} is a Hugging Face Hub "
                            f"dataset, read over the network; {switch} allows only local files inside {allowed}")
    for key, written in input_paths(spec):
        resolved = spec.resolve(written)
        where = f"{spec.spec_path}: key '{key}': {written!r}"
        if "://" in resolved:
            raise SpecError(f"{where} is a URL; {switch} allows only local files inside {allowed}")
        real = os.path.realpath(split_zip(resolved)[0])
        if not _inside(real, folders):
            raise SpecError(f"{where} resolves to {real}, outside the folders {switch} allows ({allowed})")
        if os.path.isdir(real):
            escape = _escape_under(real, folders)
            if escape:
                raise SpecError(f"{where} holds a symlink leading outside the folders {switch} allows "
                                f"({allowed}): {escape}")
