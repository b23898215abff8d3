"""Staging folders: where a build writes before its release appears, and how crashed ones go away.

A build stages under ``<out>/<benchmark>/.staging-<version>-<host>-p<pid>-<random>``.
The name says who owns it, so the next build of the benchmark can tell a live
build's folder from one left by a run that was killed: on this host, a folder
whose process is gone is removed; a folder of another host (a shared disk) is
removed once it is older than :data:`FOREIGN_STALE_SECONDS`.

Staging folders get the permissions of the user's umask, like any folder
``mkdir`` makes (``tempfile.mkdtemp`` makes them 0700, and the release is this
folder renamed).

>>> parse_staging_name(".staging-0.1.0-a1b2c3d4-p4242-x9y8")
('a1b2c3d4', 4242)
>>> parse_staging_name("0.1.0") is None
True
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
import time

from schemas import storage
from schemas.ids import digest

PREFIX = ".staging-"
#: a staging folder of another host is presumed dead after this long
FOREIGN_STALE_SECONDS = 24 * 3600
_NAME = re.compile(r"^\.staging-.+-([0-9a-f]{8})-p(\d+)-[^-]+$")


def host_tag() -> str:
    """Eight hex digits naming this host (host names may hold characters unfit for a path)."""
    return digest(socket.gethostname(), size=4)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def missing_folders(path: str) -> list[str]:
    """``path`` and its ancestors that do not exist yet, innermost first."""
    out = []
    if storage.is_remote(path):
        return out
    path = os.path.abspath(path)
    while not os.path.exists(path):
        out.append(path)
        path = os.path.dirname(path)
    return out


def remove_if_empty(folders: list[str]) -> None:
    """Remove the folders (innermost first) that are empty: a failed build leaves no trace."""
    for folder in folders:
        if storage.is_remote(folder):
            return
        try:
            os.rmdir(folder)
        except OSError:  # not empty (another build, an earlier release) or already gone
            return


def make_staging_dir(parent: str, version: str) -> str:
    """A new, empty staging folder under ``parent`` (created with the umask's permissions).

    On an object store it is a fresh prefix: nothing to create.
    """
    prefix = f"{PREFIX}{version}-{host_tag()}-p{os.getpid()}-"
    if storage.is_remote(parent):
        return storage.join(parent, prefix + secrets.token_hex(4))
    os.makedirs(parent, exist_ok=True)
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(path, 0o777 & ~current_umask())
    return path


def parse_staging_name(name: str) -> tuple[str, int] | None:
    """``(host tag, pid)`` of a staging folder's name, or None for other names."""
    m = _NAME.match(name)
    return (m.group(1), int(m.group(2))) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def is_stale(path: str, now: float | None = None) -> bool:
    """Whether a staging folder belongs to a run that can no longer finish it."""
    owner = parse_staging_name(storage.basename(path))
    if owner is None or owner[0] != host_tag():
        modified = storage.mtime(path)
        return modified is not None and (time.time() if now is None else now) - modified > FOREIGN_STALE_SECONDS
    return owner[1] != os.getpid() and not _alive(owner[1])


def remove_stale_staging(parent: str) -> list[str]:
    """Remove the stale staging folders under ``parent``; return their names."""
    removed = []
    for name in storage.list_dir(parent):
        path = storage.join(parent, name)
        if name.startswith(PREFIX) and storage.is_dir(path) and is_stale(path):
            storage.delete_tree(path)
            removed.append(name)
    return removed
