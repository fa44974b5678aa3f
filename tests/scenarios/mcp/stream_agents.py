"""Scenario S22's victim and twin: agents that stream the model's answer and run its
parallel tool calls on the MCP server. The victim merges streamed ``tool_calls`` fragments
by position (a fragment with an id opens a call, every other fragment goes to the last one
opened: source litellm #21331); the twin merges by ``index``. Both are ``python`` agents
(``agent(goal, mcp_urls, llm_url=...)``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from aichaos.agents import merge_tool_call_deltas, parse_sse_deltas


async def _stream(llm_url: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(f"{llm_url}/chat/completions", json={
            "model": "m", "messages": messages, "stream": True, "tools": []})
        return parse_sse_deltas(r.text)


def by_position(deltas: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The defect: fragments merged in arrival order, ignoring ``index``."""
    calls: list[dict[str, str]] = []
    for d in deltas:
        for frag in d.get("tool_calls") or []:
            if frag.get("id"):
                calls.append({"id": frag["id"], "name": frag["function"]["name"],
                              "arguments": ""})
            calls[-1]["arguments"] += frag["function"].get("arguments") or ""
    return calls


def by_index(deltas: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"id": c.id, "name": c.name, "arguments": c.arguments}
            for c in merge_tool_call_deltas(deltas)]


async def _agent(goal: str, mcp_urls: dict[str, str], llm_url: str, merge: Any) -> str:
    messages: list[dict[str, Any]] = [{"role": "user", "content": goal}]
    calls = merge(await _stream(llm_url, messages))
    async with streamable_http_client(mcp_urls["crm"]) as (read, write, _), \
            ClientSession(read, write) as s:
        await s.initialize()
        messages.append({"role": "assistant", "tool_calls": [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]})
        for c in calls:
            result = await s.call_tool(c["name"], json.loads(c["arguments"] or "{}"))
            text = "\n".join(x.text for x in result.content if isinstance(x, TextContent))
            messages.append({"role": "tool", "tool_call_id": c["id"], "content": text})
    final = await _stream(llm_url, messages)
    return "".join(d.get("content") or "" for d in final)


async def position_merging_agent(goal: str, mcp_urls: dict[str, str], llm_url: str) -> str:
    return await _agent(goal, mcp_urls, llm_url, by_position)


async def index_merging_agent(goal: str, mcp_urls: dict[str, str], llm_url: str) -> str:
    return await _agent(goal, mcp_urls, llm_url, by_index)
