"""Toxics for the system checks around the model (:mod:`aichaos.system`).

- ``nonce_stamp`` appends a per-request nonce to every answer text the upstream returns, so an
  answer served later from a response cache can be traced to the upstream call that produced
  it (at temperature 0 two users' answers would otherwise be the same text).
- ``drop_response`` lets the request reach the upstream, waits for the upstream's response
  headers (the upstream has acted: a payment was taken, a refund issued) and then drops the
  connection without a response: the client sees a timeout after the side effect happened.
  It keeps a ledger of every matching request (method, path, body digest, idempotency key),
  from which duplicate non-idempotent calls are counted.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aichaos.faults._base import Attr, CutConnection, Exchange, Reply, Toxic, register
from aichaos.faults._bodies import event_json, sse_events, with_data

#: the nonce text appended to answers; ``{id}`` is the proxy's request id
NONCE_FORMAT = " [nonce {id}]"


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


def _stamp_doc(doc: Any, stamp: str, delta_done: bool) -> tuple[bool, bool]:
    """Append ``stamp`` to the answer text of one chat completion (or chunk) in place.

    Returns ``(changed, delta_done)``: a streamed answer is stamped in its first content
    delta only. Shapes: OpenAI ``choices[].message.content`` and ``choices[].delta.content``;
    Anthropic ``content[]`` text blocks and ``delta.text``.
    """
    changed = False
    if not isinstance(doc, dict):
        return False, delta_done
    for choice in doc.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        msg = choice.get("message")
        if isinstance(msg, dict) and isinstance(msg.get("content"), str):
            msg["content"] += stamp
            changed = True
        delta = choice.get("delta")
        if (not delta_done and isinstance(delta, dict) and isinstance(delta.get("content"), str)
                and delta["content"]):
            delta["content"] += stamp
            changed = delta_done = True
    for block in doc.get("content") or ():
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(
                block.get("text"), str):
            block["text"] += stamp
            changed = True
    delta = doc.get("delta")
    if not delta_done and isinstance(delta, dict) and isinstance(delta.get("text"), str) and \
            delta["text"]:
        delta["text"] += stamp
        changed = delta_done = True
    return changed, delta_done


@register
class NonceStamp(Toxic):
    """Appends ``format`` (``{id}`` = the proxy's request id, unique per proxy) to the answer
    text of every chat completion, streamed or not. Not a fault: a marker that makes a cached
    answer traceable to the upstream call that produced it."""

    type = "nonce_stamp"
    condition_text = "nonce-stamped answers"
    exercises = "response caches: which upstream call produced the answer served"
    summary = "append a per-request nonce to every answer text (cache tracing)"
    streams = ("downstream",)
    rewrites_body = True
    attrs = (Attr("format", NONCE_FORMAT, "text appended; {id} is the request id"),)

    def stamp(self, ex: Exchange) -> str:
        """The text appended to ``ex``'s answer."""
        return str(self.attributes["format"]).replace("{id}", ex.id)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        stamp = self.stamp(ex)
        if not ex.is_sse:
            data = await _collect(chunks)
            try:
                doc = json.loads(data)
            except ValueError:
                yield data
                return
            changed, _ = _stamp_doc(doc, stamp, False)
            yield json.dumps(doc, ensure_ascii=False).encode() if changed else data
            return
        done = False
        async for event in sse_events(chunks):
            doc = event_json(event)
            changed, done = _stamp_doc(doc, stamp, done) if not done else (False, True)
            yield with_data(event, doc) if changed else event


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One request a :class:`DropResponse` toxic saw (fired or not).

    Attributes:
        id: proxy request id.
        method: HTTP method.
        path: path without the query string.
        digest: SHA-256 of the request body (hex, first 16 characters).
        key: value of the idempotency header, or None when absent.
        dropped: True when the toxic dropped this request's response.
    """

    id: str
    method: str
    path: str
    digest: str
    key: str | None
    dropped: bool


@register
class DropResponse(Toxic):
    """Forwards the request, waits for the upstream's response headers (the upstream has
    acted), holds ``delay`` ms, then drops the connection without a response: a timeout after
    the side effect. By default it fires per ``toxicity`` on every matching request; with
    ``first_attempt_only: true`` only the first request carrying a given method, path and
    body can fire, so a retry of the same call goes through, as after a transient network
    failure (the system checks use this).

    Every matching request is recorded in :attr:`ledger` (body digest and the
    ``idempotency_header`` value), from which :mod:`aichaos.system` counts duplicate
    non-idempotent calls. The ledger holds at most 10,000 entries.
    """

    type = "drop_response"
    condition_text = "response dropped after the upstream acted"
    exercises = "idempotency of side-effecting calls (a retry must not repeat the effect)"
    summary = "forward the request, then drop the response (timeout after the upstream acted)"
    streams = ("downstream",)
    attrs = (
        Attr("delay", 0, "hold after the upstream answered, before dropping", "ms", min=0,
             max=86_400_000),
        Attr("first_attempt_only", False, "fire only on the first request with a given "
             "method, path and body (a retry goes through)"),
        Attr("idempotency_header", "Idempotency-Key", "request header carrying the "
             "idempotency key (recorded in the ledger)"),
    )

    def __init__(self, name: str, stream: str, toxicity: float, attributes: dict[str, Any]):
        super().__init__(name, stream, toxicity, attributes)
        self.ledger: list[LedgerEntry] = []
        self._seen: set[str] = set()

    def roll(self, ex: Exchange) -> bool:
        """Record ``ex`` in the ledger, then fire per ``toxicity`` (only on the first attempt
        per body with ``first_attempt_only``)."""
        digest = hashlib.sha256(ex.body).hexdigest()[:16]
        path = ex.path.split("?", 1)[0]
        first = f"{ex.method} {path} {digest}" not in self._seen
        self._seen.add(f"{ex.method} {path} {digest}")
        fire = (first or not self.attributes["first_attempt_only"]) and super().roll(ex)
        if len(self.ledger) < 10_000:
            key = _header(ex, str(self.attributes["idempotency_header"]))
            self.ledger.append(LedgerEntry(ex.id, ex.method.upper(), path, digest, key, fire))
        return fire

    async def on_response(self, ex: Exchange) -> Reply | None:
        if self.attributes["delay"]:
            await self.hold(ex, self.attributes["delay"] / 1000.0)
        raise CutConnection()


def _header(ex: Exchange, name: str) -> str | None:
    value = ex.header(name)
    if value is None:  # plain mappings (tests) are case-sensitive
        lower = name.lower()
        value = next((v for k, v in ex.headers.items() if k.lower() == lower), None)
    return value or None


def _usage_tokens(doc: Any) -> int | None:
    usage = doc.get("usage") if isinstance(doc, dict) else None
    if not isinstance(usage, dict):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    parts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "input_tokens",
                                    "output_tokens")]
    counted = [p for p in parts if isinstance(p, int)]
    return sum(counted) if counted else None


@register
class UsageMeter(Toxic):
    """Passes the response through unchanged and records the tokens the upstream reported
    (``usage.total_tokens``, else prompt + completion / input + output tokens; in a stream,
    the last event carrying ``usage``) in :attr:`usage` as ``(epoch seconds at the response's
    end, request id, tokens)``. Not a fault: the meter behind the budget check."""

    type = "usage_meter"
    condition_text = "metered upstream usage"
    exercises = "spend caps: the tokens the upstream really returned"
    summary = "record the tokens each upstream response reports (spend metering)"
    streams = ("downstream",)
    rewrites_body = True  # identity encoding, so the usage can be read

    def __init__(self, name: str, stream: str, toxicity: float, attributes: dict[str, Any]):
        super().__init__(name, stream, toxicity, attributes)
        self.usage: list[tuple[float, str, int]] = []

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        kept: list[bytes] = []
        size = 0
        async for chunk in chunks:
            if size < 1 << 20:
                kept.append(chunk)
                size += len(chunk)
            yield chunk
        data = b"".join(kept)
        tokens = None
        if ex.is_sse:
            async def replay() -> AsyncIterator[bytes]:
                yield data

            async for event in sse_events(replay()):
                tokens = _usage_tokens(event_json(event)) or tokens
        else:
            try:
                tokens = _usage_tokens(json.loads(data))
            except ValueError:
                tokens = None
        if tokens is not None and len(self.usage) < 100_000:
            self.usage.append((time.time(), ex.id, tokens))
