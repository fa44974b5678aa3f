"""A scripted OpenAI-compatible chat server (aiohttp, 127.0.0.1) for exact agent assertions.

First turn (no ``tool`` message yet): the model asks for ``lookup_order`` on every order id
(NW-#####) in the user message, as parallel tool calls; streamed, their fragments interleave
(index 0, 1, 0, 1, ...) as providers send them. Next turn: a final answer built from the
tool messages. Usage is reported (prompt tokens = words sent, completion = words answered).
Every streamed body is kept in :attr:`ScriptedLLM.streams`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

ORDER = re.compile(r"NW-\d{5}")


def _fragments(ids: list[str]) -> list[list[dict[str, Any]]]:
    """Interleaved tool-call fragments, one list per chunk."""
    heads = [[{"index": i, "id": f"call_{i}", "type": "function",
               "function": {"name": "lookup_order", "arguments": ""}}] for i in range(len(ids))]
    opens = [[{"index": i, "function": {"arguments": '{"order_id": '}}] for i in range(len(ids))]
    tails = [[{"index": i, "function": {"arguments": json.dumps(o) + "}"}}]
             for i, o in enumerate(ids)]
    return heads + opens + tails


class ScriptedLLM:
    def __init__(self) -> None:
        self.streams: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> ScriptedLLM:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        msgs = body["messages"]
        tool_msgs = [m for m in msgs if m["role"] == "tool"]
        prompt = sum(len(str(m.get("content") or "").split()) for m in msgs)
        user = next(m["content"] for m in msgs if m["role"] == "user")
        if not tool_msgs:
            ids = ORDER.findall(user)
            calls = [{"id": f"call_{i}", "type": "function", "function": {
                "name": "lookup_order", "arguments": json.dumps({"order_id": o})}}
                for i, o in enumerate(ids)]
            message: dict[str, Any] = {"role": "assistant", "content": None,
                                       "tool_calls": calls}
            frags, finish = _fragments(ids), "tool_calls"
        else:
            text = "; ".join(str(m["content"]) for m in tool_msgs)
            message, frags, finish = {"role": "assistant", "content": f"Done: {text}"}, [], "stop"
        usage = {"prompt_tokens": prompt, "completion_tokens": 7, "total_tokens": prompt + 7}
        if not body.get("stream"):
            return web.json_response({"id": "x", "object": "chat.completion", "choices": [
                {"index": 0, "message": message, "finish_reason": finish}], "usage": usage})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        out = []
        chunks = [{"tool_calls": f} for f in frags] if frags else [
            {"content": message["content"]}]
        for delta in [{"role": "assistant"}, *chunks]:
            out.append("data: " + json.dumps({"choices": [{"index": 0, "delta": delta}]}))
        out.append("data: " + json.dumps({"choices": [{"index": 0, "delta": {},
                                                       "finish_reason": finish}]}))
        out.append("data: " + json.dumps({"choices": [], "usage": usage}))
        out.append("data: [DONE]")
        text = "\n\n".join(out) + "\n\n"
        self.streams.append(text)
        await resp.write(text.encode())
        await resp.write_eof()
        return resp
