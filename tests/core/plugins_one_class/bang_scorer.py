"""A scorer plugin: one class."""

from __future__ import annotations

from aichaos.dataset import Case
from aichaos.scoring import Score, Scorer, expected_list, scorers


@scorers.register("shouted", summary="answer contains an expected fragment in capitals", layer=1)
class ShoutedScorer(Scorer):
    """1.0 when the answer contains an expected fragment written in capitals."""

    name = "shouted"

    def __init__(self, min_length: int = 1) -> None:
        self.min_length = min_length

    def score(self, output: str, case: Case) -> Score:
        hits = [e for e in expected_list(case) if len(e) >= self.min_length
                and e.upper() in output]
        return Score(1.0 if hits else 0.0, bool(hits), f"shouted {hits[0]!r}" if hits
                     else "no expected fragment in capitals")
