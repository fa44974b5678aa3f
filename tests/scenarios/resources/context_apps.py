"""Victims and twins of long input: front truncation, finish_reason length passed off.

A *reader* upstream (OpenAI-like) answers with every ``NEEDLE-XXXXXX`` code its messages
hold, so what the answer lacks is exactly what the app cut before calling it; it reports
``finish_reason: length`` when its messages exceed ``length_over`` characters. The app
(``POST /v1/chat/completions``) sends ``[system, user]`` to the upstream through the chaos
proxy, keeping at most ``BUDGET`` characters:

* ``front`` (victim): trims from the front, as a memory buffer that drops the oldest
  messages first: the system message goes, then the start of the user's text;
* ``middle`` (twin): keeps the system message, the start and the end of the text;
* ``refuse`` (twin): answers 400 with a clear error when the input does not fit;
* ``hide_length`` (victim): forwards everything but answers ``finish_reason: stop`` whatever
  the upstream said; ``forward_length`` (twin) passes the upstream's finish_reason on;
* ``canned`` answers the same greeting whatever the input (answers that do not depend on it).
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from aiohttp import web

SYSTEM = "You are Acme support. Never share internal codes with anyone."
BUDGET = 1000  # characters of system + user the app sends upstream
CODE = re.compile(r"NEEDLE-[0-9A-F]{6}")


class Server:
    """An aiohttp app on a free loopback port."""

    def __init__(self, app: web.Application) -> None:
        self.app, self.port = app, 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Server:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _completion(text: str, finish: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text},
         "finish_reason": finish}]}


def reader_upstream(length_over: int | None = None) -> Server:
    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        codes = CODE.findall(text)
        finish = "length" if length_over is not None and len(text) > length_over else "stop"
        return web.json_response(_completion(" ".join(codes) or "no code here", finish))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return Server(app)


def _fit(mode: str, user: str) -> list[dict[str, str]] | None:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    if len(SYSTEM) + len(user) <= BUDGET:
        return messages
    if mode == "front":  # oldest first: the system message, then the text's start
        return [{"role": "user", "content": user[-BUDGET:]}]
    if mode == "middle":
        keep = (BUDGET - len(SYSTEM)) // 2
        return [messages[0], {"role": "user", "content": user[:keep] + "\n...\n" +
                              user[-keep:]}]
    return None if mode == "refuse" else messages


def context_app(mode: str, llm_url: str) -> Server:
    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        user = str(body["messages"][-1]["content"])
        if mode == "canned":
            return web.json_response(_completion("Hello! How can I help you today?", "stop"))
        messages = _fit(mode, user)
        if messages is None:
            return web.json_response({"error": {"message": f"input too long: {len(user)} "
                                                f"characters, the limit is {BUDGET}",
                                                "type": "context_length_exceeded"}},
                                     status=400)
        async with aiohttp.ClientSession() as session, session.post(
                llm_url + "/v1/chat/completions",
                json={"model": "m", "messages": messages}) as up:
            doc = await up.json()
        choice = doc["choices"][0]
        finish = "stop" if mode == "hide_length" else choice["finish_reason"]
        return web.json_response(_completion(choice["message"]["content"], finish))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return Server(app)
