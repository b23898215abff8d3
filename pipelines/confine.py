"""Confined inputs: a spec may read only inside ``--data-dir`` and its own folder.

Absolute paths and ``..`` are a feature of specs (a spec beside its data, shared
lexicons elsewhere); a scheduled job that builds specs it did not write can turn
them off with ``--confine-inputs`` (or ``confine_inputs: true`` in the spec).
Every input path — ``sources[].path``, ``template_files[].path``, ``lexicons[].path`` —
is resolved as the pipeline will open it, with symlinks and ``..`` followed
(``os.path.realpath``), and must lie inside one of the allowed folders; a zip
member counts by its archive, a folder by itself and every symlink under it. A URL
is refused: it cannot lie inside a local folder.
"""

from __future__ import annotations

import os

from schemas.errors import SpecError
from schemas.paths import is_within
from transforms.ingest.base import split_zip


def input_paths(spec) -> list[tuple[str, str]]:
    """``(key, path as the spec writes it)`` for every input file or folder the spec names."""
    return ([(f"sources[{i}].path", s.path) for i, s in enumerate(spec.sources)]
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
