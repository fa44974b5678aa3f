"""The steady-state hypothesis: a small sample of golden cases checked against the SLOs."""

from __future__ import annotations

from typing import Any

from aichaos.config import SteadyStateHypothesis
from aichaos.probes import SuiteContext
from aichaos.runner._journal import ActivityRecord
from aichaos.scoring import build_scorer, percentile


async def check_hypothesis(
    ctx: SuiteContext, hypothesis: SteadyStateHypothesis, when: str
) -> dict[str, Any]:
    """Send ``hypothesis.sample`` golden cases and compare the SLOs with their tolerances.

    Returns the Chaos Toolkit steady-state record ``{steady_state_met, probes: [...]}``; each
    probe record carries the measured ``output``, its ``tolerance`` and ``tolerance_met``.
    SLO figures: ``success_rate`` = share of requests without error; ``latency_p95_s`` and
    ``ttft_p95_s`` = 95th percentile over successful requests (s); ``answer_score`` = mean
    scorer value with errors counted as 0.
    """
    capability = ctx.experiment.layers.capability
    scorer = build_scorer(capability.scorer) if capability else None
    sample = ctx.cases[: hypothesis.sample]
    started = {name: ActivityRecord("probe", name, tolerance=tol.model_dump(exclude_none=True))
               for name, tol in hypothesis.slos if tol is not None}
    results = await ctx.send_all(
        [ctx.plan(c) for c in sample], layer=0, suite=f"steady_state.{when}", scorer=scorer,
    )
    n = len(results)
    ok = [r for r in results if not r.error_class]
    measured: dict[str, float | None] = {
        "success_rate": len(ok) / n if n else None,
        "latency_p95_s": percentile([r.e2e_s for r in ok if r.e2e_s is not None], 95),
        "ttft_p95_s": percentile([r.ttft_s for r in ok if r.ttft_s is not None], 95),
        "answer_score": (sum(r.score or 0.0 for r in results) / n) if n and scorer else None,
    }
    probes = []
    met = True
    for name, tolerance in hypothesis.slos:
        if tolerance is None:
            continue
        value = measured[name]
        holds = tolerance.holds(value)
        met = met and holds
        probe = started[name].finish("succeeded", output=value)
        probe["tolerance_met"] = holds
        probes.append(probe)
    return {"steady_state_met": met, "probes": probes, "sample": n,
            "reason": None if met else _reason(probes, results)}


def _reason(probes: list[dict[str, Any]], results: list[Any]) -> str:
    """One line saying which SLOs missed and, when requests failed, the first error seen."""
    missed = [f"{p['activity']['name']} {_fmt(p['output'])} not "
              f"{_bound(p['activity']['tolerance'])}" for p in probes if not p["tolerance_met"]]
    errors = [r for r in results if r.error_class]
    if errors:
        first = errors[0]
        missed.append(f"{len(errors)}/{len(results)} requests failed, first: "
                      f"{first.error_class}: {first.error}")
    return "; ".join(missed)


def _fmt(value: Any) -> str:
    return "unmeasured" if value is None else f"{value:.3g}"


def _bound(tolerance: dict[str, float]) -> str:
    return " and ".join(f"{'>=' if k == 'min' else '<='} {v:g}" for k, v in tolerance.items())
