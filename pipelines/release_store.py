"""Where releases live: committing a staged release, finding versions, reading one from anywhere.

A version exists only if its ``manifest.json`` does: every command (build,
rebuild, validate, diff, stats, publish, the latest-version lookup) treats a
version folder without one as not there.

- Local disk: the staging folder is renamed into place in one step (atomic).
- Object stores (``gs://``, ``s3://``) have no rename: the staged objects are
  copied into ``<benchmark>/<version>/`` and ``manifest.json`` is written last,
  so a reader that finds it finds every file it lists. Objects left by a commit
  that was killed halfway (no manifest yet) are removed by the next commit.

Commands that read a release run on a local folder: a remote release is first
copied into a temporary folder through the filesystem layer (:func:`local_view`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

from schemas import storage
from schemas.paths import RELEASE_VERSION, version_key
from schemas.release import MANIFEST



def release_exists(path: str) -> bool:
    return storage.exists(storage.join(path, MANIFEST))


def latest_release(parent: str) -> str | None:
    """The highest ``X.Y.Z`` version under ``<out>/<benchmark>`` that has a manifest, or None."""
    versions = [v for v in storage.list_dir(parent) if RELEASE_VERSION.match(v)]
    for version in sorted(versions, key=version_key, reverse=True):
        path = storage.join(parent, version)
        if release_exists(path):
            return path
    return None


def commit_release(staging: str, final: str, fence=None) -> None:
    """Make the staged release visible at ``final`` (which must hold no release).

    ``fence()`` is entered around each step that writes where the release belongs (``rebuild`` passes
    its lock's :meth:`pipelines.run_lock.Lease.fenced`, which refuses a run that lost its lock)."""
    fence = fence or contextlib.nullcontext
    if release_exists(final):
        raise FileExistsError(f"{final} already holds a release")
    if storage.is_remote(final):
        with fence():
            storage.delete_tree(final)  # objects of a commit that was killed before its manifest
            storage.copy_tree(staging, final, skip=frozenset({MANIFEST}))
        with fence():  # the commit point: one object, written last
            storage.write_bytes(storage.join(final, MANIFEST), storage.read_bytes(storage.join(staging, MANIFEST)))
        storage.delete_tree(staging)
    else:
        with fence():
            if os.path.isdir(final):  # a folder with no manifest is no release: debris of something else
                shutil.rmtree(final)
            os.replace(staging, final)


def move_aside(staging: str, target: str) -> None:
    """Keep a refused build for inspection at ``target`` (replacing an earlier one)."""
    storage.delete_tree(target)
    if storage.is_remote(staging):
        storage.copy_tree(staging, target)
        storage.delete_tree(staging)
    else:
        os.replace(staging, target)


@contextlib.contextmanager
def working_copy(staging: str) -> Iterator[str]:
    """A local folder holding the staged files; on a clean exit, what was added or changed goes back.

    Locally this is the staging folder itself. The driver's finishing steps (stats, the gate, the card,
    the manifest) run on local files; on an object store their outputs are uploaded to the staging prefix.
    """
    if not storage.is_remote(staging):
        yield staging
        return
    local = tempfile.mkdtemp(prefix="biasbench-staging-")
    try:
        before = {}
        for rel in storage.copy_tree(staging, local):
            before[rel] = storage.sha256(os.path.join(local, rel))
        yield local
        for rel in storage.list_files(local):
            if before.get(rel) != storage.sha256(os.path.join(local, rel)):
                with open(os.path.join(local, rel), "rb") as f:
                    storage.write_bytes(storage.join(staging, rel), f.read())
        for rel in set(before) - set(storage.list_files(local)):
            storage.delete(storage.join(staging, rel))
    finally:
        shutil.rmtree(local, ignore_errors=True)


@contextlib.contextmanager
def local_view(release: str) -> Iterator[str]:
    """A local folder with the release's files (the release itself when it is local)."""
    if not storage.is_remote(release):
        yield release
        return
    if not release_exists(release):
        from schemas.errors import InputError

        raise InputError(f"{release}: no {MANIFEST}; not a biasbench release (or its commit did not finish)")
    local = tempfile.mkdtemp(prefix="biasbench-release-")
    try:
        storage.copy_tree(release, local)
        yield local
    finally:
        shutil.rmtree(local, ignore_errors=True)
