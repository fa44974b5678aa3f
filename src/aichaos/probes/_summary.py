"""Shared summaries of case results: latency percentiles and failing-case lists."""

from __future__ import annotations

from collections.abc import Sequence

from aichaos._events import CaseResult
from aichaos.results import FailingCase
from aichaos.scoring import percentile


def latency_metrics(results: Sequence[CaseResult]) -> dict[str, float | None]:
    """p50/p95 of E2E latency and TTFT (seconds) over the successful results."""
    e2e = [r.e2e_s for r in results if r.e2e_s is not None and not r.error_class]
    ttft = [r.ttft_s for r in results if r.ttft_s is not None and not r.error_class]
    return {
        "latency_p50_s": percentile(e2e, 50),
        "latency_p95_s": percentile(e2e, 95),
        "ttft_p50_s": percentile(ttft, 50),
        "ttft_p95_s": percentile(ttft, 95),
    }


def reproduce_command(run_id: str, result: CaseResult) -> str:
    """One-line reproduction of a case: re-send the stored input under the same condition."""
    return f"aichaos replay {run_id} --case {result.case_id} --variant {result.variant}"


def failing_cases(run_id: str, results: Sequence[CaseResult], limit: int = 50) -> list[FailingCase]:
    """Failing results (target error or scorer failure), errors first, then lowest score."""
    bad = [r for r in results if r.error_class or r.passed is False]
    bad.sort(key=lambda r: (r.error_class is None, r.score or 0.0))
    out = []
    for r in bad[:limit]:
        reason = f"{r.error_class}: {r.error}" if r.error_class else str(
            r.metadata.get("explanation") or "scorer failed"
        )
        out.append(FailingCase(r.case_id, r.variant, r.input, r.output, reason,
                               reproduce_command(run_id, r)))
    return out
