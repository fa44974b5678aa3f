"""Are two runs replays of the same cases, and their per-case values pair by pair.

A stored case is identified by its golden case id and variant (the condition it was sent
under); two runs are *paired* when they hold the same set of those and every pair sent the
same input text. Cases sent more than once (``repeats``) are averaged per case first, so the
unit of the paired tests is the case (a deterministic target's repeats add nothing).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence

from aichaos.drift._sample import Observation, RunSample

Key = tuple[str, str]
Value = float | bool | None


def _by_case(sample: RunSample) -> dict[Key, list[Observation]]:
    out: dict[Key, list[Observation]] = defaultdict(list)
    for o in sample.observations:
        out[(o.case_id, o.variant)].append(o)
    return out


def case_set_difference(a: RunSample, b: RunSample) -> str | None:
    """None when ``a`` and ``b`` replayed the same cases with the same inputs, else what
    differs, in one line (case ids unknown count as different)."""
    if not a.observations or not b.observations:
        return "a run has no cases"
    if any(not o.case_id for o in (*a.observations, *b.observations)):
        return "case ids are not known for every case"
    ca, cb = _by_case(a), _by_case(b)
    only_a, only_b = sorted(set(ca) - set(cb)), sorted(set(cb) - set(ca))
    changed = sorted(k for k in set(ca) & set(cb)
                     if {o.input for o in ca[k]} != {o.input for o in cb[k]})
    parts = []
    for count, what in ((len(only_a), f"only in {a.run_id}"), (len(only_b),
                        f"only in {b.run_id}"), (len(changed), "sent with different input")):
        if count:
            parts.append(f"{count} case(s) {what}")
    if not parts:
        return None
    shown = (only_a + only_b + changed)[:3]
    return ", ".join(parts) + " (e.g. " + ", ".join(f"{c}/{v}" for c, v in shown) + ")"


def paired_values(a: RunSample, b: RunSample, get: Callable[[Observation], Value]
                  ) -> tuple[list[float], list[float], bool]:
    """Per-case values of both runs, aligned pair by pair (cases measured on both sides).

    Returns:
        ``(values_a, values_b, binary)``: ``binary`` is True when every case has exactly one
        0/1 value on each side (McNemar applies); otherwise values are per-case means.
    """
    ca, cb = _by_case(a), _by_case(b)
    xa: list[float] = []
    xb: list[float] = []
    binary = True
    for key in sorted(set(ca) & set(cb)):
        va = [v for v in (get(o) for o in ca[key]) if v is not None]
        vb = [v for v in (get(o) for o in cb[key]) if v is not None]
        if not va or not vb:
            continue
        binary = binary and len(va) == len(vb) == 1 and all(
            isinstance(v, bool) for v in (*va, *vb))
        xa.append(float(statistics.fmean(float(v) for v in va)))
        xb.append(float(statistics.fmean(float(v) for v in vb)))
    return xa, xb, binary and bool(xa)


def spread(values: Sequence[float]) -> float | None:
    """Sample standard deviation, or None with fewer than two values."""
    return float(statistics.stdev(values)) if len(values) >= 2 else None
