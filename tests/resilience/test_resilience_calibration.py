"""The default equivalence threshold reaches the figures docs/scoring.md reports (real model)."""

from __future__ import annotations

from pathlib import Path

import yaml

from aichaos.config import InputResilienceLayer
from aichaos.scoring import embed
from tests_support import ROOT

PAIRS = ROOT / "tests" / "data" / "equivalence_pairs.yaml"


def test_default_threshold_reaches_reported_precision_and_recall() -> None:
    pairs = yaml.safe_load(Path(PAIRS).read_text(encoding="utf-8"))["pairs"]
    assert len(pairs) >= 40 and sum(p["equivalent"] for p in pairs) == 24
    vectors = embed([p["a"] for p in pairs] + [p["b"] for p in pairs])  # all-MiniLM-L6-v2
    n = len(pairs)
    sims = [float(vectors[i] @ vectors[n + i]) for i in range(n)]
    threshold = InputResilienceLayer().equivalence_threshold
    assert threshold == 0.68
    said = [s >= threshold for s in sims]
    truth = [bool(p["equivalent"]) for p in pairs]
    tp = sum(s and t for s, t in zip(said, truth, strict=True))
    fp = sum(s and not t for s, t in zip(said, truth, strict=True))
    fn = sum(t and not s for s, t in zip(said, truth, strict=True))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    # docs/scoring.md: precision 0.857 (24/28), recall 1.000 (24/24), F1 0.923
    assert precision >= 0.857 and recall >= 1.0
    assert 2 * precision * recall / (precision + recall) >= 0.923
    # the known blind spot: same-topic answers with a contradicting fact score high
    facts = [s for s, p in zip(sims, pairs, strict=True) if p["kind"] == "fact"]
    others = [s for s, p in zip(sims, pairs, strict=True)
              if not p["equivalent"] and p["kind"] != "fact"]
    assert max(facts) > threshold > max(others)
