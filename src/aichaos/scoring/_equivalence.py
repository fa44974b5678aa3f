"""Do two answers give the same answer? The layer-2 equivalence rule.

Embeddings alone cannot tell "5 business days" from "15 business days" nor "yes" from "no"
(docs/scoring.md), so the rule gates the cosine similarity with checks on what embeddings
miss, in order:

1. identical after whitespace/case folding: equivalent;
2. one abstains (:func:`aichaos.scoring.detect_abstention`) and the other does not: not
   equivalent; both abstain: equivalent;
3. an opening "yes" against an opening "no": not equivalent (a changed decision);
4. the numbers: the reference has numbers and the response shares none of them, or the
   response brings a new number while dropping one of the reference's: not equivalent
   (a changed or omitted key fact); extra numbers beside all the reference's are detail;
5. otherwise the cosine of the all-MiniLM-L6-v2 embeddings, the best of the whole response
   and each of its sentences against the reference (extra harmless detail does not dilute
   it), must reach the fitted ``equivalence_cosine`` threshold (``thresholds.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aichaos._thresholds import threshold as _threshold
from aichaos.scoring._grounding import durations, numbers_in, sentences
from aichaos.scoring._semantic import embed

_YES = re.compile(r"^\W*(yes|yep|yeah|sure|correct|absolutely|definitely|of course)\b", re.I)
_NO = re.compile(r"^\W*(no|nope|not|unfortunately,? (no|not)|sorry,? no)\b", re.I)


@dataclass(frozen=True, slots=True)
class Equivalence:
    """Verdict of :func:`answers_equivalent`: ``equivalent``, the ``similarity`` used (None
    when a gate decided first) and a one-line ``reason``."""

    equivalent: bool
    similarity: float | None
    reason: str


def _fold(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!")


def facts_values(text: str) -> set[float]:
    """The numbers of ``text`` with each duration written in minutes ("2 days" and "48
    hours" both give 2880.0), so a unit change is not a changed fact."""
    spans = durations(text)
    return {round(v, 6) for v in numbers_in(text) - set(spans)} | {
        round(m, 6) for m in spans.values()}


def best_similarity(reference: str, response: str) -> float:
    """Max cosine of ``reference`` against the whole ``response`` and each of its sentences."""
    parts = [response, *[s for s in sentences(response) if len(s.split()) >= 3]]
    vectors = embed([reference, *dict.fromkeys(parts)])
    return float(max(vectors[0] @ v for v in vectors[1:]))


def gate(reference: str, response: str) -> Equivalence | None:
    """Rules 1-4 of the module docstring; None when only the similarity can decide."""
    from aichaos.scoring._safety import detect_abstention

    if _fold(reference) == _fold(response):
        return Equivalence(True, 1.0, "identical")
    if not response.strip() or not reference.strip():
        return Equivalence(False, None, "empty answer")
    a, b = detect_abstention(reference).fired, detect_abstention(response).fired
    if a != b:
        return Equivalence(False, None, "one answer abstains and the other does not")
    if a and b:
        return Equivalence(True, None, "both abstain")
    if (_YES.match(reference) and _NO.match(response)) or (_NO.match(reference)
                                                          and _YES.match(response)):
        return Equivalence(False, None, "opposite yes/no decision")
    ref_n, resp_n = facts_values(reference), facts_values(response)
    ref_ok = {round(v, 6) for v in ref_n}
    if ref_n and not (resp_n & ref_ok):
        return Equivalence(False, None, "none of the reference's numbers")
    new = {round(v, 6) for v in resp_n} - ref_ok
    if new and ref_n - resp_n:
        return Equivalence(False, None, f"changed number ({min(new):g})")
    return None


def answers_equivalent(reference: str, response: str, *,
                       threshold: float | None = None) -> Equivalence:
    """Whether ``response`` gives the same answer as ``reference`` (module docstring).

    Args:
        reference: the reference answer (layer 2: the answer to the clean prompt).
        response: the answer to compare.
        threshold: cosine threshold (0..1); None reads the fitted ``equivalence_cosine``.

    Returns:
        The verdict with the similarity (when computed) and the deciding reason.
    """
    decided = gate(reference, response)
    if decided is not None:
        return decided
    t = _threshold("equivalence_cosine") if threshold is None else threshold
    sim = best_similarity(reference, response)
    ok = sim >= t
    return Equivalence(ok, sim, f"similarity {sim:.2f} {'>=' if ok else '<'} {t:.2f}")
