"""Layer 2 against a canned-apology bot (victim) and a bot that answers (twin), on loopback.

Issue 12, item 6: invariance must count only answers that keep a *correct* clean answer. The
victim repeats one apology, so every perturbed answer is identical to its clean answer; that
is consistency, not resilience, and it must score low for that reason. The twin answers every
question right under the same perturbations and must score higher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.runner import EventBus, Runner
from scenarios.resilience.apology_apps import ANSWERS, App, start

CASES = [
    Case(id="refund", input="How long does a refund take?", expected=["5 business days"]),
    Case(id="password", input="How do I reset my password?", expected=["forgot password"]),
    Case(id="return", input="What is the return window?", expected=["30 days"]),
    Case(id="shipping", input="How long does shipping take?", expected=["3 to 5"]),
    Case(id="warranty", input="Is there a warranty on devices?", expected=["1-year"]),
    Case(id="cancel", input="Can I cancel my order?", expected=["60 minutes"]),
]
PERTURBATIONS = ["casing", "whitespace_noise", "zero_width", "format_json", "empty"]


@pytest.fixture(params=[False, True], ids=["victim", "twin"])
def app(request: pytest.FixtureRequest) -> Iterator[App]:
    server = start(fixed=request.param)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def run(url: str) -> Any:
    experiment = parse_experiment({
        "title": "canned apology",
        "target": {"type": "http", "url": url, "body": {"input": "{{ input }}"},
                   "answer_path": "$.output", "timeout_s": 5},
        "steady-state-hypothesis": None,  # layer 2's own requests only
        "layers": {"capability": {"enabled": False},
                   "input_resilience": {"perturbations": PERTURBATIONS, "severity": [1, 2],
                                        "limit": None, "health_after": False}},
        "runtime": {"seed": 42, "concurrency": 2},
    })
    return asyncio.run(Runner(experiment, EventBus(), cases=CASES).run())


def test_canned_apology_is_not_invariant(app: App) -> None:
    assert len(ANSWERS) == len(CASES)
    layer = run(app.url).scorecard.layers[2]
    m = layer.metrics
    checks = {c.name: c for c in layer.checks}
    inv = checks["input_resilience.invariance"]
    # 6 cases x (2 clean + 5 perturbations x 2 severities) requests, all answered
    assert app.requests == 6 * 12 and m["perturbed_requests"] == 60
    assert layer.interval is not None and layer.interval.n == 6  # cases, not 60 requests
    assert layer.case_scores is not None and len(layer.case_scores) == 6
    print(f"\n{'twin' if app.fixed else 'victim'}: score {layer.score}, interval "
          f"{layer.interval.low:.1f}-{layer.interval.high:.1f} ({layer.grade_range}), "
          f"to clean {m['invariance_to_clean_rate']:.2f}, to correct "
          f"{m['invariance_to_correct_rate']:.2f}, noise floor {m['noise_floor']}")
    assert m["noise_floor"] == 0.0  # both bots are deterministic
    if not app.fixed:
        # what the old rule scored: every answer identical to the clean one
        assert m["invariance_to_clean_rate"] == 1.0
        # only the empty rows (a polite refusal is a right reply to an empty message) count
        assert m["invariance_to_correct_rate"] == pytest.approx(0.2)
        assert all(v == pytest.approx(0.2) for v in layer.case_scores.values())
        assert layer.score == 20.0 and layer.grade == "F"
        assert inv.passed is False and inv.decided is True and inv.interval is not None
        assert inv.interval.high < 0.8  # decided: the whole interval is below the bar
        assert m["clean_accuracy"] == 0.0
        assert layer.failing and all("no correct answer to keep" in f.reason
                                     for f in layer.failing)
    else:
        assert m["invariance_to_clean_rate"] == 1.0 and m["invariance_to_correct_rate"] == 1.0
        assert layer.score == 100.0 and inv.passed is True
        # six perfect cases bound it above the victim's whole score; not yet decided at 0.8
        assert layer.interval.low > 40.0 and inv.decided is False
        assert not layer.failing
