"""The release manifest: what was built, from what, and every file with its checksum.

The file list and the canonical rows digest are ``schemas.release``'s (``validate``
reads them the same way); this module adds what only a build knows: the spec,
its inputs' hashes and the code version.
"""

from __future__ import annotations

import hashlib
import os
from typing import Mapping

from schemas import storage
from schemas.errors import InputError
from schemas.ids import file_sha256
from schemas.records import Manifest
from schemas.release import canonical_rows_digest, file_entries


def rows_digests(release_dir: str, configs: Mapping[str, dict], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each config's canonical rows digest: ``known``'s (computed as the rows were written) or read from its files."""
    known = known or {}
    return {name: known.get(name) or canonical_rows_digest(os.path.join(release_dir, f) for f in info["files"])
            for name, info in sorted(configs.items())}


def build_manifest(release_dir: str, spec, version: str, configs: Mapping[str, dict],
                   input_hashes: Mapping[str, str], code_version: str,
                   rows_sha256: Mapping[str, str] | None = None, rules_version: str = "",
                   changelog=(), files=None) -> Manifest:
    """``rows_sha256``: the configs' ``rows_digests`` when the caller computed them already; ``changelog``:
    the entries ``rebuild`` wrote, earlier versions' first; ``files``: the file entries, listed from
    ``release_dir`` when None (a build lists them once, after the card its draft renders is written)."""
    files = tuple(file_entries(release_dir) if files is None else files)
    rows_sha = dict(rows_sha256) if rows_sha256 is not None else rows_digests(release_dir, configs)
    return Manifest(benchmark=spec.benchmark, version=version, spec_hash=spec.spec_hash,
                    input_hashes=dict(sorted(input_hashes.items())), code_version=code_version,
                    configs={k: configs[k] for k in sorted(configs)}, files=files, rows_sha256=rows_sha,
                    rules_version=rules_version, changelog=tuple(changelog))


def _remote_sha256(url: str) -> str:
    """sha256 of an object-store input (``gs://``, ``s3://``): its bytes as stored; a prefix hashes its
    objects like a local folder."""
    try:
        if storage.exists(url):
            return storage.sha256(url)
        found = storage.list_files(url)
    except Exception as e:  # noqa: BLE001 - Beam raises its own error types per filesystem
        raise InputError(f"{url}: cannot read: {e}") from None
    if not found:
        raise InputError(f"{url}: no such object or prefix")
    h = hashlib.sha256()
    for rel in found:
        h.update(f"{rel}:{storage.sha256(storage.join(url, rel))}\n".encode())
    return h.hexdigest()


def _calm_inputs(spec) -> set[str]:
    """Spec paths read through ``transforms.calm_inputs``: fetched at a pinned commit when not local."""
    paths = {lx.path for lx in spec.lexicons if lx.format in ("calm_gender_names", "calm_race_names")}
    for t in spec.template_files:
        if t.format == "calm":
            paths |= {t.path, *([t.options["labels_from"]] if (t.options or {}).get("labels_from") else [])}
    return paths


def _source_paths(spec) -> list[str]:
    """The files the sources read, as the spec names them: each file of a glob, and joined side files."""
    from transforms.ingest import expand_paths
    from transforms.ingest.combine import side_spec

    paths = []
    for s in spec.sources:
        if s.format == "hf" and not os.path.exists(spec.resolve(s.path)):
            continue  # a Hub dataset: its resolved revision is recorded instead (_hub_revisions)
        for one, _ in expand_paths(s, spec.resolve(s.path)):
            paths.append(one.path)
            if one.options.get("join"):
                paths.append(side_spec(one, one.options["join"]).path)
    return paths


def _hub_revisions(spec) -> dict[str, str]:
    """``{dataset id: "git:<commit>"}`` for each Hugging Face Hub source, its revision resolved."""
    from transforms.ingest.hf import resolved_revision

    return {s.path: f"git:{resolved_revision(s, spec.resolve(s.path))}" for s in spec.sources
            if s.format == "hf" and not os.path.exists(spec.resolve(s.path))}


def input_hashes(spec) -> dict[str, str]:
    """sha256 of every input the spec names (folders and prefixes hash their sorted files; a glob, each
    file it matches); a Hugging Face Hub dataset's resolved commit (``git:<sha>``).

    Object-store inputs are read and hashed; a CALM input that is not local is fetched from
    a pinned commit and checked against a recorded sha256, which is what is recorded here.
    """
    from transforms.calm_inputs import pinned_sha256

    calm = _calm_inputs(spec)
    paths = _source_paths(spec) + [t.path for t in spec.template_files] + [lx.path for lx in spec.lexicons if lx.path]
    paths += sorted(calm - set(paths))  # CALM's ground-truth labels
    out = _hub_revisions(spec)
    for rel in paths:
        path = spec.resolve(rel.split("!", 1)[0])
        if "://" in path:
            out[rel] = _remote_sha256(path)
        elif os.path.isdir(path):
            h = hashlib.sha256()
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    h.update(f"{os.path.relpath(os.path.join(root, name), path)}:"
                             f"{file_sha256(os.path.join(root, name))}\n".encode())
            out[rel] = h.hexdigest()
        elif os.path.exists(path):
            out[rel] = file_sha256(path)
        elif rel in calm and (pinned := pinned_sha256(rel)):
            out[rel] = pinned
    return out
