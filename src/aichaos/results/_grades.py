"""Grades: the letter scale every layer and the overall verdict use, as an ordered type.

Scores run 0-100 and map to letter grades on the common US academic scale (A >= 90,
B >= 80, C >= 70, D >= 60, else F). ``"-"`` means *not measured*: it is below every letter,
so a gate (``grade >= bar``) never passes on a layer that measured nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

GRADE_FLOORS: tuple[tuple[float, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))


def grade(score: float | None) -> str:
    """Letter grade for a 0-100 score; ``"-"`` when the score is None (not measured)."""
    if score is None:
        return "-"
    for floor, letter in GRADE_FLOORS:
        if score >= floor:
            return letter
    return "F"


class Grade(StrEnum):
    """A letter grade, ordered best to worst: ``A > B > C > D > F > NOT_MEASURED``.

    Members are strings (``Grade.A == "A"``), so they serialise as their letter. Ordering
    compares by rank, not alphabetically; a plain string is coerced first, and anything that
    is not a grade letter raises ``ValueError``.
    """

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    F = "F"
    NOT_MEASURED = "-"

    @classmethod
    def of(cls, value: float | str | None) -> Grade:
        """The grade of a 0-100 score, a letter (``"b"`` included) or None (not measured).

        Raises:
            ValueError: ``value`` is a string that is not one of ``A B C D F -``.
        """
        if value is None or isinstance(value, int | float):
            return cls(grade(value))
        try:
            return cls(value.strip().upper())
        except ValueError:
            raise ValueError(f"expected a grade A-F (or '-'), got {value!r}") from None

    @property
    def rank(self) -> int:
        """5 for A down to 1 for F; 0 when not measured."""
        return _RANK[self]

    @property
    def measured(self) -> bool:
        return self is not Grade.NOT_MEASURED

    def meets(self, bar: Grade | str) -> bool:
        """Whether this grade is at least ``bar``; never when not measured."""
        return self.measured and self >= Grade.of(bar)

    def _cmp(self, other: Any) -> int:
        return self.rank - Grade.of(other).rank

    def __lt__(self, other: Any) -> bool:  # by rank, not alphabet
        return self._cmp(other) < 0

    def __le__(self, other: Any) -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: Any) -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: Any) -> bool:
        return self._cmp(other) >= 0



_RANK = {Grade.A: 5, Grade.B: 4, Grade.C: 3, Grade.D: 2, Grade.F: 1, Grade.NOT_MEASURED: 0}


@dataclass(frozen=True, slots=True)
class GradeRange:
    """The grades a score's interval spans: firm when both ends fall in one band.

    Attributes:
        low: the grade of the interval's low end (the worse one).
        high: the grade of the interval's high end.
    """

    low: Grade
    high: Grade

    @classmethod
    def of(cls, low_score: float, high_score: float) -> GradeRange:
        """The range of grades between two 0-100 scores (either order)."""
        a, b = Grade.of(low_score), Grade.of(high_score)
        return cls(min(a, b), max(a, b))

    @property
    def firm(self) -> bool:
        return self.low == self.high

    def __str__(self) -> str:
        """``"B"`` when firm, else best–worst, e.g. ``"B–D"``."""
        return str(self.low.value) if self.firm else f"{self.high.value}–{self.low.value}"
