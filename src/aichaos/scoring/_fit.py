"""Run the detectors on labelled sets and fit their thresholds (calibration data only).

A labelled file is ``{kind, items: [...]}`` with the fields of
``tests/data/detectors/README.md``. :func:`predict` applies one detector to one item the way
aichaos applies it in a run; :func:`fit` chooses every tunable threshold on the calibration
files by sweeping a grid and keeping the value with the best F1 of the positive class, ties
broken by Youden's J (Youden 1950), then by the value nearest the grid's middle, then the
lower value. ``benchmarks/fit_detectors.py`` writes the result to ``thresholds.json``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

KINDS = ("hallucination", "abstention", "clarification", "injection", "leak", "equivalence")

#: grids swept per threshold (name -> (kind it is judged on, candidate values))
GRIDS: dict[str, tuple[str, tuple[float, ...]]] = {
    "hallucination_support": ("hallucination", tuple(round(0.2 + 0.02 * i, 2)
                                                     for i in range(26))),
    "equivalence_cosine": ("equivalence", tuple(round(0.4 + 0.02 * i, 2) for i in range(26))),
    "leak_ngram": ("leak", tuple(float(n) for n in range(4, 16))),
}


def load_items(path: Path) -> list[dict[str, Any]]:
    """The ``items`` of one labelled YAML file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(doc["items"])


def predict(kind: str, item: Mapping[str, Any], values: Mapping[str, float] | None = None) -> bool:
    """Whether the ``kind`` detector fires on ``item`` (thresholds from ``values`` or the
    shipped file)."""
    from aichaos.perturb._clarify import is_clarification
    from aichaos.scoring._equivalence import answers_equivalent
    from aichaos.scoring._safety import (
        detect_abstention,
        detect_hallucination,
        detect_injection,
        detect_leak,
    )

    v = dict(values or {})
    response = str(item["response"])
    if kind == "hallucination":
        hal = detect_hallucination(response, item["context"], question=item["question"] or "",
                                   threshold=v.get("hallucination_support"))
        return hal.fired and not detect_abstention(response).fired
    if kind == "abstention":
        return detect_abstention(response).fired
    if kind == "clarification":
        return is_clarification(response, include_refusal=False)
    if kind == "injection":
        canary = item["canary"]
        return detect_injection(response, [canary] if canary else [], json_markers=(),
                                demanded_behaviour=item["demanded_behaviour"] or "",
                                attack=item["attack"]).fired
    if kind == "leak":
        ngram = v.get("leak_ngram")
        return detect_leak(response, question=item["user_message"], canaries=item["canaries"],
                           system_prompt=item["system_prompt"],
                           ngram=None if ngram is None else int(ngram)).fired
    if kind == "equivalence":
        return answers_equivalent(item["reference"], response,
                                  threshold=v.get("equivalence_cosine")).equivalent
    raise ValueError(f"unknown detector kind {kind!r}; expected one of {', '.join(KINDS)}")


def confusion(labels: Sequence[bool], fired: Sequence[bool]) -> dict[str, float]:
    """tp, fp, fn, tn, precision, recall, F1 and Youden's J of ``fired`` against ``labels``."""
    tp = sum(1 for y, f in zip(labels, fired, strict=True) if y and f)
    fp = sum(1 for y, f in zip(labels, fired, strict=True) if not y and f)
    fn = sum(1 for y, f in zip(labels, fired, strict=True) if y and not f)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    spec = tn / (tn + fp) if tn + fp else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": precision, "recall": recall,
            "f1": f1, "youden_j": recall + spec - 1}


def sweep(items: Sequence[Mapping[str, Any]], kind: str, name: str,
          grid: Sequence[float]) -> tuple[float, dict[str, float]]:
    """The best grid value for threshold ``name`` on ``items`` and its confusion figures."""
    labels = [bool(i["label"]) for i in items]
    middle = grid[len(grid) // 2]
    rows = []
    for value in grid:
        fired = [predict(kind, i, {name: value}) for i in items]
        rows.append((value, confusion(labels, fired)))
    value, row = max(rows, key=lambda r: (round(r[1]["f1"], 9), round(r[1]["youden_j"], 9),
                                          -abs(r[0] - middle), -r[0]))
    return value, row


def fit(calibration_dir: Path, progress: Callable[[str], None] | None = None
        ) -> dict[str, float]:
    """Every threshold of :data:`GRIDS`, fitted on ``calibration_dir/<kind>.yaml``."""
    out: dict[str, float] = {}
    with cached_embeddings():
        for name, (kind, grid) in GRIDS.items():
            value, row = sweep(load_items(calibration_dir / f"{kind}.yaml"), kind, name, grid)
            out[name] = value
            if progress:
                progress(f"{name} = {value:g} on {kind} calibration: precision "
                         f"{row['precision']:.3f} recall {row['recall']:.3f} F1 {row['f1']:.3f}")
    return out


@functools.lru_cache(maxsize=50000)
def _embed_one(text: str) -> Any:
    from aichaos.scoring._semantic import embed

    return embed([text])[0]


class cached_embeddings:
    """Memoise sentence embeddings while sweeping (the same sentences are embedded per grid
    value); restores the plain function on exit."""

    def __enter__(self) -> None:
        import numpy as np

        from aichaos.scoring import _equivalence, _grounding

        self._saved = (getattr(_grounding, "embed"), getattr(_equivalence, "embed"))  # noqa: B009

        def embed(texts: list[str]) -> Any:
            return np.stack([_embed_one(t) for t in texts])

        setattr(_grounding, "embed", embed)  # noqa: B010
        setattr(_equivalence, "embed", embed)  # noqa: B010

    def __exit__(self, *exc: object) -> None:
        from aichaos.scoring import _equivalence, _grounding

        setattr(_grounding, "embed", self._saved[0])  # noqa: B010
        setattr(_equivalence, "embed", self._saved[1])  # noqa: B010
