"""``aichaos demo``'s own exit code: did the demo show what it exists to show?

The naive profile failing its checks is the point of the demo, so the demo does not exit 1
because a profile's hypothesis or checks failed. It exits 0 when every profile it ran
*completed* (journal status ``completed``) and, with both profiles, the hardened one scores at
least the naive one on every layer the naive one measured (a layer hardened did not measure
counts as worse); else 1. An interrupted profile makes it 130.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aichaos.results import LAYERS

if TYPE_CHECKING:
    from aichaos.demo._run import DemoResult


@dataclass(frozen=True, slots=True)
class DemoVerdict:
    """The demo's exit code and one line per reason it is not 0."""

    code: int
    reasons: list[str] = field(default_factory=list)


def demo_verdict(runs: Sequence[DemoResult], profiles: Sequence[str]) -> DemoVerdict:
    """Judge a demo run (module docstring).

    Args:
        runs: the profiles' results, in the order they ran (fewer than asked for when one
            was interrupted).
        profiles: the profiles that were asked for.

    Returns:
        code 0, 1 or 130, and the reasons for a non-zero code.
    """
    statuses = {r.profile: r.outcome.journal.get("status") for r in runs}
    if "interrupted" in statuses.values():
        return DemoVerdict(130, ["interrupted"])
    reasons = [f"profile {p} did not run" for p in profiles if p not in statuses]
    reasons += [f"profile {p} did not complete (status {s})" for p, s in statuses.items()
                if s != "completed"]
    cards = {r.profile: r.outcome.scorecard for r in runs}
    if "naive" in cards and "hardened" in cards:
        naive, hardened = cards["naive"], cards["hardened"]
        for number in sorted(LAYERS):
            before = naive.layers[number].score
            after = hardened.layers[number].score
            if before is None:
                continue
            key = LAYERS[number][0]
            if after is None:
                reasons.append(f"layer {key}: hardened not measured, naive {before:.1f}")
            elif after < before:
                reasons.append(f"layer {key}: hardened {after:.1f} below naive {before:.1f}")
    return DemoVerdict(1 if reasons else 0, reasons)
