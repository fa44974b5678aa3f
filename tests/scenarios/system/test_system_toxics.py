"""The two toxics the system checks use, through the real chaos proxy: ``nonce_stamp`` marks
each upstream answer with its request id (JSON and SSE); ``drop_response`` lets the call reach
the upstream, drops the response, and keeps the ledger duplicates are counted from."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
from system_apps import Payments, Provider

from aichaos.faults import Exchange, LedgerEntry, build_toxic
from aichaos.proxy import ChaosProxy
from aichaos.system import duplicates, nonces


async def test_nonce_stamp_marks_each_upstream_answer_with_its_request_id() -> None:
    provider = Provider()
    await provider.start()
    try:
        async with ChaosProxy(seed=1) as chaos:
            proxy = await chaos.add_proxy("llm", "127.0.0.1:0", provider.url)
            chaos.add_toxic("llm", {"type": "nonce_stamp", "name": "n"})
            url = f"http://127.0.0.1:{proxy.port}/v1/chat/completions"
            body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            async with httpx.AsyncClient(timeout=5) as client:
                texts = [(await client.post(url, json=body)).json()["choices"][0]["message"]
                         ["content"] for _ in range(2)]
    finally:
        await provider.stop()
    assert texts == ["echo: hi [nonce llm-1]", "echo: hi [nonce llm-2]"]
    assert [nonces(t) for t in texts] == [{"llm-1"}, {"llm-2"}]


async def _chunks(events: list[dict[str, object]]) -> AsyncIterator[bytes]:
    for e in events:
        yield b"data: " + json.dumps(e).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


async def test_nonce_stamp_marks_a_stream_once_in_its_first_content_delta() -> None:
    toxic = build_toxic({"type": "nonce_stamp"})
    ex = Exchange("llm-7", 1, "POST", "/v1/chat/completions", {}, b"{}",
                  response_headers={"content-type": "text/event-stream"})
    deltas = [{"role": "assistant", "content": ""}, {"content": "Hel"}, {"content": "lo"}]
    events = [{"choices": [{"index": 0, "delta": d}]} for d in deltas]
    out = [c async for c in toxic.wrap(ex, _chunks(events))]
    docs = [json.loads(c[5:]) for c in out if c.startswith(b"data: {")]
    text = "".join(d["choices"][0]["delta"].get("content", "") for d in docs)
    assert text == "Hel [nonce llm-7]lo" and out[-1] == b"data: [DONE]\n\n"


async def test_drop_response_acts_upstream_then_drops_and_records_the_ledger() -> None:
    payments = Payments()
    await payments.start()
    try:
        async with ChaosProxy(seed=1) as chaos:
            proxy = await chaos.add_proxy("payments", "127.0.0.1:0", payments.url)
            toxic = chaos.add_toxic("payments", {"type": "drop_response", "attributes": {
                "first_attempt_only": True, "match_path": "/refunds"}})
            url = f"http://127.0.0.1:{proxy.port}/refunds"
            async with httpx.AsyncClient(timeout=5) as client:

                async def post(order: int, **headers: str) -> int | None:
                    try:
                        r = await client.post(url, json={"order": order, "amount": 5},
                                              headers=headers)
                    except httpx.TransportError:  # the response was dropped
                        return None
                    return r.status_code

                statuses = [await post(1), await post(1), await post(2, **{
                    "Idempotency-Key": "k2"})]
            await asyncio.sleep(0.05)
    finally:
        await payments.stop()
    assert statuses == [None, 200, None]
    assert payments.calls == 3 and len(payments.refunds) == 3  # the dropped one was applied
    ledger = toxic.ledger  # type: ignore[attr-defined]
    assert [(e.dropped, e.key) for e in ledger] == [(True, None), (False, None), (True, "k2")]
    assert ledger[0].digest == ledger[1].digest != ledger[2].digest
    assert duplicates(ledger) == (1, 0)
    assert toxic.fired == 2


def test_duplicates_counts_same_body_without_key_and_keyed_retries_apart() -> None:
    def e(digest: str, key: str | None) -> LedgerEntry:
        return LedgerEntry("p-1", "POST", "/refunds", digest, key, False)

    entries = [e("a", None), e("a", None), e("a", None), e("b", None), e("c", "k"),
               e("c", "k")]
    assert duplicates(entries) == (2, 1)
    assert duplicates([]) == (0, 0)
