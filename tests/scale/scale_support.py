"""In-process targets of known capacity and an experiment builder for the layer-6 tests."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.targets import Target, TargetRequest, TargetResponse

CASES = [Case(id=f"c{i}", input=f"question {i}", expected=["ok"]) for i in range(3)]
FAIL_CASES = [*CASES, Case(id="c3", input="FAIL question 3", expected=["ok"])]


class CapacityTarget(Target):
    """Serves ``capacity`` requests at once, each taking ``service_s``; the rest wait.

    Capacity = ``capacity / service_s`` req/s. Inputs containing ``FAIL`` answer HTTP 429.
    Usage: 10 input tokens, ``tokens`` output tokens per answer.
    """

    kind = "capacity"

    def __init__(self, service_s: float = 0.1, capacity: int = 1, tokens: int = 5) -> None:
        self.service_s, self.tokens = service_s, tokens
        self.sem = asyncio.Semaphore(capacity)
        self.calls = 0

    async def send(self, request: TargetRequest) -> TargetResponse:
        self.calls += 1
        async with self.sem:
            await asyncio.sleep(self.service_s)
        if "FAIL" in request.input:
            return TargetResponse(status=429, error_class="http_429", error="HTTP 429",
                                  e2e_s=self.service_s)
        return TargetResponse(output="ok", status=200, e2e_s=self.service_s,
                              ttft_s=self.service_s / 2, input_tokens=10,
                              output_tokens=self.tokens)

    def describe(self) -> dict[str, Any]:
        return {"type": self.kind}


class NeedleTarget(Target):
    """Recalls the needle of inputs up to ``limit_tokens`` (chars/4); beyond it either answers
    without the needle (``truncate``: silent truncation) or fails with a context-length 400."""

    kind = "needle"

    def __init__(self, limit_tokens: int, *, truncate: bool) -> None:
        self.limit, self.truncate = limit_tokens, truncate

    async def send(self, request: TargetRequest) -> TargetResponse:
        code = re.search(r"NEEDLE-[0-9A-F]{6}", request.input)
        if len(request.input) / 4 > self.limit:
            if not self.truncate:
                return TargetResponse(status=400, error_class="http_4xx",
                                      error="context length exceeded", e2e_s=0.001)
            return TargetResponse(output="The committee met.", status=200, e2e_s=0.002)
        return TargetResponse(output=code.group(0) if code else "ok", status=200, e2e_s=0.001)


def experiment(scale: dict[str, Any], slos: dict[str, Any] | None = None) -> Any:
    data: dict[str, Any] = {
        "title": "scale", "target": {"type": "mock"},
        "layers": {"capability": {"enabled": False}, "scale": scale},
        "runtime": {"seed": 7},
    }
    if slos is not None:
        data["steady-state-hypothesis"] = {"sample": 1, "slos": slos}
    return parse_experiment(data)
