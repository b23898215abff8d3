"""The release manifest: what was built, from what, and every file with its checksum.

The file list and the canonical rows digest are ``schemas.release``'s (``validate``
reads them the same way); this module adds what only a build knows: the spec,
its inputs' hashes and the code version.
"""

from __future__ import annotations

import hashlib
import os
from typing import Mapping

from schemas.ids import file_sha256
from schemas.records import Manifest
from schemas.release import canonical_rows_digest, file_entries


def rows_digests(release_dir: str, configs: Mapping[str, dict]) -> dict[str, str]:
    """Each config's canonical rows digest."""
    return {name: canonical_rows_digest(os.path.join(release_dir, f) for f in info["files"])
            for name, info in sorted(configs.items())}


def build_manifest(release_dir: str, spec, version: str, configs: Mapping[str, dict],
                   input_hashes: Mapping[str, str], code_version: str,
                   rows_sha256: Mapping[str, str] | None = None) -> Manifest:
    """``rows_sha256``: the configs' ``rows_digests`` when the caller computed them already."""
    files = tuple(file_entries(release_dir))
    rows_sha = dict(rows_sha256) if rows_sha256 is not None else rows_digests(release_dir, configs)
    return Manifest(benchmark=spec.benchmark, version=version, spec_hash=spec.spec_hash,
                    input_hashes=dict(sorted(input_hashes.items())), code_version=code_version,
                    configs={k: configs[k] for k in sorted(configs)}, files=files, rows_sha256=rows_sha)


def input_hashes(spec) -> dict[str, str]:
    """sha256 of every input file the spec names (folders hash their sorted files)."""
    paths = [s.path for s in spec.sources] + [t.path for t in spec.template_files] + [lx.path for lx in spec.lexicons if lx.path]
    out = {}
    for rel in paths:
        path = spec.resolve(rel.split("!", 1)[0])
        if os.path.isdir(path):
            h = hashlib.sha256()
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    h.update(f"{os.path.relpath(os.path.join(root, name), path)}:"
                             f"{file_sha256(os.path.join(root, name))}\n".encode())
            out[rel] = h.hexdigest()
        elif os.path.exists(path):
            out[rel] = file_sha256(path)
    return out
