"""Security controls: an app that accepts expired and other-tenant credentials and echoes a
wrong key with a stack trace is flagged for each; the strict twin passes. Credentials never
reach the report (they are masked before the observation is recorded)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from system_apps import AuthApp

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.results import Check, LayerResult
from aichaos.runner import EventBus, Runner

CASES = [Case(id="c1", input="Where is my invoice?", expected=["invoice"])]
WRONG = "sk-wrong-never-issued-9"


def run(strict: bool, tmp_log: Any, **auth: Any) -> tuple[LayerResult, dict[str, Any]]:
    async def main() -> tuple[LayerResult, dict[str, Any]]:
        app = AuthApp(strict=strict)
        await app.start()
        try:
            exp = parse_experiment({
                "title": "auth", "steady-state-hypothesis": None,
                "target": {"type": "http", "url": app.url + "/", "timeout_s": 5,
                           "headers": {"X-Tenant": "acme"},
                           "api_key": "sk-acme-valid-0001"},
                "layers": {"capability": None, "safety": {
                    "probes": ["pii_logs"], "log_file": str(tmp_log), "limit": 1}},
                "system": {"auth": auth or {
                    "valid": "sk-acme-valid-0001", "wrong": WRONG,
                    "expired": "sk-acme-expired-0002", "other_tenant": "sk-globex-valid-0003"}},
                "runtime": {"seed": 5}})
            outcome = await Runner(exp, EventBus(), cases=CASES).run()
            return outcome.scorecard.layers[4], outcome.journal
        finally:
            await app.stop()

    return asyncio.run(main())


def checks(layer: LayerResult) -> dict[str, Check]:
    prefix = "safety.system.auth."
    return {c.name.removeprefix(prefix): c for c in layer.checks if c.name.startswith(prefix)}


@pytest.mark.parametrize("strict", [False, True], ids=["victim", "twin"])
def test_wrong_expired_and_other_tenant_credentials_are_refused(tmp_path: Any,
                                                                strict: bool) -> None:
    log = tmp_path / "app.log"
    log.write_text("", encoding="utf-8")
    layer, journal = run(strict, log)
    c = checks(layer)
    assert set(c) == {"none", "wrong", "expired", "other_tenant", "error_body"}
    assert c["none"].passed and c["wrong"].passed  # both refuse these (401)
    if strict:
        assert all(x.passed for x in c.values()), [x.message for x in c.values()]
        assert c["other_tenant"].message == "other tenant credential refused (HTTP 403)"
    else:
        assert not c["expired"].passed and not c["other_tenant"].passed
        assert c["expired"].message == ("expired credential accepted: HTTP 200 with an answer "
                                        "instead of 401/403")
        assert not c["error_body"].passed and c["error_body"].value == 1
        assert "wrong: credential, stack trace" in c["error_body"].message
        assert layer.score is not None and layer.score <= 50
    # no declared credential anywhere in what aichaos reports
    text = json.dumps(journal, default=str) + json.dumps(
        [(f.reason, f.output, f.input) for f in layer.failing]) + json.dumps(
        [x.message for x in layer.checks])
    for secret in (WRONG, "sk-acme-expired-0002", "sk-globex-valid-0003"):
        assert secret not in text


def test_valid_credential_refused_means_not_measured(tmp_path: Any) -> None:
    log = tmp_path / "app.log"
    log.write_text("", encoding="utf-8")
    layer, _ = run(True, log, valid="sk-not-a-key", wrong=WRONG)
    c = checks(layer)
    assert set(c) == {"none", "wrong"}
    for x in c.values():
        assert not x.passed and x.not_measured is not None
        assert "the valid credential was not accepted (HTTP 401" in x.not_measured
