"""Near-duplicate removal: templates whose texts say nearly the same thing, one kept per group.

Two methods, both over a template's *neutral text* (its task fields in order, slots
read as neutral words: ``{person}`` "person", ``{person.subj}`` "they", a verb as
written, a gendered choice as its neutral word):

- ``minilm``: cosine similarity of MiniLM sentence embeddings (the ``semantic`` extra,
  ``schemas.embeddings``), field by field: each distinct field text is embedded once, in
  batches of near-equal token count (a passage many questions share, once), and two
  templates' similarity is the mean of their fields' cosines. Similarities come from matrix
  products of a chunk of rows against the rest of the block (``CHUNK`` rows at a time, the
  upper triangle only), never from a model call per pair.
  Default threshold 0.9.
- ``minhash``: the lexical fallback when the extra is absent. MinHash signatures
  (``datasketch``, 128 permutations, fixed seed) of word 3-gram shingles; locality-sensitive
  hashing bands propose candidate pairs, whose estimated Jaccard similarity is then checked.
  Default threshold 0.6.

Blocking: templates of different tasks are never compared (the PTransform groups by task),
and inside a block only the pairs the method proposes (rows of one chunk; one LSH band in
common) are scored.

Which of a pair stays is decided, never drawn: templates are ranked by (source order in
the spec, position in the source, template id); in that order each template not already
dropped is kept and drops every later template near it. The kept template's provenance
names those it beat (``dedup:near:<method> beat <id> (<similarity>)``) and the pairs come
out on their own tag for a review file.

>>> texts = ["{person} sat on the old red bench by the river.", "{person} sat on the old red bench by the river!",
...          "{person.subj} {person:was} reading a book about ships."]
>>> minhash_pairs([neutral(t) for t in texts], 0.6)
[(0, 1, 1.0)]
>>> survivors([(0, 1, 1.0)], order=[1, 0, 2])  # 1 ranks first: it stays, 0 goes
([1, 2], {0: [(1, 1.0)]})
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import TASK_FIELDS

NAMESPACE = "biasbench.near_dedup"
KEPT, PAIRS = "templates", "near_pairs"  # the output tags of NearDedupTemplates
METHODS = ("minilm", "minhash")
DEFAULT_THRESHOLD = {"minilm": 0.9, "minhash": 0.6}
CHUNK = 1024  # rows of one similarity matrix product
NUM_PERM, SEED, SHINGLE = 128, 1, 3
MAX_NAMED = 5  # beaten templates named in the survivor's provenance line

_SLOT = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_PRONOUN = {"subj": "they", "obj": "them", "poss": "their", "poss_pron": "theirs", "refl": "themselves"}
_WORD = re.compile(r"\w+")


def _neutral_slot(m: re.Match) -> str:
    body = m.group(1)
    if body is None:
        return m.group(0)[0]
    body = body.lstrip("=")
    if body.startswith("a:"):
        return "a person"
    ref, _, rest = body.partition(":")
    if rest:
        return rest.split("/")[-1]  # a verb as written; a gendered choice by its neutral (last) word
    ref, _, attr = ref.partition(".")
    return _PRONOUN.get(attr, "person" if not attr else "")


def neutral(text: str) -> str:
    """A template text with its slots read as neutral words.

    >>> neutral("{a:person} said {person.subj} {person:was} {person:boy/girl/kid}, {person2}.")
    'a person said they was kid, person.'
    """
    return _SLOT.sub(_neutral_slot, text)


def field_texts(template: Mapping[str, Any]) -> list[str]:
    """The neutral texts near-duplicate removal compares: the task's fields in order, then any others."""
    fields = template["fields"]
    names = [f for f in TASK_FIELDS.get(template["task"], ()) if f in fields]
    names += sorted(f for f in fields if f not in names)
    return [neutral(str(fields[f])) for f in names]


def template_text(template: Mapping[str, Any]) -> str:
    """A template's neutral fields as one text (what MinHash shingles)."""
    return " | ".join(field_texts(template))


def resolve_method(method: str) -> str:
    """``auto`` -> ``minilm`` when the semantic extra is installed, else ``minhash``."""
    if method == "auto":
        from schemas.embeddings import semantic_available

        return "minilm" if semantic_available() else "minhash"
    if method not in METHODS:
        raise ValueError(f"near_method {method!r} is not auto, minilm or minhash")
    return method


# below the bound a pair's field cosines must reach, so float32 rounding never prunes a pair at the threshold
BOUND_SLACK = 1e-3


def _pairs_at_least(vectors, need: float, chunk: int = CHUNK):
    """``(rows, cols, products)`` of every pair i < j of rows whose dot product is at least ``need``: matrix
    products of ``chunk`` rows against the rows from there on (the upper triangle's band only)."""
    import numpy as np

    rows, cols, products = [], [], []
    for start in range(0, len(vectors), chunk):
        band = vectors[start:start + chunk] @ vectors[start:].T  # j >= i only
        r, c = np.nonzero(np.triu(band >= need, k=1))
        rows.append(r + start)
        cols.append(c + start)
        products.append(band[r, c])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(products)


def minilm_pairs(field_texts: Sequence[Sequence[str]], threshold: float,
                 chunk: int = CHUNK) -> list[tuple[int, int, float]]:
    """``(i, j, cosine)`` with i < j for every pair of templates (given as their field texts, in one
    order) at or above ``threshold``, a pair's cosine being the mean of its fields' cosines (a field
    one of them lacks counts 0).

    Fields are embedded a field at a time, the one of fewest distinct tokens first, and a field
    is embedded only for templates that can still reach the threshold: a cosine is at most 1,
    so after the fields embedded so far a pair needs their cosines to sum to at least
    ``width * threshold`` minus the fields still to come. On the dedup benchmark's qa templates
    (context, question) a third of the templates have no question within 0.8 of any other
    question, so their passages are never embedded. The last field embedded, the survivors'
    similarities are chunked matrix products of their side-by-side field vectors (the upper
    triangle), never a model call per pair.
    """
    import numpy as np
    from schemas.embeddings import embedding_processes, hidden_size, token_ids, vectors_of_token_ids

    if len(field_texts) < 2:
        return []
    width = max(len(texts) for texts in field_texts)
    rows = [list(texts) + [""] * (width - len(texts)) for texts in field_texts]
    distinct = sorted({t for row in rows for t in row if t})
    if not distinct:
        return []
    ids = dict(zip(distinct, token_ids(distinct)))
    # one decision for all the fields: helpers started for the first field serve the rest
    processes = embedding_processes(sum(len(x) for x in ids.values()))
    tokens = [sum(len(ids[t]) for t in {row[k] for row in rows} if t) for k in range(width)]
    embedded: dict[str, Any] = {}
    dim = hidden_size()
    live = np.arange(len(rows))  # the templates still able to reach the threshold
    partial = np.zeros((len(rows), 0), dtype=np.float32)  # their embedded fields' unit vectors side by side
    for done, k in enumerate(sorted(range(width), key=lambda k: (tokens[k], k)), start=1):
        new = sorted({rows[i][k] for i in live if rows[i][k]} - embedded.keys())
        embedded.update(zip(new, vectors_of_token_ids([ids[t] for t in new], np.float32, processes=processes)))
        if done == width:
            break
        field = np.zeros((len(live), dim), dtype=np.float32)
        for r, i in enumerate(live.tolist()):
            if rows[i][k]:
                field[r] = embedded[rows[i][k]]
        partial = np.hstack([partial, field])
        one, other, _ = _pairs_at_least(partial, width * threshold - (width - done) - BOUND_SLACK, chunk)
        keep = np.zeros(len(live), dtype=bool)
        keep[one] = keep[other] = True  # with a partner that may still reach the threshold
        live, partial = live[keep], partial[keep]
        if len(live) < 2:
            return []
    vectors = np.zeros((len(live), width * dim), dtype=np.float32)
    for r, i in enumerate(live.tolist()):
        for k, t in enumerate(rows[i]):
            if t:
                vectors[r, k * dim:(k + 1) * dim] = embedded[t]
    vectors /= np.sqrt(width, dtype=np.float32)
    r, c, sims = _pairs_at_least(vectors, threshold, chunk)
    return sorted(zip(live[r].tolist(), live[c].tolist(), [round(x, 4) for x in sims.tolist()]))


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """Word ``size``-grams of the lower-cased text (the whole text when it is shorter).

    >>> sorted(shingles("A man sat down.", 3))
    ['a man sat', 'man sat down']
    """
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def minhash_pairs(texts: Sequence[str], threshold: float) -> list[tuple[int, int, float]]:
    """``(i, j, estimated Jaccard)`` with i < j for every pair at or above ``threshold``: LSH proposes,
    the signatures' Jaccard estimate decides.

    Signatures are datasketch's (``MinHash.bulk``: the permutations drawn once, not per text);
    the bands are the ones ``MinHashLSH`` chooses for the threshold, grouped here in numpy, and
    the candidates' estimates come from one comparison of their signature rows.
    """
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    if len(texts) < 2:
        return []
    hashes = MinHash.bulk(([s.encode("utf-8") for s in sorted(shingles(t))] for t in texts), num_perm=NUM_PERM,
                          seed=SEED)
    signatures = np.vstack([m.hashvalues for m in hashes])
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    candidates = set()
    for band in range(lsh.b):
        _, bucket = np.unique(signatures[:, band * lsh.r:(band + 1) * lsh.r], axis=0, return_inverse=True)
        order = np.argsort(bucket.ravel(), kind="stable")
        for members in np.split(order, np.flatnonzero(np.diff(bucket.ravel()[order])) + 1):
            if len(members) > 1:
                candidates.update(itertools.combinations(members.tolist(), 2))
    if not candidates:
        return []
    i, j = np.array(sorted(candidates)).T
    sims = np.count_nonzero(signatures[i] == signatures[j], axis=1) / NUM_PERM
    keep = sims >= threshold
    return [(a, b, round(s, 4)) for a, b, s in zip(i[keep].tolist(), j[keep].tolist(), sims[keep].tolist())]


def survivors(pairs: Iterable[tuple[int, int, float]],
              order: Sequence[int]) -> tuple[list[int], dict[int, list[tuple[int, float]]]]:
    """Kept indices (in ``order``) and, per dropped index, ``[(the index that beat it, similarity)]``.

    ``order`` ranks the indices, best first: each index not yet dropped is kept and drops
    every later-ranked index it is near.
    """
    near: dict[int, list[tuple[int, float]]] = {}
    for i, j, sim in pairs:
        near.setdefault(i, []).append((j, sim))
        near.setdefault(j, []).append((i, sim))
    rank = {idx: r for r, idx in enumerate(order)}
    kept, beaten_by = [], {}
    for idx in order:
        if idx in beaten_by:
            continue
        kept.append(idx)
        for other, sim in sorted(near.get(idx, ()), key=lambda p: rank[p[0]]):
            if rank[other] > rank[idx] and other not in beaten_by:
                beaten_by[other] = [(idx, sim)]
    return kept, beaten_by


@dataclass(frozen=True)
class NearPair:
    """One near-duplicate decision: ``kept`` stays, ``dropped`` goes."""

    task: str
    kept: str
    dropped: str
    similarity: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def order_key(template: Mapping[str, Any], source_rank: Mapping[str, int]) -> tuple[int, int, str]:
    """Rank of a template among near duplicates: earlier source in the spec, earlier in its source, smaller id."""
    return (source_rank.get(template.get("source_dataset", ""), len(source_rank)), int(template.get("ordinal", 0)),
            str(template["template_id"]))


def near_dedup(templates: Sequence[Mapping[str, Any]], method: str, threshold: float | None = None,
               source_order: Sequence[str] = ()) -> tuple[list[dict], list[NearPair]]:
    """The templates that stay (best-ranked first, provenance naming whom they beat) and the pairs decided.

    ``method`` is ``minilm`` or ``minhash`` (see ``resolve_method``); ``threshold`` defaults per method.
    """
    threshold = DEFAULT_THRESHOLD[method] if threshold is None else threshold
    source_rank = {name: i for i, name in enumerate(source_order)}
    ranked = sorted(templates, key=lambda t: order_key(t, source_rank))
    if method == "minilm":
        pairs = minilm_pairs([field_texts(t) for t in ranked], threshold)
    else:
        pairs = minhash_pairs([template_text(t) for t in ranked], threshold)
    kept, beaten_by = survivors(pairs, list(range(len(ranked))))
    beat: dict[int, list[tuple[int, float]]] = {}
    for dropped, [(winner, sim)] in sorted(beaten_by.items()):
        beat.setdefault(winner, []).append((dropped, sim))
    out, decided = [], []
    for idx in kept:
        t = dict(ranked[idx])
        losers = beat.get(idx, [])
        if losers:
            named = ", ".join(f"{ranked[d]['template_id']} ({s:.3f})" for d, s in losers[:MAX_NAMED])
            more = f" and {len(losers) - MAX_NAMED} more" if len(losers) > MAX_NAMED else ""
            t["provenance"] = [*t.get("provenance", []), f"dedup:near:{method} beat {named}{more}"]
            decided += [NearPair(t["task"], t["template_id"], ranked[d]["template_id"], s, method) for d, s in losers]
        out.append(t)
    return out, decided


class _NearDedupFn(beam.DoFn):
    def __init__(self, method: str, threshold: float | None, source_order: Sequence[str]):
        super().__init__()
        self.method, self.threshold, self.source_order = method, threshold, list(source_order)

    def setup(self):
        if self.method == "minilm":
            from schemas.embeddings import load_minilm

            load_minilm()  # once per worker, before the first block

    def process(self, keyed):
        _task, templates = keyed
        kept, pairs = near_dedup(list(templates), self.method, self.threshold, self.source_order)
        Metrics.counter(NAMESPACE, f"dropped.{self.method}").inc(len(pairs))
        yield from kept
        for pair in pairs:
            yield beam.pvalue.TaggedOutput(PAIRS, pair.to_dict())


class NearDedupTemplates(beam.PTransform):
    """``PCollection[Template dict]`` -> tagged outputs ``templates`` (the survivors) and ``near_pairs``
    (``NearPair`` dicts: task, kept, dropped, similarity, method).

    ``method``: ``auto`` (resolved when the pipeline is built, so every worker uses the
    same), ``minilm`` or ``minhash``; ``threshold`` None takes the method's default;
    ``source_order`` the spec's source names, earliest first (ties go to the earlier source).
    """

    def __init__(self, method: str = "auto", threshold: float | None = None, source_order: Sequence[str] = ()):
        super().__init__()
        self.method = resolve_method(method)
        self.threshold = threshold
        self.source_order = list(source_order)

    def expand(self, templates):
        return (templates
                | "BlockByTask" >> beam.Map(lambda t: (t["task"], t))
                | "Blocks" >> beam.GroupByKey()
                | "NearDedup" >> beam.ParDo(_NearDedupFn(self.method, self.threshold, self.source_order))
                .with_outputs(PAIRS, main=KEPT))
