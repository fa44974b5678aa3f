"""Fixtures shared by the renderer tests: a real Scorecard and a Chaos Toolkit journal."""

from __future__ import annotations

from typing import Any

import pytest

from aichaos.results import Check, FailingCase, LayerResult, Scorecard

HOSTILE_OUTPUT = "<script>alert('x')</script> [bold]not markup[/bold] | pipe"


def build_scorecard() -> Scorecard:
    """Two measured layers (capability passes, integration fails one check), four unmeasured."""
    card = Scorecard()
    card.set(
        LayerResult(
            layer=1,
            score=92.0,
            metrics={"accuracy": 0.92, "accuracy_ci_low": 0.85, "cases": 50},
            checks=[Check("capability.accuracy", True, 0.92, ">= 0.7", "ratio", "46/50 correct")],
            details={"scores": [0.1, 0.5, 0.9, 1.0, 1.0, 0.95, 0.7]},
        )
    )
    card.set(
        LayerResult(
            layer=3,
            score=55.0,
            metrics={"success_rate": 0.6, "retry_amplification": 3.2, "recovery_s": 4.5},
            checks=[
                Check("integration.timeout_adherence", True, 1.0, ">= 0.95", "ratio"),
                Check(
                    "integration.success_rate",
                    False,
                    0.6,
                    ">= 0.9",
                    "ratio",
                    "2 of 5 requests failed under rate_limit",
                    cases=["refund-007", "refund-012"],
                ),
            ],
            failing=[
                FailingCase(
                    case_id="refund-007",
                    variant="rate_limit@llm_provider",
                    input="How do I get a refund?",
                    output=HOSTILE_OUTPUT,
                    reason="answered with an error page instead of a fallback",
                    reproduce="aichaos replay run-42 refund-007",
                ),
                FailingCase(
                    case_id="refund-012",
                    variant="rate_limit@llm_provider",
                    input="refund status?",
                    output="",
                    reason="hang: no answer within 30 s",
                    reproduce="aichaos replay run-42 refund-012",
                ),
            ],
            details={
                "faults": [
                    {"toxic": "rate_limit", "outcomes": {"correct": 3, "error": 2}},
                    {"toxic": "stream_cut", "outcomes": {"fallback": 4, "crash": 1}},
                ]
            },
        )
    )
    card.layers[5].note = "not measured: no OTLP endpoint configured"
    return card


def build_journal() -> dict[str, Any]:
    probe = {
        "activity": {"type": "probe", "name": "success-rate"},
        "status": "succeeded",
        "tolerance_met": True,
        "start": "2025-01-01T10:00:00.100000",
        "end": "2025-01-01T10:00:01.100000",
        "duration": 1.0,
    }
    return {
        "title": "Support bot survives provider trouble",
        "run_id": "run-42",
        "start": "2025-01-01T10:00:00",
        "end": "2025-01-01T10:00:10",
        "duration": 10.0,
        "status": "completed",
        "deviated": True,
        "experiment": {"title": "Support bot", "target": {"type": "openai", "model": "bot"}},
        "steady_states": {
            "before": {"steady_state_met": True, "probes": [probe]},
            "after": {
                "steady_state_met": False,
                "probes": [{**probe, "tolerance_met": False, "start": "2025-01-01T10:00:08"}],
            },
        },
        "run": [
            {
                "activity": {"type": "action", "name": "apply toxic rate_limit"},
                "status": "succeeded",
                "start": "2025-01-01T10:00:01.500000",
                "end": "2025-01-01T10:00:01.600000",
                "duration": 0.1,
            },
            {
                "activity": {"type": "probe", "name": "integration suite"},
                "status": "failed",
                "start": "2025-01-01T10:00:02",
                "end": "2025-01-01T10:00:07",
                "duration": 5.0,
                "exception": ["Traceback ...", "TimeoutError: <b>30 s</b>"],
            },
        ],
        "rollbacks": [
            {
                "activity": {"type": "action", "name": "remove toxics"},
                "status": "succeeded",
                "start": "2025-01-01T10:00:09",
                "duration": 0.05,
            }
        ],
    }


@pytest.fixture
def scorecard() -> dict[str, Any]:
    return build_scorecard().to_dict()


@pytest.fixture
def journal() -> dict[str, Any]:
    return build_journal()


@pytest.fixture
def hostile_output() -> str:
    return HOSTILE_OUTPUT
