"""Per-run samples of the compared metrics, read from stored case rows.

A run's sample is one :class:`Observation` per stored case of the chosen suite(s): latency,
TTFT, score, pass/fail, error, refusal, output length and (lazily) the output's embedding.
Refusals are detected with the refusal-prefix list of Zou et al. (2023, "Universal and
Transferable Adversarial Attacks on Aligned Language Models", the ``test_prefixes`` of their
released code), trimmed to phrases that signal a refusal on their own, plus common
"I don't know" abstentions; a match counts when it opens the answer or one of its sentences
within the first 160 characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

REFUSAL_PREFIXES: tuple[str, ...] = (
    "i'm sorry", "i am sorry", "sorry, but", "i apologize", "my apologies", "as an ai",
    "as a language model", "as an assistant", "i cannot", "i can't", "i can not",
    "i am unable", "i'm unable", "i am not able", "i'm not able", "i won't", "i will not",
    "i don't know", "i do not know", "i do not have", "i don't have",
)
_REFUSAL = re.compile(r"(?:^|[.!?]\s+)(?:" + "|".join(re.escape(p) for p in REFUSAL_PREFIXES)
                      + ")")


def is_refusal(text: str) -> bool:
    """True when the answer, or one of its sentences in the first 160 characters, opens with
    a refusal phrase ("Northwind Gadgets, I'm sorry for your loss" is not a refusal)."""
    return bool(_REFUSAL.search(text[:160].strip().lower().replace("\u2019", "'")))


@dataclass(frozen=True, slots=True)
class Observation:
    """One stored case as the comparison sees it (None = not measured for this case).

    Attributes:
        e2e_s, ttft_s: latencies of a successful request, seconds.
        score: the scorer's 0..1 score.
        passed: the scorer's verdict.
        errored: the request failed (an error class was recorded).
        refused: the answer is a refusal (only for successful requests).
        length: output length in ``RunSample.length_unit`` (successful requests only).
        output: the answer text ("" when there was none).
        case_id, variant: the stored case's golden id and condition ("" when unknown); a
            case of run A and one of run B with the same pair are replays of each other.
        input: the text that was sent (a replay must have sent the same).
    """

    e2e_s: float | None
    ttft_s: float | None
    score: float | None
    passed: bool | None
    errored: bool
    refused: bool | None
    length: float | None
    output: str
    case_id: str = ""
    variant: str = ""
    input: str = ""


@dataclass
class RunSample:
    """A run's observations, with their output embeddings once :meth:`embed` ran.

    Attributes:
        run_id: the stored run.
        observations: one per case, in stored order.
        length_unit: ``tokens`` (usage counts) or ``words`` (when a case lacks usage).
        embeddings: shape (n, d) aligned to ``observations`` (zero rows for empty outputs),
            or None until :meth:`embed` is called.
    """

    run_id: str
    observations: list[Observation]
    length_unit: str = "tokens"
    embeddings: NDArray[np.floating] | None = field(default=None, repr=False)

    def embed(self, encoder: Callable[[list[str]], Any]) -> RunSample:
        """Compute output embeddings with ``encoder(texts) -> array (n, d)`` (once)."""
        if self.embeddings is None:
            texts = [o.output for o in self.observations]
            wanted = [i for i, t in enumerate(texts) if t.strip()]
            vectors = np.asarray(encoder([texts[i] for i in wanted]), dtype=np.float64) \
                if wanted else np.zeros((0, 1))
            full = np.zeros((len(texts), vectors.shape[1] if len(vectors) else 1))
            full[wanted] = vectors
            self.embeddings = full
        return self

    def output_embeddings(self) -> NDArray[np.floating] | None:
        """Embeddings of the non-empty outputs, or None when not embedded."""
        if self.embeddings is None:
            return None
        keep = [i for i, o in enumerate(self.observations) if o.output.strip()]
        return self.embeddings[keep]

    def resample(self, rng: np.random.Generator, size: int | None = None) -> RunSample:
        """A bootstrap resample (rows drawn with replacement, embeddings kept aligned)."""
        n = len(self.observations)
        idx = rng.integers(0, n, size or n)
        emb = None if self.embeddings is None else self.embeddings[idx]
        return replace(self, observations=[self.observations[i] for i in idx], embeddings=emb)


def sample_from_rows(run_id: str, rows: Sequence[dict[str, Any]]) -> RunSample:
    """Build a :class:`RunSample` from ``cases`` rows (dicts with the store's column names)."""
    ok_rows = [r for r in rows if not r.get("error_class")]
    tokens = bool(ok_rows) and all(r.get("output_tokens") is not None for r in ok_rows)
    obs = []
    for r in rows:
        errored = bool(r.get("error_class"))
        output = r.get("output") or ""
        length: float | None = None
        if not errored:
            length = float(r["output_tokens"]) if tokens else float(len(output.split()))
        obs.append(Observation(
            e2e_s=None if errored else r.get("e2e_s"),
            ttft_s=None if errored else r.get("ttft_s"),
            score=r.get("score"), passed=r.get("passed"), errored=errored,
            refused=None if errored else is_refusal(output), length=length, output=output,
            case_id=str(r.get("case_id") or ""), variant=str(r.get("variant") or ""),
            input=str(r.get("input") or ""),
        ))
    return RunSample(run_id, obs, "tokens" if tokens else "words")
