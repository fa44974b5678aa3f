"""Statistics behind every verdict: anytime-valid intervals over independent cases.

Public names: :class:`BettingCS`, :class:`Interval`, :func:`betting_interval` (intervals);
:class:`SequentialCheck`, :func:`decide`, :func:`grade_range` (decided/open, firm/range).
"""

from aichaos.stats._confseq import BettingCS, Interval, betting_interval
from aichaos.stats._sequential import Decision, SequentialCheck, band, decide, grade_range

__all__ = [
    "BettingCS",
    "Decision",
    "Interval",
    "SequentialCheck",
    "band",
    "betting_interval",
    "decide",
    "grade_range",
]
