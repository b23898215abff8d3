"""Parsed texts kept across batches: each distinct text is parsed once per worker, not once per batch.

Quota order (``transforms.quota_order``) reads a source's records by a hash of their id, so the
questions of one passage (DROP's, MCTest's stories, DuoRC's plots) fall into different rounds and
batches; without this cache each batch that holds one of them parses the passage again. The rules
only read docs, so records may share one, and a text parses to the same doc in any batch: the
outputs do not change (``tests/test_parse_cache.py``).

A :class:`ParseCache` maps a stable hash of (the pipeline's name, version and components, the text) to
the parsed ``Doc``, and evicts the least recently used docs once their estimated size passes
``max_bytes``. The docs are kept as they are, not serialised (reading a serialised doc back costs 3-23 % of
a parse), and their size is estimated, not measured (measuring means serialising, 3-13 % of a parse): a
doc's tensor plus :data:`TOKEN_BYTES` a token, what ``tracemalloc`` saw of 200 GAP paragraphs parsed by
``en_core_web_sm`` (~390 bytes a token besides the tensor). One cache per model lives
in each worker process (:func:`worker_cache`), made when the extraction DoFn is set up, as the model is.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Sequence

TOKEN_BYTES = 400
#: the default bound of a worker's cache: ~650,000 tokens, a thousand 1,500-character passages and more
DEFAULT_MAX_BYTES = 256 * 2**20

_WORKER_CACHES: dict[tuple[str, int], "ParseCache"] = {}


def model_id(nlp) -> str:
    """What a parse depends on besides the text: the pipeline's language, name, version and components."""
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')}-{meta.get('version', '')}:{','.join(nlp.pipe_names)}"


def doc_bytes(doc) -> int:
    """The estimated memory a parsed doc holds."""
    tensor = getattr(doc, "tensor", None)
    return int(getattr(tensor, "nbytes", 0)) + TOKEN_BYTES * len(doc) + len(doc.text)


class ParseCache:
    """``cache.parse(nlp, texts)``: the docs of ``texts`` in order, each distinct text not seen before parsed
    in one ``nlp.pipe``; ``parsed`` counts the texts parsed, ``hits`` those served from the cache."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.parsed = self.hits = 0
        self._docs: OrderedDict[bytes, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()  # a runner's worker threads share the process's cache; the parse is outside it

    def __len__(self) -> int:
        return len(self._docs)

    @staticmethod
    def key(model: str, text: str) -> bytes:
        return hashlib.blake2b(f"{model}\0{text}".encode("utf-8"), digest_size=16).digest()

    def parse(self, nlp, texts: Sequence[str]) -> list:
        model = model_id(nlp)
        keys = [self.key(model, t) for t in texts]
        found: dict[bytes, Any] = {}
        with self._lock:
            for k in dict.fromkeys(keys):
                entry = self._docs.get(k)
                if entry is not None:
                    self._docs.move_to_end(k)
                    found[k] = entry[0]
                    self.hits += 1
        unparsed = {k: t for k, t in zip(keys, texts) if k not in found}
        docs = list(nlp.pipe(unparsed.values()))
        with self._lock:
            for k, doc in zip(unparsed, docs):
                found[k] = doc
                self.parsed += 1
                self._put(k, doc)
        return [found[k] for k in keys]

    def _put(self, key: bytes, doc) -> None:
        size = doc_bytes(doc)
        if size > self.max_bytes:
            return  # it would evict everything and be evicted next
        if key in self._docs:  # another thread parsed it meanwhile
            self.bytes -= self._docs.pop(key)[1]
        self._docs[key] = (doc, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, old) = self._docs.popitem(last=False)
            self.bytes -= old


def worker_cache(model: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseCache:
    """The cache of this process for a model (made on first use): every extraction DoFn of the process shares
    it, so a passage parsed in one quota-order round is not parsed again in the next."""
    key = (model, max_bytes)
    if key not in _WORKER_CACHES:
        _WORKER_CACHES[key] = ParseCache(max_bytes)
    return _WORKER_CACHES[key]
