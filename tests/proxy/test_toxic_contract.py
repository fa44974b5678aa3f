"""One contract test walking the toxic registry: every toxic type, present and future."""

from __future__ import annotations

import json

import httpx
import pytest

from aichaos.errors import PluginError
from aichaos.faults import TOXICS, Exchange, build_toxic, toxic_class
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


def _exchange(i: int, seed: int = 1) -> Exchange:
    return Exchange(f"p-{i}", seed, "POST", "/v1/chat/completions", {}, b"{}")


@pytest.mark.parametrize("kind", TOXICS.names())
async def test_toxic_contract(kind: str, chaos: ChaosProxy) -> None:
    # builds from defaults and reports its Toxiproxy shape
    toxic = TOXICS.create(kind)
    shape = toxic.to_dict()
    assert shape["type"] == kind and shape["toxicity"] == 1.0 and shape["fired"] == 0
    assert set(shape) >= {"name", "type", "stream", "toxicity", "attributes"}
    assert toxic.spec == (kind, {})
    json.dumps(shape)

    # every numeric attribute with bounds rejects a value out of range, in one line
    for attr in toxic_class(kind).attrs:
        if attr.min is not None and not isinstance(attr.default, bool):
            bad = attr.min - 1
            with pytest.raises(PluginError) as err:
                build_toxic({"type": kind, "attributes": {attr.name: bad}})
            unit = f" {attr.unit}" if attr.unit else ""
            assert str(err.value) == (f"toxic {kind!r}: attribute {attr.name}: expected >= "
                                      f"{attr.min:g}{unit}, got {bad:g}")
        if attr.choices:
            with pytest.raises(PluginError, match=f"attribute {attr.name}: expected one of"):
                build_toxic({"type": kind, "attributes": {attr.name: "no-such-choice"}})
    with pytest.raises(PluginError, match="toxicity: expected a probability"):
        build_toxic({"type": kind, "toxicity": 1.5})

    # toxicity 0 never fires, 1 always does
    never = build_toxic({"type": kind, "toxicity": 0})
    always = build_toxic({"type": kind, "toxicity": 1})
    assert not any(never.roll(_exchange(i)) for i in range(200)) and never.fired == 0
    assert all(always.roll(_exchange(i)) for i in range(200)) and always.fired == 200

    # deterministic under a seed, sensitive to it, and close to the asked probability
    def pattern(seed: int) -> list[bool]:
        t = build_toxic({"type": kind, "name": "t", "toxicity": 0.3})
        return [t.roll(_exchange(i, seed)) for i in range(400)]

    first, again, other = pattern(1), pattern(1), pattern(2)
    assert first == again
    assert first != other
    assert 0.22 < sum(first) / 400 < 0.38

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
