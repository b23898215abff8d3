"""MiniLM embeddings (the semantic extra): batching by token length and sharing the batches with
helper processes change no vector; loading prints no progress bar."""

import os
import subprocess
import sys

import numpy as np
import pytest

from schemas.embeddings import (MIN_TOKENS_PER_PROCESS, PROCESSES_ENV, embedding_processes, minilm_vectors,
                                token_batches, token_shares)

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


def test_token_shares_are_the_batches_in_runs_within_the_budget():
    lengths = [7, 30, 2, 2, 11, 64, 5, 9, 30, 3, 3, 17]
    batches = token_batches(lengths, tokens_per_batch=40)
    shares = token_shares(lengths, tokens_per_batch=40, tokens_per_share=70)
    assert [b for share in reversed(shares) for b in share] == batches  # the same batches, longest share first
    padded = [sum(len(b) * max(lengths[i] for i in b) for b in share) for share in shares]
    assert all(p <= 70 or len(share) == 1 for p, share in zip(padded, shares))
    assert token_shares([]) == []


def test_embedding_processes_follow_the_setting_else_the_cores_and_the_work(monkeypatch):
    monkeypatch.delenv(PROCESSES_ENV, raising=False)
    cores = len(os.sched_getaffinity(0))
    assert embedding_processes(0) == 1
    assert embedding_processes(MIN_TOKENS_PER_PROCESS - 1) == 1  # too little work to start a helper
    assert embedding_processes(100 * MIN_TOKENS_PER_PROCESS) == cores  # the load average plays no part
    monkeypatch.setenv(PROCESSES_ENV, "3")
    assert embedding_processes(0) == 3
    for bad in ("0", "two"):
        monkeypatch.setenv(PROCESSES_ENV, bad)
        with pytest.raises(ValueError, match=PROCESSES_ENV):
            embedding_processes(10)


@pytest.mark.slow
def test_vectors_are_the_same_bytes_with_a_helper_process(minilm):
    """Two processes (this one and a spawned helper, each on one thread) share the batches: every
    vector is the same bytes as one process alone computes, and as sentence-transformers' to rounding."""
    texts = [f"{t} ({i} of them, told again in other words number {i * 7})" for i in range(40) for t in TEXTS]
    alone = minilm_vectors(texts, dtype=np.float32, processes=1, tokens_per_batch=256)
    shared = minilm_vectors(texts, dtype=np.float32, processes=2, tokens_per_batch=256, tokens_per_share=512)
    assert alone.tobytes() == shared.tobytes()
    from schemas.embeddings import helper_pids

    assert len(helper_pids()) == 1  # the work really was shared
    assert np.allclose(alone, minilm.encode(texts, normalize_embeddings=True, convert_to_numpy=True), atol=1e-5)


@pytest.mark.slow
def test_loading_the_model_prints_no_progress_bar():
    code = "from schemas.embeddings import load_minilm; load_minilm(); print('loaded')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded"
    assert "Loading weights" not in done.stderr and "it/s" not in done.stderr, done.stderr
