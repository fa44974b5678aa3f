"""Layer 6's required rate is the declared peak, never the mean of requests_per_day."""

from __future__ import annotations

import asyncio
from typing import Any

from scale_support import CASES, CapacityTarget, experiment

from aichaos.runner import EventBus, Runner


def _metrics(scale: dict[str, Any]) -> dict[str, Any]:
    outcome = asyncio.run(Runner(experiment(scale), EventBus(), target=CapacityTarget(0.01, 4),
                                 cases=CASES).run())
    return outcome.scorecard.layers[6].metrics


BASE = {"profile": "sweep", "arrival": "constant", "rates_rps": [2], "duration_s": 1.0}


def test_requests_per_day_alone_is_not_a_peak() -> None:
    # 172,800 requests a day is a mean of 2 req/s; the peak is unknown without a factor
    m = _metrics({**BASE, "requests_per_day": 172_800})
    assert m["required_rps_source"] != "requests_per_day / 86400 (mean rate)"
    assert "mean" not in m["required_rps_source"]


def test_peak_factor_scales_requests_per_day() -> None:
    m = _metrics({**BASE, "requests_per_day": 172_800, "peak_factor": 5})
    assert m["required_rps"] == 10.0
    assert m["required_rps_source"] == "requests_per_day / 86400 x peak_factor 5"
