"""A session-aware chat app whose memory evicts the system message (victim, scenario S19) and
its twin that pins it.

Memory is kept per ``X-Session-Id``: the system message, then every user and assistant turn.
Before each upstream call the memory is cut to ``LIMIT`` messages:

* victim: the newest ``LIMIT`` messages (a plain rolling buffer: from turn 5 on the system
  message is gone, and with it the rules; llama_index #23144);
* twin: the system message plus the newest ``LIMIT - 1``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from context_apps import SYSTEM, Server, _completion

LIMIT = 8


def memory_app(llm_url: str, *, fixed: bool) -> Server:
    sessions: dict[str, list[dict[str, Any]]] = {}

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        sid = request.headers.get("X-Session-Id", "anonymous")
        memory = sessions.setdefault(sid, [{"role": "system", "content": SYSTEM}])
        memory.append({"role": "user", "content": str(body["messages"][-1]["content"])})
        if len(memory) > LIMIT:
            memory[:] = [memory[0], *memory[-(LIMIT - 1):]] if fixed else memory[-LIMIT:]
        async with aiohttp.ClientSession() as session, session.post(
                llm_url + "/v1/chat/completions", json={"model": "m", "messages": memory}
        ) as up:
            doc = await up.json()
        answer = doc["choices"][0]["message"]["content"]
        memory.append({"role": "assistant", "content": answer})
        return web.json_response(_completion(answer, "stop"))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return Server(app)
