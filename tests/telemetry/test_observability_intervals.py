"""Layer 5's intervals on real apps (aiohttp, loopback): exact for what instrumentation
decides, a betting interval for fault visibility, and "not measured" for a fault that could
not be injected.

The twin counts every answer in a Prometheus counter labelled with its status, 502 included
when its upstream fails; the victim counts only its successes, so an upstream fault never
shows in its metrics. Neither exports OTLP (``otlp: false``): the Prometheus component alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientSession, web

from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.runner import EventBus, Runner

CASES = [Case(id=f"c{i}", input=f"question {i}", expected=[f"answer {i}"]) for i in range(4)]


class App:
    """``POST /chat`` asks the upstream (through the chaos proxy); ``GET /metrics``."""

    def __init__(self, upstream: str, counts_errors: bool) -> None:
        self.upstream, self.counts_errors = upstream, counts_errors
        self.ok = self.failed = 0
        self.seconds = 0.0
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with ClientSession() as s, s.post(self.upstream, json=body) as r:
            status = r.status
        self.seconds += loop.time() - t0
        if status != 200:
            self.failed += 1
            return web.json_response({"error": "upstream failed"}, status=502)
        self.ok += 1
        n = body["input"].split()[-1]
        return web.json_response({"output": f"answer {n}"})

    async def metrics(self, request: web.Request) -> web.Response:
        lines = ["# TYPE app_requests_total counter",
                 f'app_requests_total{{status="200"}} {self.ok}']
        if self.counts_errors:  # the victim's defect: errors are never counted
            lines.append(f'app_requests_total{{status="502"}} {self.failed}')
        count = self.ok + (self.failed if self.counts_errors else 0)
        lines += ["# TYPE app_request_duration_seconds histogram",
                  f'app_request_duration_seconds_bucket{{le="+Inf"}} {count}',
                  f"app_request_duration_seconds_count {count}",
                  f"app_request_duration_seconds_sum {self.seconds:.6f}"]
        return web.Response(text="\n".join(lines) + "\n")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/chat", self.chat)
        app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def _upstream() -> tuple[web.AppRunner, int]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def assess(counts_errors: bool, *, dependencies: bool = True) -> Any:
    upstream, up_port = await _upstream()
    proxy_port = free_port()
    app = App(f"http://127.0.0.1:{proxy_port if dependencies else up_port}/", counts_errors)
    await app.start()
    try:
        exp = Experiment.model_validate({
            "title": "prometheus only",
            "target": {"type": "http", "url": f"http://127.0.0.1:{app.port}/chat",
                       "timeout_s": 5},
            "dependencies": {"backend": {"upstream": f"http://127.0.0.1:{up_port}",
                                         "listen": f"127.0.0.1:{proxy_port}"}}
            if dependencies else {},
            "steady-state-hypothesis": None,
            "layers": {"capability": None, "observability": {
                "otlp": False, "prometheus_url": f"http://127.0.0.1:{app.port}/metrics",
                "sample": 3, "fault_requests": 3}},
        })
        return (await Runner(exp, EventBus(), cases=CASES).run()).scorecard.layers[5]
    finally:
        await app.stop()
        await upstream.cleanup()


async def test_fault_visibility_gets_a_betting_interval_the_rest_is_exact() -> None:
    twin, victim = await assess(True), await assess(False)
    for layer in (twin, victim):
        checks = {c.name: c for c in layer.checks}
        for name, check in checks.items():
            if name != "observability.fault_detection":
                assert check.interval is not None and check.interval.method == "exact", name
                assert check.decided is True and check.interval.low == check.value, name
        fault = checks["observability.fault_detection"]
        assert fault.interval is not None and fault.interval.method == "betting-cs"
        assert fault.interval.n == 3 and layer.case_scores is not None
        assert layer.interval is not None and layer.interval.n == 3
        assert layer.interval.method == "exact + betting-cs (fault detection)"
        assert layer.interval.low <= layer.score <= layer.interval.high
    t_fault = {c.name: c for c in twin.checks}["observability.fault_detection"]
    v_fault = {c.name: c for c in victim.checks}["observability.fault_detection"]
    print(f"\ntwin {twin.score} {twin.interval} | victim {victim.score} {victim.interval}")
    # the twin's counter saw all 3 faults: a pass, still open (3 cases cannot prove "always")
    assert t_fault.passed is True and t_fault.value == 1.0 and t_fault.decided is False
    assert twin.case_scores == {"c1#0": 1.0, "c2#1": 1.0, "c3#2": 1.0}
    # the victim's never did: an unseen fault is a fact, decided
    assert v_fault.passed is False and v_fault.value == 0.0 and v_fault.decided is True
    assert v_fault.interval is not None and v_fault.interval.low == 0.0
    assert twin.score is not None and victim.score is not None and twin.score > victim.score
    assert victim.interval is not None and victim.interval.low == victim.score == 50.0
    assert victim.interval.high > 80.0  # 3 unseen faults still allow it sometimes seen


async def test_a_fault_that_cannot_be_injected_is_not_measured_never_passed() -> None:
    layer = await assess(True, dependencies=False)
    fault = {c.name: c for c in layer.checks}["observability.fault_detection"]
    assert fault.passed is False and fault.value is None and fault.interval is None
    assert fault.not_measured is not None and "no dependencies" in fault.not_measured
    assert layer.interval is not None and layer.interval.method == "exact"
    assert layer.interval.low == layer.interval.high == layer.score
    assert layer.grade_range is not None and layer.grade_range.firm
