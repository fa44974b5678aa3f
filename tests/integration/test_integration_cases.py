"""Layer 3 counts cases: an interval per toxic and for the layer, and a CRM fault that meets
the cases that need the CRM (toxic ``tags``), against a real app behind the chaos proxy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from chaos_apps import FALLBACK, App, Ctx, LLMUpstream, chat

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.errors import ConfigError
from aichaos.runner import CaseObserved, EventBus, Runner
from tests_support import write

CASES = [
    Case(id="c1", input="question 1", expected=["answer 1"], tags=["policy"]),
    Case(id="c2", input="question 2", expected=["answer 2"], tags=["policy"]),
    Case(id="o3", input="order question 3", expected=["answer 3"], tags=["order-status"]),
    Case(id="o4", input="order question 4", expected=["answer 4"], tags=["order-status"]),
]
DEPS = ("llm_provider", "crm")


async def support(ctx: Ctx, q: str) -> str:
    """Order questions look the order up in the CRM first (a fallback when it fails)."""
    if "order" in q:
        try:
            await chat(ctx, q, dep="crm")
        except Exception:
            return FALLBACK
    try:
        doc = await chat(ctx, q)
    except Exception:
        return FALLBACK
    return str(doc["choices"][0]["message"]["content"])


async def run(toxics: list[dict[str, Any]], **layer: Any) -> tuple[Any, list[Any]]:
    upstream = LLMUpstream()
    await upstream.start()
    ports = {d: free_port() for d in DEPS}
    app = App(support, {d: f"http://127.0.0.1:{p}" for d, p in ports.items()}, fixed=True)
    await app.start()
    bus = EventBus()
    seen: list[Any] = []
    bus.subscribe(CaseObserved, lambda e: seen.append(e.result))
    try:
        exp = parse_experiment({
            "title": "cases", "target": {"type": "http", "url": app.url, "timeout_s": 10},
            "dependencies": {d: {"upstream": upstream.url, "listen": f"127.0.0.1:{p}"}
                             for d, p in ports.items()},
            "steady-state-hypothesis": None,
            "layers": {"capability": None, "integration": {
                "toxics": toxics, "timeout_s": 2, "recovery_timeout_s": 0.5, "limit": 2,
                **layer}},
            "runtime": {"seed": 3},
        })
        return await Runner(exp, bus, cases=CASES).run(), seen
    finally:
        await app.stop()
        await upstream.stop()


CRM = {"dependency": "crm", "type": "http_error", "name": "crm-500",
       "attributes": {"status": 500}}
LLM = {"dependency": "llm_provider", "type": "latency", "name": "slow",
       "attributes": {"latency": 20}}


async def test_a_crm_fault_on_questions_that_never_call_the_crm_is_not_measured() -> None:
    # the demo's defect in miniature: the first `limit` cases never need the CRM
    outcome, _ = await run([LLM, CRM])
    layer = outcome.scorecard.layers[3]
    crm = layer.metrics["per_toxic"]["crm-500"]
    assert crm["fired"] == 0 and crm["upstream_calls"] == 0 and crm["exercised"] is False
    check = {c.name: c for c in layer.checks}["integration.crm-500.exercised"]
    assert check.passed is False and check.not_measured is not None
    assert "never fired" in check.not_measured and "tags" in check.not_measured


async def test_tags_send_the_cases_that_need_the_crm_under_the_crm_fault() -> None:
    outcome, seen = await run([LLM, {**CRM, "tags": ["order-status"]}])
    layer = outcome.scorecard.layers[3]
    rows = layer.metrics["per_toxic"]
    crm, slow = rows["crm-500"], rows["slow"]
    assert crm["fired"] == 2 and crm["upstream_calls"] == 2 and crm["exercised"] is True
    assert set(crm["case_scores"]) == {"o3", "o4"} and set(slow["case_scores"]) == {"c1", "c2"}
    assert crm["outcomes"]["fallback"] == 2 and crm["success_rate"] == 1.0
    # the control group covers every case some toxic uses, so each toxic has its baseline
    assert sorted(r.case_id for r in seen if r.variant == "control") == ["c1", "c2", "o3", "o4"]
    assert crm["control_calls_per_request"] == 1.0 and crm["retry_amplification"] == 1.0

    # intervals: per toxic over its 2 cases, the layer over 4 distinct cases
    checks = {c.name: c for c in layer.checks}
    sr = checks["integration.crm-500.success_rate"]
    assert sr.interval is not None and sr.interval.n == 2 and sr.interval.method == "betting-cs"
    assert sr.decided is False and sr.interval.high == 1.0 and sr.interval.low < 0.9
    assert (crm["ci_low"], crm["ci_high"], crm["cases"]) == (sr.interval.low, 1.0, 2)
    assert layer.interval is not None and layer.interval.n == 4
    assert layer.interval.method == "betting-cs, Bonferroni mean over toxics"
    assert layer.interval.low < layer.score == 100.0 == layer.interval.high
    assert layer.case_scores == {"c1": 1.0, "c2": 1.0, "o3": 1.0, "o4": 1.0}
    assert not layer.grade_range.firm  # 2 cases per toxic cannot make a grade firm
    overall = checks["integration.success_rate"]
    assert overall.interval is not None and overall.interval.n == 4 and overall.decided is False
    assert "only 4 independent cases" in layer.note
    rec = checks["integration.crm-500.recovered"]
    assert rec.interval is not None and rec.interval.method == "exact" and rec.decided is True
    assert checks["integration.rollback"].interval.method == "exact"  # type: ignore[union-attr]


async def test_one_toxic_gives_the_layer_its_own_interval() -> None:
    outcome, seen = await run([{**CRM, "tags": ["order-status"]}], limit=None)
    row = outcome.scorecard.layers[3].metrics["per_toxic"]["crm-500"]
    assert row["cases"] == 2  # only two cases carry the tag: limit None takes them all
    assert sorted(r.case_id for r in seen if r.variant == "control") == ["o3", "o4"]
    # Bonferroni over k = 1 is the toxic's own 95 % interval
    layer = outcome.scorecard.layers[3]
    assert layer.interval is not None and layer.interval.n == 2
    assert layer.interval.low == pytest.approx(row["score_ci_low"])
    assert row["ci_low"] * 100 == pytest.approx(row["score_ci_low"])  # no penalty


async def test_tags_no_case_carries_are_a_config_error_before_anything_is_sent() -> None:
    with pytest.raises(ConfigError, match=re.escape(
            "layers.integration.toxics[1].tags: no case of the dataset has tag 'billing'; "
            "nothing would be sent under this toxic")):
        await run([LLM, {**CRM, "tags": ["billing"]}])


def test_validate_names_tags_no_case_carries_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aichaos.cli import app

    write(tmp_path / "data.yaml", "cases:\n  - {id: c1, input: q, tags: [policy]}\n")
    write(tmp_path / "exp.yaml", """
title: tags
target: {type: mock}
dataset: data.yaml
dependencies: {crm: {upstream: "http://127.0.0.1:9"}}
layers:
  capability: null
  integration:
    toxics: [{dependency: crm, type: http_error, tags: [order-status]}]
""")
    got = CliRunner().invoke(app, ["validate", str(tmp_path / "exp.yaml")])
    assert got.exit_code == 2
    lines = [line for line in got.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in got.output
    assert lines[0].endswith("layers.integration.toxics[0].tags: no case of the dataset has "
                             "tag 'order-status'; nothing would be sent under this toxic")
