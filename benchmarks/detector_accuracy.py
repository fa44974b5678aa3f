"""Held-out accuracy of every detector (issue 11, item 4): precision and recall, 95 % Wilson CIs.

Runs each detector exactly as aichaos runs it (``aichaos.scoring._fit.predict``, thresholds
from the shipped ``thresholds.json``) on the frozen HELD-OUT sets in
``tests/data/detectors/heldout/`` and prints, per detector, n, precision and recall with their
95 % Wilson score intervals (``aichaos.scoring.proportion_ci``) against the target (precision
>= 0.90, recall >= 0.85). Only aggregate figures are printed, never an item. Nothing here is
fitted: the thresholds come from the calibration sets (``benchmarks/fit_detectors.py``).

    python benchmarks/detector_accuracy.py [--markdown]
"""

from __future__ import annotations

import sys
from pathlib import Path

from aichaos.scoring import proportion_ci
from aichaos.scoring._fit import KINDS, cached_embeddings, confusion, predict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from tests_support_detectors import load_heldout  # noqa: E402

TARGET_PRECISION, TARGET_RECALL = 0.90, 0.85


def _ci(k: int, n: int) -> str:
    if n == 0:
        return "n/a"
    e = proportion_ci(k, n)
    return f"{e.value:.2f} [{e.low:.2f}, {e.high:.2f}]"


def main(argv: list[str]) -> int:
    markdown = "--markdown" in argv
    if markdown:
        print("| detector | n (true/false) | precision [95 % CI] | recall [95 % CI] | target "
              "| met? |")
        print("|---|---|---|---|---|---|")
    for kind in KINDS:
        items = load_heldout(kind)
        labels = [bool(i["label"]) for i in items]
        with cached_embeddings():
            fired = [predict(kind, i) for i in items]
        c = confusion(labels, fired)
        tp, fp, fn = int(c["tp"]), int(c["fp"]), int(c["fn"])
        met = c["precision"] >= TARGET_PRECISION and c["recall"] >= TARGET_RECALL
        pos = sum(labels)
        verdict = "met" if met else "short"
        if markdown:
            print(f"| {kind} | {len(items)} ({pos}/{len(items) - pos}) | {_ci(tp, tp + fp)} | "
                  f"{_ci(tp, tp + fn)} | P >= 0.90, R >= 0.85 | {verdict} |")
        else:
            print(f"{kind:<14} n={len(items)} ({pos} true) precision {_ci(tp, tp + fp)} "
                  f"recall {_ci(tp, tp + fn)} target P>=0.90 R>=0.85: {verdict} "
                  f"(tp {tp} fp {fp} fn {fn} tn {int(c['tn'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
