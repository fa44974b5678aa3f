"""Calibrate the answer-equivalence threshold of the input-resilience suite (layer 2).

Reads the labelled answer pairs in ``tests/data/equivalence_pairs.yaml``, computes the cosine
similarity of each pair with the real embedding model (all-MiniLM-L6-v2, offline), sweeps
every candidate threshold (each observed similarity) and picks the one maximising F1 of the
"equivalent" class; ties are broken by Youden's J (sensitivity + specificity - 1,
Youden 1950), then by the higher threshold. Prints the figures docs/scoring.md reports.

    python benchmarks/calibrate_equivalence.py [PAIRS.yaml]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

from aichaos.scoring import embed

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "tests" / "data" / "equivalence_pairs.yaml"


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    """The labelled pairs: ``{a, b, equivalent, kind}`` each."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["pairs"])


def similarities(pairs: list[dict[str, Any]]) -> list[float]:
    """Cosine similarity of each pair (one batched embedding call)."""
    vectors = embed([p["a"] for p in pairs] + [p["b"] for p in pairs])
    n = len(pairs)
    return [float(vectors[i] @ vectors[n + i]) for i in range(n)]


def confusion(sims: list[float], labels: list[bool], threshold: float) -> dict[str, float]:
    """Precision, recall, F1, specificity and Youden's J of ``sim >= threshold``."""
    tp = sum(1 for s, y in zip(sims, labels, strict=True) if s >= threshold and y)
    fp = sum(1 for s, y in zip(sims, labels, strict=True) if s >= threshold and not y)
    fn = sum(1 for s, y in zip(sims, labels, strict=True) if s < threshold and y)
    tn = sum(1 for s, y in zip(sims, labels, strict=True) if s < threshold and not y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    return {"threshold": threshold, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": precision, "recall": recall, "f1": f1,
            "specificity": specificity, "youden_j": recall + specificity - 1}


def calibrate(sims: list[float], labels: list[bool]) -> dict[str, float]:
    """The best threshold by F1, then Youden's J, then the higher threshold.

    Candidates are the observed similarities rounded down to 0.01, so the chosen threshold
    is a round number that classifies this set exactly as reported.
    """
    candidates = sorted({int(s * 100) / 100 for s in sims})
    rows = [confusion(sims, labels, t) for t in candidates]
    return max(rows, key=lambda r: (round(r["f1"], 9), round(r["youden_j"], 9), r["threshold"]))


def _describe(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return (f"n={len(values)} min={min(values):.3f} q1={q[0]:.3f} median={q[1]:.3f} "
            f"q3={q[2]:.3f} max={max(values):.3f}")


def main(argv: list[str]) -> None:
    pairs = load_pairs(Path(argv[0]) if argv else PAIRS)
    sims = similarities(pairs)
    labels = [bool(p["equivalent"]) for p in pairs]
    best = calibrate(sims, labels)
    print(f"pairs: {len(pairs)} ({sum(labels)} equivalent)")
    print("equivalent     :", _describe([s for s, y in zip(sims, labels, strict=True) if y]))
    print("not equivalent :", _describe([s for s, y in zip(sims, labels, strict=True) if not y]))
    for kind in sorted({p["kind"] for p in pairs}):
        ks = [s for s, p in zip(sims, pairs, strict=True) if p["kind"] == kind]
        print(f"  {kind:<10} n={len(ks):>2} mean={statistics.fmean(ks):.3f} "
              f"min={min(ks):.3f} max={max(ks):.3f}")
    print("best (max F1, then Youden J):", {k: round(v, 3) for k, v in best.items()})
    for t in (0.5, 0.6, 0.65, 0.7, 0.75, 0.8):
        r = confusion(sims, labels, t)
        print(f"  at {t:.2f}: precision={r['precision']:.3f} recall={r['recall']:.3f} "
              f"f1={r['f1']:.3f} J={r['youden_j']:.3f}")
    wrong = [(s, p) for s, p in zip(sims, pairs, strict=True)
             if (s >= best["threshold"]) != bool(p["equivalent"])]
    for s, p in sorted(wrong, key=lambda sp: sp[0]):
        print(f"  misclassified {s:.3f} {p['kind']:<10} eq={p['equivalent']}: {p['b'][:60]}")


if __name__ == "__main__":
    main(sys.argv[1:])
