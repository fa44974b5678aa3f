"""Retrieval over the Northwind Gadgets knowledge base (``aichaos/demo/kb/*.md``).

Each document is split into paragraphs; a passage is ``"<title>: <paragraph>"``. Passages are
embedded once with all-MiniLM-L6-v2 (``_embeddings.embed``, normalised vectors) and the
matrix is cached as ``kb-<sha256 of the passages>.npy`` so a second start skips the work.
Search is exact top-k by cosine similarity (a dot product of normalised vectors).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aichaos.demo.app._embeddings import embed
from aichaos.demo.app._grounding import sentences as split_sentences

KB_DIR = Path(__file__).resolve().parents[1] / "kb"


@dataclass(frozen=True, slots=True)
class Passage:
    """One paragraph of a knowledge-base document (``doc`` is the file stem)."""

    doc: str
    title: str
    text: str

    @property
    def quoted(self) -> str:
        return f"{self.title}: {self.text}"


def load_passages(kb_dir: Path = KB_DIR) -> list[Passage]:
    """Every non-heading paragraph of every ``*.md`` in ``kb_dir``, in file order."""
    passages = []
    for path in sorted(kb_dir.glob("*.md")):
        lines = path.read_text(encoding="utf-8").split("\n\n")
        title = path.stem.replace("-", " ")
        for block in lines:
            block = block.strip()
            if block.startswith("# "):
                title = block[2:].splitlines()[0].strip()
                block = block.partition("\n")[2].strip()
            if block:
                passages.append(Passage(path.stem, title, " ".join(block.split())))
    return passages


class KnowledgeBase:
    """Passages and their embedding matrix, shape (len(passages), 384), float32."""

    def __init__(self, passages: list[Passage], matrix: Any) -> None:
        self.passages = passages
        self.matrix = matrix

    @classmethod
    def load(cls, kb_dir: Path = KB_DIR, cache_dir: Path | None = None) -> KnowledgeBase:
        """Load the passages and their embeddings (from the cache when it matches).

        Blocking (loads the embedding model, about 1-10 s); call it before serving.
        """
        passages = load_passages(kb_dir)
        digest = hashlib.sha256("\x00".join(p.quoted for p in passages).encode()).hexdigest()
        cache = (cache_dir or default_cache_dir()) / f"kb-{digest[:16]}.npy"
        matrix = None
        if cache.is_file():
            try:
                matrix = np.load(cache)
            except (OSError, ValueError):
                matrix = None
        if matrix is None or matrix.shape[0] != len(passages):
            matrix = embed([p.quoted for p in passages])
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, matrix)
            os.replace(tmp, cache)  # atomic: two apps starting at once never read half a file
        else:
            embed(["warm up"])  # load the model now, not on the first question
        return cls(passages, matrix)

    def search(self, query: str, k: int) -> list[tuple[Passage, float]]:
        """The ``k`` passages most similar to ``query``, best first, with cosine similarity.

        Blocking (one embedding, about 20 ms); run it in a worker thread.
        """
        vec = embed([query])[0]
        scores = self.matrix @ vec
        top = np.argsort(-scores)[:k]
        return [(self.passages[i], float(scores[i])) for i in top]


    def focus(self, query: str, passages: list[Passage], budget_chars: int) -> list[str]:
        """The sentences of ``passages`` most similar to ``query``, within ``budget_chars``.

        Sentences are split as the grounding check splits them (``_grounding.sentences``),
        so the prompt and the check agree on what a sentence is. They are ranked by cosine
        similarity to the query (each embedded with its passage's title, as the passages
        are) and kept best first while they fit the budget (the best one always); the
        result keeps document order, one ``"<title>: <sentences>"`` string per passage that
        kept any. A context budget: the model reads fewer prompt
        tokens (prefill dominates its latency on CPU) and less distraction.

        Calibrated on the 72 golden questions without an order number
        (``benchmarks/calibrate_context_budget.py``): the expected answer fragment is in the
        full top-3 context for 69; a 360-character budget keeps it for 68 of them while
        cutting the context from 802 to 399 characters on average (titles included).

        Blocking (one embedding batch of about ten sentences, ~30 ms); run it in a thread.
        """
        sentences = [(i, text) for i, p in enumerate(passages) for text in split_sentences(p.text)]
        if not sentences:
            return []
        vecs = embed([query] + [f"{passages[i].title}: {t}" for i, t in sentences])
        ranked = np.argsort(-(vecs[1:] @ vecs[0]))
        keep: list[int] = []
        used = 0
        for k in ranked:
            size = len(sentences[k][1])
            if keep and used + size > budget_chars:
                continue
            keep.append(int(k))
            used += size
        by_passage: dict[int, list[str]] = {}
        for k in sorted(keep):
            i, text = sentences[k]
            by_passage.setdefault(i, []).append(text)
        return [f"{passages[i].title}: {' '.join(texts)}" for i, texts in by_passage.items()]


def default_cache_dir() -> Path:
    """``$AICHAOS_CACHE_DIR`` or ``$XDG_CACHE_HOME/aichaos`` (``~/.cache/aichaos``)."""
    env = os.environ.get("AICHAOS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aichaos"
