"""A target plugin: one class (its settings model nested in it)."""

from __future__ import annotations

import json
import time
from typing import Literal

import httpx

from aichaos.config import Strict
from aichaos.targets import Target, TargetRequest, TargetResponse, target_type


@target_type
class ShoutingRelay(Target):
    """POSTs ``{"input": ...}`` to ``url`` and answers the JSON ``output`` in capitals."""

    class Config(Strict):
        type: Literal["shouting_relay"]
        url: str
        timeout_s: float = 10.0

    kind = "shouting_relay"
    summary = "relay the question to a JSON endpoint, answer in capitals"
    config_model = Config

    def __init__(self, config: Config) -> None:
        self.config = config
        self._client = httpx.AsyncClient(timeout=config.timeout_s)

    async def send(self, request: TargetRequest) -> TargetResponse:
        t0 = time.perf_counter()
        try:
            # ASCII-escaped JSON: lone surrogates in the input travel as \ud83d escapes
            body = json.dumps({"input": request.input}).encode()
            resp = await self._client.post(self.config.url, content=body,
                                           headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            return TargetResponse(error_class="connection", error=type(exc).__name__,
                                  e2e_s=time.perf_counter() - t0)
        if resp.status_code >= 400:
            return TargetResponse(error_class=f"http_{resp.status_code // 100}xx",
                                  status=resp.status_code, error=resp.text[:200],
                                  e2e_s=time.perf_counter() - t0)
        answer = str(resp.json().get("output", "")).upper()
        return TargetResponse(output=answer, status=resp.status_code,
                              e2e_s=time.perf_counter() - t0)

    async def aclose(self) -> None:
        await self._client.aclose()
