"""The layer-2 equivalence rule on the older labelled pairs (real model; in-sample: these pairs
are part of the calibration set ``tests/data/detectors/calibration/equivalence.yaml``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from aichaos._thresholds import thresholds
from aichaos.config import InputResilienceLayer
from aichaos.scoring import answers_equivalent, embed
from tests_support import ROOT

PAIRS = ROOT / "tests" / "data" / "equivalence_pairs.yaml"


def test_default_threshold_is_the_fitted_one_and_the_rule_beats_cosine_alone() -> None:
    pairs = yaml.safe_load(Path(PAIRS).read_text(encoding="utf-8"))["pairs"]
    assert len(pairs) >= 40 and sum(p["equivalent"] for p in pairs) == 24
    threshold = InputResilienceLayer().equivalence_threshold
    assert threshold == thresholds()["equivalence_cosine"]
    truth = [bool(p["equivalent"]) for p in pairs]
    said = [answers_equivalent(p["a"], p["b"]).equivalent for p in pairs]
    tp = sum(s and t for s, t in zip(said, truth, strict=True))
    fp = sum(s and not t for s, t in zip(said, truth, strict=True))
    fn = sum(t and not s for s, t in zip(said, truth, strict=True))
    # measured in-sample: 21 of 24 equivalent pairs kept, 5 of 24 others let through
    assert tp / (tp + fp) >= 0.8 and tp / (tp + fn) >= 0.85, (tp, fp, fn)
    # cosine alone at the same threshold lets more contradicting facts through
    vectors = embed([p["a"] for p in pairs] + [p["b"] for p in pairs])  # all-MiniLM-L6-v2
    n = len(pairs)
    cos_fp = sum(1 for i, p in enumerate(pairs)
                 if not p["equivalent"] and float(vectors[i] @ vectors[n + i]) >= threshold)
    assert fp < cos_fp
