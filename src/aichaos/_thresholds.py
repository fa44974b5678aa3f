"""Fitted detector thresholds, read from ``aichaos/scoring/thresholds.json``.

``benchmarks/fit_detectors.py`` is the only writer of that file: it chooses each threshold on
the calibration sets in ``tests/data/detectors/calibration/`` (never on the held-out sets) and
``tests/safety/test_detector_fit.py`` re-runs the fit and checks it reproduces the file.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

THRESHOLDS_PATH = Path(__file__).resolve().parent / "scoring" / "thresholds.json"

#: The keys the file must hold (each a number).
KEYS = ("hallucination_support", "equivalence_cosine", "leak_ngram")


@functools.lru_cache(maxsize=1)
def thresholds() -> dict[str, float]:
    """The shipped thresholds, ``{name: value}`` for every name in :data:`KEYS`.

    Raises:
        RuntimeError: the file is missing, not JSON, or lacks a key.
    """
    try:
        doc = json.loads(THRESHOLDS_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{THRESHOLDS_PATH}: cannot read fitted thresholds ({exc})") from exc
    values = doc.get("thresholds", {}) if isinstance(doc, dict) else {}
    missing = [k for k in KEYS if not isinstance(values.get(k), (int, float))]
    if missing:
        raise RuntimeError(f"{THRESHOLDS_PATH}: missing threshold(s) {', '.join(missing)}")
    return {k: float(values[k]) for k in KEYS}


def threshold(name: str) -> float:
    """One fitted threshold by name (see :data:`KEYS`)."""
    return thresholds()[name]
