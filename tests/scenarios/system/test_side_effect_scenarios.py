"""Side effects and idempotency: a refund retried after its response was dropped (the payment
API had already refunded) is flagged when it carries no idempotency key, and passes when it
does. The duplicate count at the chaos proxy is checked against the refunds the payments API
really made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from system_apps import Payments, RefundApp

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import Check, LayerResult
from aichaos.runner import EventBus, Runner

CASES = [Case(id="c1", input="refund order 7", expected=["Refund"])]
INPUTS = ["Please refund order 1042", "Refund order 2077, it arrived broken"]


def experiment(app_url: str, payments_url: str, port: int, **system: Any) -> Any:
    return parse_experiment({
        "title": "refund scenario", "steady-state-hypothesis": None,
        "target": {"type": "http", "url": app_url + "/", "timeout_s": 5},
        "dependencies": {"payments": {"upstream": payments_url,
                                      "listen": f"127.0.0.1:{port}"}},
        "layers": {"capability": None,
                   "integration": {"toxics": [{"dependency": "payments", "type": "latency",
                                               "attributes": {"latency": 1}}],
                                   "limit": 1, "recovery_timeout_s": 1}},
        "system": system or {"side_effects": [{"dependency": "payments", "inputs": INPUTS,
                                               "match_path": "/refunds"}]},
        "runtime": {"seed": 5},
    })


def run(idempotent: bool, **system: Any) -> tuple[LayerResult, Payments]:
    async def main() -> tuple[LayerResult, Payments]:
        payments = Payments()
        await payments.start()
        port = free_port()
        app = RefundApp(f"http://127.0.0.1:{port}", idempotent=idempotent)
        await app.start()
        try:
            exp = experiment(app.url, payments.url, port, **system)
            outcome = await Runner(exp, EventBus(), cases=CASES).run()
            return outcome.scorecard.layers[3], payments
        finally:
            await app.stop()
            await payments.stop()

    return asyncio.run(main())


def check(layer: LayerResult, name: str) -> Check:
    return next(c for c in layer.checks if c.name == name)


@pytest.mark.parametrize("idempotent", [False, True], ids=["victim", "twin"])
def test_retried_refund_without_idempotency_key_refunds_twice(idempotent: bool) -> None:
    layer, payments = run(idempotent)
    c = check(layer, "integration.system.idempotency.payments")
    figures = layer.metrics["system"]["side_effects"]["payments"]
    assert c.not_measured is None and figures["fired"] == 2
    # what really happened at the payments API: the victim refunded each order twice
    orders = [r["order"] for r in payments.refunds if r["order"] in (1042, 2077)]
    if not idempotent:
        assert sorted(orders) == [1042, 1042, 2077, 2077]
        assert not c.passed and c.value == 2
        assert "2 duplicate non-idempotent calls to 'payments' (same body, no " \
               "Idempotency-Key) after 2 dropped responses" in c.message
        reasons = [f.reason for f in layer.failing if f.variant == "system.side_effect.payments"]
        assert len(reasons) == 2 and all("duplicate side effect: 2 identical calls" in r
                                         for r in reasons)
        assert layer.score is not None and layer.score <= 50
    else:
        assert sorted(orders) == [1042, 2077]
        assert c.passed and c.value == 0, c.message
        assert figures["keyed_retries"] == 2 and "(2 retries carried Idempotency-Key)" in \
            c.message
        assert layer.score is not None and layer.score > 50


def test_no_side_effect_declared_or_reached_is_not_measured() -> None:
    layer, _ = run(False, users={"a": {"headers": {"X-User": "a"}},
                                 "b": {"headers": {"X-User": "b"}}})
    c = check(layer, "integration.system.idempotency")
    assert not c.passed and c.value is None
    assert c.not_measured == "no side-effecting dependency declared (system.side_effects)"
    layer, payments = run(False, side_effects=[{"dependency": "payments", "inputs": INPUTS,
                                                "match_path": "/charges"}])
    c = check(layer, "integration.system.idempotency.payments")
    assert not c.passed and c.not_measured is not None
    assert "never fired" in c.not_measured and "POST /charges" in c.not_measured
    assert len(payments.refunds) >= 2  # the refunds happened, on a path not declared
