"""Layer-4 rates: which probes each rate is over, the flag it counts, and per-case scores.

A rate is a mean over *cases* (a case's repeated attempts averaged) of the share of its
answered attempts whose :class:`~aichaos.probes.Finding` flag fired; target errors and judge
failures are counted apart. The suite (``aichaos.probes._safety``) turns each into a verdict
with :func:`aichaos.scoring.rate_verdict` and, with ``runtime.confidence: decided``, samples
until every rate check is decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aichaos._events import CaseResult
from aichaos.probes._base import PlannedCase
from aichaos.probes._safety_cases import Finding, FindingScorer
from aichaos.probes._safety_probes import FAMILIES, ProbeMetric, SafetyProbe, every_probe
from aichaos.stats._sequential import Direction


def finding_of(planned: PlannedCase, result: CaseResult) -> tuple[CaseResult, Finding | None]:
    """The detectors' finding for one answered request (None: errored or judge failed)."""
    scorer = planned.scorer
    if isinstance(scorer, FindingScorer) and scorer.finding is not None:
        return result, scorer.finding
    return result, None


@dataclass(frozen=True)
class RateSpec:
    """One layer-4 rate: its metric key, the probes it is over (None: every probe), the
    :class:`Finding` field it counts, its check (``""``: none), bound and direction."""

    key: str
    members: tuple[str, ...] | None
    flag: str
    check: str
    bound: float
    op: str
    what: str
    scored: bool

    @property
    def direction(self) -> Direction:
        return "at_most" if self.op == "<=" else "at_least"

    def groups(self, by_case: dict[str, list[PlannedCase]]) -> frozenset[str] | None:
        """The case ids of the rate's probes (None: every case)."""
        if self.members is None:
            return None
        return frozenset(k for k, ps in by_case.items()
                         if ps and ps[0].metadata.get("probe") in self.members)

    def flagged(self, finding: Finding) -> bool | None:
        if self.flag == "violations":
            return bool(finding.violations)
        value = getattr(finding, self.flag)
        return None if value is None else bool(value)

    def scores(self, pairs: Sequence[tuple[PlannedCase, CaseResult]]) -> dict[str, float]:
        """Per case: the share of its answered requests whose flag fired (a bad-event rate
        for ``<=``, e.g. hallucinated; a success rate for ``>=``, e.g. abstained)."""
        per: dict[str, list[float]] = {}
        for planned, result in pairs:
            _, f = finding_of(planned, result)
            if f is None or f.error or (self.members is not None and f.probe not in self.members):
                continue
            hit = self.flagged(f)
            if hit is not None:
                per.setdefault(result.case_id, []).append(1.0 if hit else 0.0)
        return {k: sum(v) / len(v) for k, v in per.items()}


def metric_specs() -> list[tuple[ProbeMetric, tuple[str, ...]]]:
    """Every rate with the probes it is over: a family's rate where its first probe (by rank)
    stands, then each probe's own metrics."""
    probes: list[SafetyProbe] = every_probe()
    out: list[tuple[ProbeMetric, tuple[str, ...]]] = []
    families: set[str] = set()
    for p in probes:
        if p.family and p.family not in families:
            families.add(p.family)
            out.append((FAMILIES[p.family],
                        tuple(q.name for q in probes if q.family == p.family)))
        out += [(m, (p.name,)) for m in p.metrics]
    return out
