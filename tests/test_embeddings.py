"""MiniLM embeddings (the semantic extra): batching by token length changes no vector."""

import numpy as np

from schemas.embeddings import embedding_threads, minilm_vectors, token_batches

TEXTS = ["The doctor is on the way.", "A person walked to the market.", "Stock prices fell.",
         "They bought bread, fish and a lamp for the winter, then walked home along the river.", "Hi."]


def test_token_batches_cover_every_text_once_within_the_budget():
    lengths = [7, 30, 2, 2, 11, 64, 5, 9, 30]
    batches = token_batches(lengths, tokens_per_batch=40)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 40 for b in batches)
    assert [max(lengths[i] for i in b) for b in batches] == sorted(max(lengths[i] for i in b) for b in batches)
    assert token_batches([]) == []


def test_batched_vectors_equal_each_text_embedded_alone(minilm):
    together = minilm_vectors(TEXTS, dtype=np.float32)
    alone = np.vstack([minilm.encode([t], normalize_embeddings=True, convert_to_numpy=True) for t in TEXTS])
    assert together.shape == (len(TEXTS), 384)
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    # tiny batches, another order: the same rows
    order = [3, 0, 4, 2, 1]
    again = minilm_vectors([TEXTS[i] for i in order], dtype=np.float32, tokens_per_batch=8)
    assert np.allclose(again, together[order], atol=1e-5)
    assert minilm_vectors([]).shape[0] == 0


def test_embedding_threads_stay_within_the_cores():
    import os

    assert 1 <= embedding_threads() <= (os.cpu_count() or 1)
