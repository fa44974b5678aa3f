"""Statistics behind every verdict: anytime-valid intervals over independent cases.

Public names: :class:`BettingCS`, :class:`Interval`, :func:`betting_interval` (intervals);
:class:`SequentialCheck`, :func:`decide`, :func:`grade_range` (decided/open, firm/range);
:func:`step_trend`, :func:`calibrate`, :func:`duration_for_power` (load-step overload, power).
"""

from aichaos.stats._confseq import BettingCS, Interval, betting_interval
from aichaos.stats._overload import StepTrend, calibrate, duration_for_power, step_trend
from aichaos.stats._sequential import Decision, SequentialCheck, band, decide, grade_range

__all__ = [
    "BettingCS",
    "Decision",
    "Interval",
    "SequentialCheck",
    "StepTrend",
    "band",
    "betting_interval",
    "calibrate",
    "decide",
    "duration_for_power",
    "grade_range",
    "step_trend",
]
