"""Scenarios S01-S09, S11, S15 (shared/SCENARIOS.md): aichaos flags each victim, passes each twin.

Each victim is a real aiohttp app calling a real OpenAI-like upstream through the chaos proxy
the Runner starts from the experiment's ``dependencies``; the integration suite runs the fault.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from chaos_apps import (
    FALLBACK,
    Ctx,
    Scenario,
    chat,
    http_error,
    incremental_utf8,
    layer_text,
    number,
    run_scenario,
)

URL = "/v1/chat/completions"
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"id": {"type": "integer"}}}}}]


def lookup(id: int) -> str:  # the tool's declared parameter name
    return f"answer {id}"


REGISTRY = {"lookup": lookup}


def _text(doc: Any) -> str:
    return str(doc["choices"][0]["message"]["content"])


# ------------------------------------------------------------------------ handlers


async def retrying_chat(ctx: Ctx, q: str) -> str:
    """S01: the victim retries 429s on a fixed 0.2 s wait; the twin waits Retry-After."""
    attempts = 2 if ctx.fixed else 4
    for attempt in range(attempts):
        async with ctx.session.post(ctx.deps["llm_provider"] + URL, json=ctx.chat_body(q)) as r:
            if r.status == 200:
                return _text(await r.json())
            wait = float(r.headers.get("Retry-After", "1")) if ctx.fixed else 0.2
        if attempt < attempts - 1:
            await asyncio.sleep(wait)
    if ctx.fixed:
        return FALLBACK
    raise http_error(503, "upstream rate limited")


async def batch_embed(ctx: Ctx, q: str) -> str:
    """S02: embeds 6 chunks; the victim logs a failed retry and reports what it indexed."""
    done = 0
    for i in range(6):
        for _ in range(4 if ctx.fixed else 2):
            async with ctx.session.post(ctx.deps["llm_provider"] + "/v1/embeddings",
                                        json={"model": "e", "input": f"chunk {i} of {q}"}) as r:
                if r.status == 200:
                    done += 1
                    break
                wait = float(r.headers.get("Retry-After", "0")) if ctx.fixed else 0.0
            await asyncio.sleep(wait)  # the victim only logs "retrying" here
        else:
            if ctx.fixed:
                return FALLBACK
    return f"answer {number(q)}: indexed {done} chunks" if done == 6 else \
        f"indexed {done} chunks"


async def failover_chat(ctx: Ctx, q: str) -> str:
    """S03: the victim's own limiter answers 429 before its configured fallback runs."""
    try:
        return _text(await chat(ctx, q, "llm_primary"))
    except aiohttp.ClientResponseError as exc:
        if not ctx.fixed:
            raise http_error(429, "rate limited, try again later") from exc
    return _text(await chat(ctx, q, "llm_fallback"))


async def stream_chat(ctx: Ctx, q: str, *, tools: bool = False, raw_chunks: bool = False,
                      strict_utf8: bool = False) -> str:
    """S04/S05/S06/S09/S11: reads an SSE stream; the victim's flaw is chosen by the flags."""
    body = ctx.chat_body(q, stream=True, **({"tools": TOOLS} if tools else {}))
    text, name, args = [], None, ""
    async with ctx.session.post(ctx.deps["llm_provider"] + URL, json=body) as r:
        r.raise_for_status()
        if raw_chunks or strict_utf8:  # the victims: one network chunk = whole lines
            decode = (lambda b: b.decode("utf-8")) if strict_utf8 else incremental_utf8()
            lines: list[str] = []
            async for chunk in r.content.iter_any():
                try:
                    lines += decode(chunk).split("\n")
                except UnicodeDecodeError:
                    ctx.app.die()  # the serializer throws and the process dies (S11)
                    raise
        else:
            lines = [ln.decode() async for ln in r.content]
    for line in lines:
        line = line.strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        try:
            doc = json.loads(line[6:])
        except ValueError:
            continue  # the victim of S09 drops lines cut by the re-chunking
        if ctx.fixed and "error" in doc:
            return FALLBACK
        delta = doc["choices"][0]["delta"]
        text.append(delta.get("content") or "")
        for call in delta.get("tool_calls") or ():
            name = call["function"].get("name") or name
            args += call["function"].get("arguments") or ""
    if tools:
        try:
            return REGISTRY[name or ""](**json.loads(args))
        except (KeyError, ValueError):
            return "No tool call was made."
    return "".join(text)


async def guarded_stream(ctx: Ctx, q: str) -> str:
    """S04/S05/S06: the twin turns a broken or stalled stream into a fallback answer."""
    if not ctx.fixed:
        return await stream_chat(ctx, q)
    try:
        return await stream_chat(ctx, q)
    except (aiohttp.ClientError, TimeoutError):
        return FALLBACK


async def tool_agent(ctx: Ctx, q: str) -> str:
    """S07/S08/S15: runs the model's tool call; the victim trusts name and arguments."""
    call = (await chat(ctx, q, tools=TOOLS))["choices"][0]["message"]["tool_calls"][0]
    fn = call["function"]
    if not ctx.fixed:
        return REGISTRY[fn["name"]](**json.loads(fn["arguments"]))
    try:
        args = json.loads(fn["arguments"] or "{}")
    except ValueError:
        return FALLBACK
    if fn["name"] not in REGISTRY or not isinstance(args, dict) or "id" not in args:
        return FALLBACK
    return REGISTRY[fn["name"]](**args)


async def rechunk_tools(ctx: Ctx, q: str) -> str:
    return await stream_chat(ctx, q, tools=True, raw_chunks=not ctx.fixed)


async def rechunk_text(ctx: Ctx, q: str) -> str:
    return await stream_chat(ctx, q, strict_utf8=not ctx.fixed)


def tox(kind: str, **attributes: Any) -> dict[str, Any]:
    dep = attributes.pop("dependency", "llm_provider")
    extra: dict[str, Any] = {k: attributes.pop(k) for k in ("toxicity", "fallback") if k in attributes}
    return {"dependency": dep, "type": kind, "name": kind, "attributes": attributes, **extra}


SCENARIOS = [
    Scenario("S01", retrying_chat, [tox("rate_limit", retry_after_s=1)],
             "retries ignore Retry-After: 3 wasted attempts", "retry_after_honoured", limit=1),
    Scenario("S02", batch_embed,
             [tox("rate_limit", retry_after_s=0, toxicity=0.5, match_path="/v1/embeddings")],
             "silent data loss: success returned while", "success_rate"),
    Scenario("S03", failover_chat,
             [tox("rate_limit", retry_after_s=1, dependency="llm_primary",
                  fallback="llm_fallback")],
             "failover not exercised: fallback upstream 'llm_fallback' saw no traffic",
             "failover", deps=("llm_primary", "llm_fallback")),
    Scenario("S04", guarded_stream, [tox("sse_error", after_events=2)],
             "crash on mid-stream error", "success_rate"),
    Scenario("S05", guarded_stream, [tox("stream_stall", after_events=1)],
             "hang on stream stall: no answer within 2 s", "success_rate", limit=1,
             client_timeout=aiohttp.ClientTimeout(total=None, sock_read=0.3)),
    Scenario("S06", guarded_stream, [tox("stream_cut")], "crash on truncated stream",
             "success_rate"),
    Scenario("S07", tool_agent, [tox("tool_args", mode="empty")],
             "server error on empty tool arguments", "success_rate", json_errors=True),
    Scenario("S08", tool_agent, [tox("tool_args", mode="invalid_json")],
             "crash on malformed tool call", "success_rate"),
    Scenario("S09", rechunk_tools,
             [tox("rechunk", min_size=1, max_size=12, split_utf8=False, delay=0.5)],
             "tool call lost under re-chunking", "success_rate"),
    Scenario("S11", rechunk_text,
             [tox("rechunk", min_size=256, max_size=512, split_utf8=True, delay=1.0)],
             "crash on split UTF-8", "recovered"),
    Scenario("S15", tool_agent, [tox("tool_args", mode="unknown_tool")],
             "crash on hallucinated tool call", "success_rate"),
]


def _checks(outcome: Any) -> dict[str, Any]:
    return {c.name: c for c in outcome.scorecard.layers[3].checks}


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_victim_is_flagged(sc: Scenario) -> None:
    outcome = await run_scenario(sc, fixed=False)
    layer = outcome.scorecard.layers[3]
    text = layer_text(outcome)
    assert outcome.journal["status"] == "completed"
    assert sc.finding in text, text
    toxic = sc.toxics[0]["name"]
    check = _checks(outcome)[f"integration.{toxic}.{sc.failing_check}"]
    assert check.passed is False, check
    assert layer.score is not None and layer.score <= 50, (layer.score, text)
    assert layer.metrics["per_toxic"][toxic]["fired"] >= 1
    assert all(r["status"] == "succeeded" for r in outcome.journal["rollbacks"])


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_fixed_twin_passes(sc: Scenario) -> None:
    outcome = await run_scenario(sc, fixed=True)
    layer = outcome.scorecard.layers[3]
    text = layer_text(outcome)
    failed = [c for c in layer.checks if not c.passed]
    assert not failed, failed
    assert layer.score == 100.0, text
    assert sc.finding not in text
    row = layer.metrics["per_toxic"][sc.toxics[0]["name"]]
    assert row["fired"] >= 1 and row["recovered"] is True and row["health_after"] == 1.0
    assert row["outcomes"]["hang"] == row["outcomes"]["crash"] == 0


