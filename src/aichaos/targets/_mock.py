"""The shipped mock target: fixed answers, optional latency. For tests, examples and docs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aichaos.config import MockTargetConfig
from aichaos.config._targets import target_type
from aichaos.targets._base import Target, TargetRequest, TargetResponse


@target_type
class MockTarget(Target):
    """Answers from ``answers`` (input -> output, exact match) or a ``responder`` function.

    Args:
        config: answers table, default answer and latency (s).
        responder: optional ``f(request) -> TargetResponse | str`` overriding the table, so
            tests can script errors, timings and streams.

    ``requests`` keeps every request received, in order.
    """

    kind = "mock"
    summary = "the shipped mock: fixed answers from a table (tests, docs, examples)"
    config_model = MockTargetConfig

    def __init__(
        self,
        config: MockTargetConfig | None = None,
        responder: Callable[[TargetRequest], TargetResponse | str] | None = None,
    ):
        self.config = config or MockTargetConfig(type="mock")
        self._responder = responder
        self.requests: list[TargetRequest] = []

    def describe(self) -> dict[str, Any]:
        return {"type": self.kind, "answers": len(self.config.answers)}

    async def send(self, request: TargetRequest) -> TargetResponse:
        start = time.perf_counter()
        self.requests.append(request)
        if self.config.latency_s:
            await asyncio.sleep(self.config.latency_s)
        if self._responder is not None:
            result = self._responder(request)
        else:
            result = self.config.answers.get(request.input, self.config.default)
        resp = result if isinstance(result, TargetResponse) else TargetResponse(output=result)
        if not resp.e2e_s:
            resp.e2e_s = time.perf_counter() - start
        if resp.ttft_s is None and resp.ok:
            resp.ttft_s = resp.e2e_s
        return resp
