"""Every toxic type, present and future, fires through the real chaos proxy."""

from __future__ import annotations

import httpx
import pytest

from aichaos.faults import TOXICS
from aichaos.proxy import ChaosProxy
from conftest import proxy_url

# Attributes that keep slow toxics fast in tests (defaults otherwise).
FAST: dict[str, dict[str, object]] = {
    "latency": {"latency": 5},
    "timeout": {"timeout": 20},
    "hang": {"duration": 20},
    "stream_stall": {"duration": 20},
    "slow_close": {"delay": 5},
    "slow_ttft": {"delay": 5},
    "token_rate": {"tokens_per_s": 2000},
    "bandwidth": {"rate": 1000},
    "rechunk": {"delay": 0},
}


@pytest.mark.parametrize("kind", TOXICS.names())
async def test_toxic_fires_through_the_real_proxy(kind: str, chaos: ChaosProxy) -> None:
    # the registry-level contract (spec, attributes, toxicity, determinism, hostile input)
    # is in tests/core/test_plugin_contract.py, with every other plugin kind
    # fires at toxicity 1 through the real proxy, on a streaming and a plain request
    spec = {"type": kind, "name": "t", "attributes": FAST.get(kind, {})}
    added = chaos.add_toxic("llm", spec)
    async with httpx.AsyncClient(timeout=5) as client:
        for body in ({"model": "m", "stream": True}, {"model": "m", "tools": [{}]}):
            try:
                resp = await client.post(proxy_url(chaos) + "/v1/chat/completions", json=body)
                assert resp.status_code >= 200
            except httpx.TransportError:
                pass  # cutting toxics end the connection; the traffic log records it
    assert added.fired == 2
    records = chaos.traffic.query(proxy="llm")
    assert [r.toxics for r in records] == [["t"], ["t"]]
    assert added.fired_on == [r.id for r in records]
