"""Real victim apps (and fixed twins) for the system checks: a response cache and a refund.

Every app is a small aiohttp service on 127.0.0.1 calling its dependency through the chaos
proxy, whose listen address the test picks before the run.

- :class:`CacheApp` is an OpenAI-compatible chat endpoint with a response cache in front of
  its LLM provider. ``key_without`` names the request field its cache key leaves out:
  ``user`` (one user's answer served to another), ``temperature`` (a different sampling
  setting served the cached answer), or None (the fixed twin). ``cache=False`` has none.
- :class:`RefundApp` answers ``POST /`` ``{"input": "refund order N"}`` by calling the payments
  API ``POST /refunds`` and retrying once on a timeout; ``idempotent`` sends an
  ``Idempotency-Key`` derived from the order (the twin), otherwise none (the victim).
- :class:`Payments` applies each refund once per idempotency key (or every time without one)
  and counts the refunds it made.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import aiohttp
from aiohttp import web


class _Server:
    port = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class Provider(_Server):
    """A deterministic OpenAI-like provider: the answer depends only on the prompt (as a
    model at temperature 0 would), so two users asking the same get the same text."""

    def __init__(self) -> None:
        self.hits = 0
        self.bodies: list[dict[str, Any]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self.chat)

    async def chat(self, request: web.Request) -> web.Response:
        self.hits += 1
        doc = await request.json()
        self.bodies.append(doc)
        prompt = doc["messages"][-1]["content"]
        text = f"echo: {prompt}"
        return web.json_response({
            "id": f"chatcmpl-{self.hits}", "object": "chat.completion",
            "model": doc.get("model", "m"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})


_KEY_FIELDS = ("model", "messages", "temperature", "max_tokens", "seed", "user")


class CacheApp(_Server):
    """An OpenAI-compatible app with an exact-match response cache (see module docstring)."""

    def __init__(self, provider_url: str, *, key_without: str | None, cache: bool = True):
        self.provider_url = provider_url
        self.key_without = key_without
        self.cache_on = cache
        self.cache: dict[str, Any] = {}
        self._session: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "m"}]})

    def key(self, doc: dict[str, Any]) -> str:
        fields = {k: doc.get(k) for k in _KEY_FIELDS if k != self.key_without}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    async def chat(self, request: web.Request) -> web.Response:
        doc = await request.json()
        key = self.key(doc)
        fresh = "no-cache" in request.headers.get("Cache-Control", "")  # RFC 9111 5.2.1.4
        if self.cache_on and key in self.cache and not fresh:
            return web.json_response(self.cache[key])
        if self._session is None:
            self._session = aiohttp.ClientSession()
        upstream = {k: v for k, v in doc.items() if k != "stream_options"}
        upstream["stream"] = False
        async with self._session.post(self.provider_url + "/v1/chat/completions",
                                      json=upstream) as r:
            answer = await r.json()
        if self.cache_on:
            self.cache[key] = answer
        return web.json_response(answer)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        await super().stop()


class Payments(_Server):
    """A payments API: ``POST /refunds`` ``{"order": N, "amount": X}``; a repeated
    ``Idempotency-Key`` returns the first result without refunding again."""

    def __init__(self) -> None:
        self.refunds: list[dict[str, Any]] = []
        self.calls = 0
        self._by_key: dict[str, dict[str, Any]] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/refunds", self.refund)

    async def refund(self, request: web.Request) -> web.Response:
        self.calls += 1
        doc = await request.json()
        key = request.headers.get("Idempotency-Key")
        if key and key in self._by_key:
            return web.json_response(self._by_key[key])
        result = {"refund": len(self.refunds) + 1, "order": doc["order"], "status": "done"}
        self.refunds.append(doc)
        if key:
            self._by_key[key] = result
        return web.json_response(result)


class RefundApp(_Server):
    """``POST /`` ``{"input": "refund order N"}`` -> refunds order N through the payments API,
    retrying once when the call times out (see module docstring)."""

    def __init__(self, payments_url: str, *, idempotent: bool) -> None:
        self.payments_url = payments_url
        self.idempotent = idempotent
        self._session: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1))
        text = (await request.json())["input"]
        m = re.search(r"\d+", text)
        order = int(m.group()) if m else 0
        headers = {"Idempotency-Key": f"refund-{order}"} if self.idempotent else {}
        for attempt in range(2):
            try:
                async with self._session.post(self.payments_url + "/refunds", headers=headers,
                                              json={"order": order, "amount": 25}) as r:
                    done = await r.json()
                return web.json_response({"output": f"Refund {done['refund']} for order "
                                                    f"{order} issued."})
            except (aiohttp.ClientError, TimeoutError):
                if attempt == 1:
                    return web.json_response({"error": "payments unavailable"}, status=503)
        raise AssertionError("unreachable")

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        await super().stop()


class FailoverApp(_Server):
    """``POST /`` ``{"input": ...}`` -> asks the primary provider, failing over to the backup.

    ``mode``:
    - ``breaker`` (the twin): a failed primary call opens a breaker for ``cooldown_s``; while
      open, requests go straight to the backup; after it, the primary is tried again;
    - ``sticky`` (victim): after the first failure every request goes to the backup, forever;
    - ``retry_each_hop`` (victim): three attempts at the primary, then three at the backup;
    - ``silent`` (victim): like ``breaker``, but when both providers fail it answers 200 with
      an empty output instead of a 503 error.
    """

    def __init__(self, primary_url: str, backup_url: str, *, mode: str,
                 cooldown_s: float = 0.3) -> None:
        self.urls = {"primary": primary_url, "backup": backup_url}
        self.mode = mode
        self.cooldown_s = cooldown_s
        self.open_until = 0.0
        self.stuck = False
        self._session: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self.handle)

    async def _ask(self, which: str, text: str) -> str | None:
        assert self._session is not None
        body = {"model": "m", "messages": [{"role": "user", "content": text}]}
        try:
            async with self._session.post(self.urls[which] + "/v1/chat/completions",
                                          json=body) as r:
                if r.status != 200:
                    return None
                return str((await r.json())["choices"][0]["message"]["content"])
        except aiohttp.ClientError:
            return None

    async def handle(self, request: web.Request) -> web.Response:
        import time

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
        text = (await request.json())["input"]
        tries = 3 if self.mode == "retry_each_hop" else 1
        skip_primary = self.stuck or (self.mode in ("breaker", "silent") and time.monotonic()
                                      < self.open_until)
        if not skip_primary:
            for _ in range(tries):
                answer = await self._ask("primary", text)
                if answer is not None:
                    return web.json_response({"output": answer})
            self.open_until = time.monotonic() + self.cooldown_s
            self.stuck = self.mode == "sticky"
        for _ in range(tries):
            answer = await self._ask("backup", text)
            if answer is not None:
                return web.json_response({"output": answer})
        if self.mode == "silent":
            return web.json_response({"output": ""})
        return web.json_response({"error": "no provider"}, status=503)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        await super().stop()


#: credential -> (tenant, expired)
KEYS = {"sk-acme-valid-0001": ("acme", False), "sk-acme-expired-0002": ("acme", True),
        "sk-globex-valid-0003": ("globex", False)}


class AuthApp(_Server):
    """``POST /`` with ``Authorization: Bearer <key>`` and ``X-Tenant``, answering the tenant's
    question. ``strict`` (the twin) refuses a missing or unknown key (401), an expired one
    (401) and another tenant's (403), with short error bodies. The victim checks only that the
    key exists, and its 401 echoes the key with a stack trace."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if not key:
            return web.json_response({"error": "missing credential"}, status=401)
        if key not in KEYS:
            if self.strict:
                return web.json_response({"error": "invalid credential"}, status=401)
            return web.json_response({"error": f"KeyError: {key!r}\nTraceback (most recent "
                                               "call last):\n  File app.py, line 9"},
                                     status=401)
        tenant, expired = KEYS[key]
        if self.strict and expired:
            return web.json_response({"error": "credential expired"}, status=401)
        if self.strict and tenant != request.headers.get("X-Tenant"):
            return web.json_response({"error": "forbidden"}, status=403)
        question = (await request.json())["input"]
        return web.json_response({"output": f"{request.headers.get('X-Tenant')}: {question}"})


class Helpdesk(_Server):
    """An escalation queue: ``POST /tickets`` records a ticket for a human."""

    def __init__(self) -> None:
        self.tickets: list[dict[str, Any]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/tickets", self.ticket)

    async def ticket(self, request: web.Request) -> web.Response:
        self.tickets.append(await request.json())
        return web.json_response({"ticket": len(self.tickets)})


_HIGH_RISK = re.compile(r"delete my account|lawyer|sue\b|\$\s?\d{4,}", re.IGNORECASE)


class SupportAgent(_Server):
    """``POST /`` ``{"input": ...}``: refunds through the payments API. ``escalates`` (the
    twin) sends high-risk requests (account deletion, legal threats, refunds of $1,000 or
    more) to the helpdesk and answers "A specialist will contact you"; the victim refunds
    whatever it is asked."""

    def __init__(self, payments_url: str, helpdesk_url: str, *, escalates: bool) -> None:
        self.payments_url, self.helpdesk_url = payments_url, helpdesk_url
        self.escalates = escalates
        self._session: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        text = (await request.json())["input"]
        if self.escalates and _HIGH_RISK.search(text):
            async with self._session.post(self.helpdesk_url + "/tickets",
                                          json={"text": text}) as r:
                await r.read()
            return web.json_response({"output": "A specialist will contact you shortly."})
        async with self._session.post(self.payments_url + "/refunds",
                                      json={"order": 1, "amount": 5000, "text": text}) as r:
            done = await r.json()
        return web.json_response({"output": f"Done: refund {done['refund']} issued."})

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        await super().stop()


class BudgetApp(_Server):
    """``POST /`` ``{"input": ...}`` as the user in ``X-User``: asks the provider and adds the
    tokens its ``usage`` reports to that user's spend. With ``cap_tokens`` (the twin) a user
    who has spent the cap is refused with 429 ``budget exhausted``; the victim has no cap."""

    def __init__(self, provider_url: str, *, cap_tokens: int | None) -> None:
        self.provider_url = provider_url
        self.cap_tokens = cap_tokens
        self.spent: dict[str, int] = {}
        self._session: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        user = request.headers.get("X-User", "anonymous")
        if self.cap_tokens is not None and self.spent.get(user, 0) >= self.cap_tokens:
            return web.json_response({"error": "budget exhausted"}, status=429)
        text = (await request.json())["input"]
        body = {"model": "m", "messages": [{"role": "user", "content": text}]}
        async with self._session.post(self.provider_url + "/v1/chat/completions",
                                      json=body) as r:
            doc = await r.json()
        self.spent[user] = self.spent.get(user, 0) + doc["usage"]["total_tokens"]
        return web.json_response({"output": doc["choices"][0]["message"]["content"]})

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        await super().stop()
