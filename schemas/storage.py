"""One filesystem layer for every file a build reads or writes: local paths, ``gs://``, ``s3://``.

Local paths go through ``os`` (fast, and symlinks and ``..`` can be resolved);
every URL goes through Beam's ``FileSystems``, which every Beam worker has and
which knows GCS, S3 and the rest by their scheme. Beam is imported only when a
URL is used, so local commands that never touch Beam (``validate``, ``stats``)
do not pay for it.

Object stores have no folders and no rename: a "folder" here is a prefix, a
rename is a copy and a delete per object, and an object appears whole when its
writer closes. That last property is what makes a release commit possible
there: the manifest is written last (see ``pipelines.build``).

>>> import tempfile
>>> root = tempfile.mkdtemp()
>>> write_bytes(join(root, "a", "b.txt"), b"hi")
>>> list_files(root), read_bytes(join(root, "a/b.txt"))
(['a/b.txt'], b'hi')
>>> join("gs://bucket/releases", "demo", "0.1.0")
'gs://bucket/releases/demo/0.1.0'
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from typing import IO, Any


def is_remote(path: str) -> bool:
    return "://" in path


def join(base: str, *parts: str) -> str:
    """``base/part/…`` with '/' for URLs and the platform's separator for local paths."""
    if is_remote(base):
        out = base.rstrip("/")
        for part in parts:
            out = f"{out}/{part.strip('/')}" if part else out
        return out
    return os.path.join(base, *[p for p in parts if p])


def parent(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[0] if is_remote(path) else os.path.dirname(path)


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if is_remote(path) else os.path.basename(path)


def _fs():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def exists(path: str) -> bool:
    """Whether a file (or a local folder) exists at ``path``."""
    return _fs().exists(path) if is_remote(path) else os.path.exists(path)


def is_dir(path: str) -> bool:
    """A local folder, or a URL prefix with at least one object below it."""
    if is_remote(path):
        return bool(_match(path.rstrip("/") + "/**"))
    return os.path.isdir(path)


def makedirs(path: str) -> None:
    """Create a local folder and its parents; nothing to do on an object store."""
    if not is_remote(path):
        os.makedirs(path, exist_ok=True)


def open_read(path: str) -> IO[bytes]:
    if is_remote(path):
        from apache_beam.io.filesystem import CompressionTypes

        return _fs().open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return open(path, "rb")


def open_write(path: str) -> IO[bytes]:
    """A binary writer; on an object store the object appears only when the writer closes."""
    if is_remote(path):
        from apache_beam.io.filesystem import CompressionTypes

        return _fs().create(path, compression_type=CompressionTypes.UNCOMPRESSED)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return open(path, "wb")


def read_bytes(path: str) -> bytes:
    with open_read(path) as f:
        return f.read()


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file so that no reader ever sees part of it (temporary name and rename locally)."""
    if is_remote(path):
        with open_write(path) as f:
            f.write(data)
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, value: Any, **dump_options) -> None:
    options = {"indent": 1, "sort_keys": True, **dump_options}
    write_text(path, json.dumps(value, **options) + "\n")


def _match(pattern: str) -> list:
    from apache_beam.io.filesystem import BeamIOError

    try:
        (result,) = _fs().match([pattern])
    except BeamIOError:
        return []
    return result.metadata_list


def list_files(root: str) -> list[str]:
    """Every file under ``root`` as a '/'-separated path relative to it, sorted; [] when there is none."""
    if is_remote(root):
        prefix = root.rstrip("/") + "/"
        return sorted(m.path[len(prefix):] for m in _match(prefix + "**"))
    out = []
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            out.append(os.path.relpath(os.path.join(base, name), root).replace(os.sep, "/"))
    return sorted(out)


def list_dir(root: str) -> list[str]:
    """The names directly under ``root`` (files and folders / prefixes), sorted."""
    if is_remote(root):
        return sorted({rel.split("/", 1)[0] for rel in list_files(root)})
    try:
        return sorted(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []


def mtime(path: str) -> float | None:
    """Last modification time of a file or local folder (for a URL prefix: its newest object)."""
    if is_remote(path):
        found = _match(path) or _match(path.rstrip("/") + "/**")
        return max((m.last_updated_in_seconds for m in found), default=None)
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return None


def size(path: str) -> int:
    if is_remote(path):
        return _fs().match([path])[0].metadata_list[0].size_in_bytes
    return os.path.getsize(path)


def sha256(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open_read(path) as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def delete(path: str) -> None:
    """Remove one file; nothing when it is not there."""
    if is_remote(path):
        if _fs().exists(path):
            _fs().delete([path])
    elif os.path.exists(path):
        os.remove(path)


def delete_tree(root: str) -> None:
    """Remove a folder or every object under a prefix; nothing when it is not there."""
    if is_remote(root):
        paths = [join(root, rel) for rel in list_files(root)]
        for start in range(0, len(paths), 100):  # one batch request per hundred objects
            _fs().delete(paths[start:start + 100])
    else:
        shutil.rmtree(root, ignore_errors=True)


def copy_tree(src: str, dst: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """Copy every file under ``src`` to the same relative path under ``dst`` (but ``skip``); return them."""
    rels = [rel for rel in list_files(src) if rel not in skip]
    if is_remote(src) and is_remote(dst):
        sources, targets = [join(src, r) for r in rels], [join(dst, r) for r in rels]
        for start in range(0, len(rels), 100):
            _fs().copy(sources[start:start + 100], targets[start:start + 100])
    else:
        for rel in rels:
            with open_read(join(src, rel)) as fin, open_write(join(dst, rel)) as fout:
                shutil.copyfileobj(fin, fout)
    return rels


def open_text(path: str, encoding: str = "utf-8", newline: str | None = None, errors: str = "strict") -> IO[str]:
    return io.TextIOWrapper(open_read(path), encoding=encoding, newline=newline, errors=errors)
