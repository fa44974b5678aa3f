"""A small OpenAI-compatible LLM gateway, the system under test of docs/tutorial-gateway.md.

    python examples/gateway/gateway.py --port 8600 \
        --primary http://127.0.0.1:8781/v1 --fallback http://127.0.0.1:8782/v1

``POST /v1/chat/completions`` (non-streaming) goes to the primary provider; a 429 is retried
once after its ``Retry-After`` (at most 5 s); a 5xx, a timeout or a refused connection goes to
the fallback provider; when both fail the gateway answers a clean 503 error. Identical
requests are answered from a 5-minute response cache unless the body carries
``cache: {"no-cache": true}`` (LiteLLM's per-request cache control); the ``user`` field is
passed on to the provider. ``GET /v1/models`` asks the primary, then the fallback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

CACHE_TTL_S = 300.0
MAX_RETRY_AFTER_S = 5.0


class Gateway:
    def __init__(self, primary: str, fallback: str | None, timeout_s: float) -> None:
        self.providers = [p.rstrip("/") for p in (primary, fallback) if p]
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self.session: aiohttp.ClientSession | None = None

    async def start(self, app: web.Application) -> None:
        self.session = aiohttp.ClientSession(timeout=self.timeout)

    async def stop(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def _call(self, base: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        assert self.session is not None
        async with self.session.post(f"{base}/chat/completions", json=body) as r:
            text = await r.text()
            try:
                data = json.loads(text)
            except ValueError:
                data = {"error": {"message": text[:200]}}
            return r.status, data, r.headers.get("Retry-After", "")

    async def _provider(self, base: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, data, retry_after = await self._call(base, body)
        if status == 429 and retry_after:
            try:
                wait = min(float(retry_after), MAX_RETRY_AFTER_S)
            except ValueError:
                wait = 1.0
            await asyncio.sleep(wait)  # honour Retry-After, then one more attempt
            status, data, _ = await self._call(base, body)
        return status, data

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("stream"):
            return web.json_response({"error": {"message": "streaming is not supported",
                                                "type": "invalid_request_error"}}, status=400)
        no_cache = bool((body.pop("cache", None) or {}).get("no-cache"))
        key = json.dumps({k: v for k, v in body.items() if k != "user"}, sort_keys=True)
        hit = self.cache.get(key)
        if hit and not no_cache and time.monotonic() - hit[0] < CACHE_TTL_S:
            return web.json_response(hit[1], headers={"X-Cache": "hit"})
        last = "no provider answered"
        for base in self.providers:
            try:
                status, data = await self._provider(base, body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{base}: {type(exc).__name__}"
                continue
            if status < 500 and status != 429:
                if status == 200:
                    self.cache[key] = (time.monotonic(), data)
                return web.json_response(data, status=status, headers={"X-Cache": "miss"})
            last = f"{base}: HTTP {status}"
        return web.json_response({"error": {"message": f"all providers failed ({last})",
                                            "type": "service_unavailable"}}, status=503)

    async def models(self, request: web.Request) -> web.Response:
        assert self.session is not None
        for base in self.providers:
            try:
                async with self.session.get(f"{base}/models") as r:
                    if r.status == 200:
                        return web.json_response(await r.json())
            except (aiohttp.ClientError, TimeoutError):
                continue
        return web.json_response({"error": {"message": "no provider"}}, status=503)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8600)
    p.add_argument("--primary", required=True, help="provider base URL ending in /v1")
    p.add_argument("--fallback", default=None, help="fallback provider base URL")
    p.add_argument("--timeout", type=float, default=30.0, help="per provider call, seconds")
    args = p.parse_args()
    gateway = Gateway(args.primary, args.fallback, args.timeout)
    app = web.Application()
    app.on_startup.append(gateway.start)
    app.on_cleanup.append(gateway.stop)
    app.router.add_post("/v1/chat/completions", gateway.chat)
    app.router.add_get("/v1/models", gateway.models)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
