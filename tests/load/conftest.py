"""Mock targets with controlled latencies for the load tests."""

from __future__ import annotations

import asyncio

import pytest

from aichaos.targets import Target, TargetRequest, TargetResponse


class SleepTarget(Target):
    """Answers after ``service_s``; at most ``capacity`` requests are served at once.

    ``stall_s`` (if set) makes the request number ``stall_at`` take that long instead.
    Chunks: ``tokens`` content chunks spread evenly over the service time.
    """

    kind = "sleep"

    def __init__(self, service_s: float = 0.0, capacity: int | None = None, *,
                 stall_at: int | None = None, stall_s: float = 0.0, tokens: int = 0,
                 fail_every: int = 0) -> None:
        self.service_s = service_s
        self.sem = asyncio.Semaphore(capacity) if capacity else None
        self.stall_at, self.stall_s = stall_at, stall_s
        self.tokens = tokens
        self.fail_every = fail_every
        self.calls = 0
        self.max_in_flight = 0
        self._in_flight = 0

    async def _serve(self, n: int) -> TargetResponse:
        delay = self.stall_s if n == self.stall_at else self.service_s
        await asyncio.sleep(delay)
        times = [delay * (i + 1) / self.tokens for i in range(self.tokens)]
        if self.fail_every and n % self.fail_every == 0:
            return TargetResponse(status=429, error_class="http_429", e2e_s=delay)
        return TargetResponse(output="ok", status=200, e2e_s=delay,
                              ttft_s=times[0] if times else delay, chunk_times_s=times,
                              input_tokens=10, output_tokens=self.tokens or None)

    async def send(self, request: TargetRequest) -> TargetResponse:
        n = self.calls
        self.calls += 1
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.sem is None:
                return await self._serve(n)
            async with self.sem:
                return await self._serve(n)
        finally:
            self._in_flight -= 1


@pytest.fixture
def sleep_target() -> type[SleepTarget]:
    return SleepTarget
