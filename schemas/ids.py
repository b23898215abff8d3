"""Stable, content-derived identifiers and seeds.

Never use ``hash()`` for anything that is stored or that decides sampling: it is
salted per process. Everything here is blake2b over a canonical string.

>>> stable_id("t", "qa", "What is {person} leader of?")
't-...'
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


#: one encoder for every digest (``json.dumps`` with options builds a new one per call)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def digest(*parts: Any, size: int = 8) -> str:
    """Hex blake2b digest of the parts, joined unambiguously (JSON)."""
    payload = _CANONICAL.encode(parts)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=size).hexdigest()


def stable_id(prefix: str, *parts: Any, size: int = 6) -> str:
    """A short id such as ``t-3f9a2c1b04de`` derived from the parts' content."""
    return f"{prefix}-{digest(*parts, size=size)}"


def stable_seed(seed: int, *key: Any) -> int:
    """A 64-bit seed for ``(seed, key)``: the same on every process and runner."""
    return int(digest(seed, *key, size=8), 16)


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
