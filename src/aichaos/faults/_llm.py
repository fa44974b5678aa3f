"""LLM-aware toxics: provider errors, rate limits, hangs and streaming faults.

The list is the one in shared/DESIGN.md ("LLM-aware toxics"); the faults come from public bug
reports collected in shared/SCENARIOS.md (S01 Retry-After, S04 mid-stream error event, S05
stall, S06 cut before the final chunk, S09/S11 re-chunking and split UTF-8).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from aichaos.faults._base import Attr, CutConnection, Exchange, Reply, Toxic, register
from aichaos.faults._bodies import (
    PROVIDERS,
    error_body,
    event_json,
    is_done,
    is_final,
    sse_error_event,
    sse_events,
    with_data,
)
from aichaos.faults._judgement import Attempts, Verdict, ordered

_PROVIDER = Attr("provider", "openai", "error body shape", choices=PROVIDERS)


def _json_reply(status: int, body: bytes, **headers: str) -> Reply:
    return Reply(status, body, {"Content-Type": "application/json", **headers})


@register
class HttpError(Toxic):
    """Answers ``status`` with the provider's error body instead of forwarding."""

    type = "http_error"
    condition_text = "upstream HTTP {status}"
    exercises = "handling of provider error responses (fallback or a clean error)"
    summary = "answer an HTTP error with a provider-shaped body"
    streams = ("downstream",)
    attrs = (
        Attr("status", 500, "HTTP status", min=400, max=599),
        _PROVIDER,
        Attr("message", "The server had an error while processing your request.",
             "error message"),
    )

    async def on_request(self, ex: Exchange) -> Reply | None:
        a = self.attributes
        return _json_reply(a["status"], error_body(a["provider"], a["status"], a["message"]))


@register
class RateLimit(Toxic):
    """429 with ``Retry-After`` (seconds, RFC 9110 section 10.2.3) and the provider's reset
    headers: OpenAI ``x-ratelimit-reset-requests: 20s`` and ``x-ratelimit-remaining-*: 0``;
    Anthropic ``anthropic-ratelimit-requests-reset`` as an RFC 3339 time."""

    type = "rate_limit"
    condition_text = "rate limit (429)"
    exercises = "retries that honour Retry-After, then fallback"
    summary = "answer 429 rate_limit_exceeded with Retry-After and x-ratelimit-reset-*"
    streams = ("downstream",)
    attrs = (
        Attr("retry_after_s", 20, "Retry-After value", "s", min=0, max=86_400),
        _PROVIDER,
        Attr("reset_headers", True, "also send x-ratelimit-reset-* headers"),
    )

    async def on_request(self, ex: Exchange) -> Reply | None:
        a = self.attributes
        secs = a["retry_after_s"]
        headers = {"Content-Type": "application/json", "Retry-After": str(secs)}
        if a["provider"] == "anthropic":
            body = error_body("anthropic", 429, "Number of request tokens has exceeded your "
                              "per-minute rate limit")
            if a["reset_headers"]:
                at = datetime.now(UTC) + timedelta(seconds=secs)
                headers["anthropic-ratelimit-requests-remaining"] = "0"
                headers["anthropic-ratelimit-requests-reset"] = at.isoformat(
                    timespec="seconds").replace("+00:00", "Z")
        else:
            body = error_body(a["provider"], 429, "Rate limit reached for requests. Please try "
                              f"again in {secs}s.", kind="requests", code="rate_limit_exceeded")
            if a["reset_headers"]:
                headers.update({"x-ratelimit-remaining-requests": "0",
                                "x-ratelimit-reset-requests": f"{secs}s",
                                "x-ratelimit-remaining-tokens": "0",
                                "x-ratelimit-reset-tokens": f"{secs}s"})
        return Reply(429, body, headers)


    #: seconds of slack when judging Retry-After: timer granularity + time for the 429 to
    #: reach the client's code
    RETRY_SLACK_S = 0.1

    def gaps(self, attempts: Attempts) -> list[float]:
        """Seconds between a 429 from this toxic reaching the client and the next attempt of
        the same user request (one value per retry; nothing across user requests)."""
        out = []
        for calls in attempts:
            for a, b in pairwise(ordered(calls)):
                if a.status == 429 and self.name in a.toxics:
                    out.append(b.started - (a.started + (a.ttfb_s or a.duration_s)))
        return out

    def judge(self, attempts: Attempts) -> list[Verdict]:
        """``retry_after_honoured``: no retry inside the Retry-After window (scenario S01);
        a failure caps the toxic's layer-3 score at 50 (penalty ``retry_after``)."""
        after = float(self.attributes["retry_after_s"])
        gaps = self.gaps(attempts)
        wasted = sum(1 for g in gaps if g < after - self.RETRY_SLACK_S)
        shortest = min(gaps) if gaps else None
        if not gaps:
            msg = "no retries after 429"
        elif wasted:
            msg = (f"retries ignore Retry-After: {wasted} wasted attempts inside the {after:g} s "
                   f"window (shortest gap {shortest:.2f} s)")
        else:
            msg = (f"{len(gaps)} retries waited for Retry-After ({after:g} s; shortest gap "
                   f"{shortest:.2f} s)")
        return [Verdict("retry_after_honoured", wasted == 0, wasted, "== 0", "wasted attempts",
                        msg, penalty="retry_after",
                        metrics={"retry_after_s": after, "retries_after_429": len(gaps),
                                 "wasted_attempts": wasted, "shortest_retry_gap_s": shortest,
                                 "retry_after_honoured": wasted == 0})]


@register
class Quota(Toxic):
    """429 ``insufficient_quota`` without Retry-After: retrying cannot help."""

    type = "quota"
    condition_text = "exhausted quota (429)"
    exercises = "telling an exhausted quota (never retry) from a rate limit"
    summary = "answer 429 insufficient_quota (must not be retried)"
    streams = ("downstream",)
    attrs = (_PROVIDER,)

    async def on_request(self, ex: Exchange) -> Reply | None:
        msg = ("You exceeded your current quota, please check your plan and billing details.")
        if self.attributes["provider"] == "anthropic":
            body = error_body("anthropic", 400, "Your credit balance is too low to access the "
                              "API.", kind="invalid_request_error")
            return _json_reply(400, body)
        return _json_reply(429, error_body(self.attributes["provider"], 429, msg,
                                           kind="insufficient_quota", code="insufficient_quota"))


    def judge(self, attempts: Attempts) -> list[Verdict]:
        """``quota_not_retried``: no attempt after this toxic fired within one user request
        (``insufficient_quota`` cannot succeed on retry); a failure caps the score at 50."""
        retries = sum(1 for calls in attempts for c in ordered(calls)[:-1]
                      if self.name in c.toxics)
        return [Verdict("quota_not_retried", retries == 0, retries, "== 0", "attempts",
                        f"{retries} retries of an exhausted quota (insufficient_quota cannot "
                        "succeed on retry)" if retries else "exhausted quota was not retried",
                        penalty="quota_retried", metrics={"quota_retries": retries})]


@register
class ContextLength(Toxic):
    """400 context-length error as the provider words it."""

    type = "context_length"
    condition_text = "context-length error"
    exercises = "handling of a prompt longer than the model's window"
    summary = "answer 400 context_length_exceeded"
    streams = ("downstream",)
    attrs = (_PROVIDER, Attr("max_tokens", 4096, "advertised context window", "tokens",
                             min=1, max=10_000_000))

    async def on_request(self, ex: Exchange) -> Reply | None:
        n = self.attributes["max_tokens"]
        if self.attributes["provider"] == "anthropic":
            body = error_body("anthropic", 400, f"prompt is too long: {n + 1000} tokens > {n} "
                              "maximum", kind="invalid_request_error")
        else:
            body = error_body(self.attributes["provider"], 400,
                              f"This model's maximum context length is {n} tokens. However, "
                              f"your messages resulted in {n + 1000} tokens. Please reduce the "
                              "length of the messages.", kind="invalid_request_error",
                              code="context_length_exceeded", param="messages")
        return _json_reply(400, body)


@register
class Hang(Toxic):
    """Holds the request before any header is sent, then forwards it normally.

    ``duration: 0`` holds until the toxic is removed or the proxy stops.
    """

    type = "hang"
    condition_text = "upstream hang"
    exercises = "request timeouts towards the dependency"
    summary = "hang before response headers (0 = until the toxic is removed)"
    attrs = (Attr("duration", 0, "hold time (0 = until removed)", "ms", min=0,
                  max=86_400_000),)

    async def on_request(self, ex: Exchange) -> Reply | None:
        await self.hold(ex, self.attributes["duration"] / 1000.0)
        return None


class _EventToxic(Toxic):
    """A downstream toxic working on SSE events (plain chunks for other bodies)."""

    streams = ("downstream",)
    rewrites_body = True

    def events(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        return sse_events(chunks) if ex.is_sse else chunks


@register
class StreamStall(_EventToxic):
    """Sends headers and ``after_events`` events, then silence with the socket open for
    ``duration`` ms (0 = until removed); the rest follows when the stall ends."""

    type = "stream_stall"
    condition_text = "stream stall"
    exercises = "idle timeouts on a streamed answer"
    wrong_answer = "partial output emitted as if complete"
    summary = "200 and some chunks, then silence with the connection open"
    attrs = (Attr("after_events", 1, "events (or chunks) sent before the stall", min=0,
                  max=1_000_000),
             Attr("duration", 0, "stall length (0 = until removed)", "ms", min=0,
                  max=86_400_000))

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        n = 0
        async for event in self.events(ex, chunks):
            if n == self.attributes["after_events"]:
                await self.hold(ex, self.attributes["duration"] / 1000.0)
            n += 1
            yield event
        if n <= self.attributes["after_events"]:
            await self.hold(ex, self.attributes["duration"] / 1000.0)


@register
class StreamCut(_EventToxic):
    """Drops the connection before the final event (``after_events: -1``) or after N events.

    The final event is the first one with a non-null ``finish_reason``, ``message_delta``,
    ``message_stop`` or ``[DONE]`` (see ``is_final``).
    """

    type = "stream_cut"
    condition_text = "truncated stream"
    exercises = "detection of a stream cut before its final chunk"
    wrong_answer = "partial output emitted as if complete"
    summary = "close the connection before the stream's final chunk"
    attrs = (Attr("after_events", -1, "events sent before the cut (-1 = before the final)",
                  min=-1, max=1_000_000),)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        limit, n = self.attributes["after_events"], 0
        async for event in self.events(ex, chunks):
            if n == limit or (limit < 0 and is_final(event)):
                break
            n += 1
            yield event
        raise CutConnection()


@register
class NoFinishReason(_EventToxic):
    """Sets every ``finish_reason`` to null and (``drop_done``) drops ``[DONE]`` and
    Anthropic's ``message_stop``; the stream then ends cleanly."""

    type = "no_finish_reason"
    condition_text = "stream without finish_reason"
    exercises = "detection of a stream that ends without finish_reason or [DONE]"
    wrong_answer = "partial output emitted as if complete"
    summary = "stream ends without finish_reason and without [DONE]"
    attrs = (Attr("drop_done", True, "also drop the [DONE] / message_stop event"),)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for event in self.events(ex, chunks):
            if self.attributes["drop_done"] and (is_done(event) or b"message_stop" in event):
                continue
            doc = event_json(event)
            if isinstance(doc, dict) and any(isinstance(c, dict) and c.get("finish_reason")
                                             for c in doc.get("choices") or ()):
                for c in doc["choices"]:
                    if isinstance(c, dict):
                        c["finish_reason"] = None
                event = with_data(event, doc)
            yield event


@register
class SseError(_EventToxic):
    """After ``after_events`` events, sends the provider's mid-stream error event and ends
    the stream (e.g. Anthropic ``overloaded_error``, scenario S04)."""

    type = "sse_error"
    condition_text = "mid-stream error"
    exercises = "handling of a mid-stream error event"
    wrong_answer = "partial output emitted as if complete"
    summary = "send a mid-stream SSE error event, then end the stream"
    attrs = (Attr("after_events", 2, "events sent before the error", min=0, max=1_000_000),
             _PROVIDER,
             Attr("error_type", "overloaded_error", "provider error type"),
             Attr("message", "Overloaded", "error message"))

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        a, n = self.attributes, 0
        async for event in self.events(ex, chunks):
            if n == a["after_events"]:
                break
            n += 1
            yield event
        yield sse_error_event(a["provider"], a["message"], a["error_type"])


@register
class SlowTtft(Toxic):
    """Delays the first body byte by ``delay`` ms (headers go out at once): slow TTFT."""

    type = "slow_ttft"
    exercises = "time-to-first-token budgets"
    summary = "delay the first streamed chunk (time to first token)"
    streams = ("downstream",)
    rewrites_body = True
    attrs = (Attr("delay", 2000, "added time to first token", "ms", min=0, max=86_400_000),)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        first = True
        async for chunk in chunks:
            if first:
                await asyncio.sleep(self.attributes["delay"] / 1000.0)
                first = False
            yield chunk


@register
class TokenRate(_EventToxic):
    """Paces the stream to ``tokens_per_s`` events per second (one SSE event ~ one token;
    plain chunks for other bodies). Events already late are sent at once."""

    type = "token_rate"
    exercises = "streaming under slow token generation"
    summary = "shape streamed tokens to tokens_per_s"
    attrs = (Attr("tokens_per_s", 5.0, "events per second", "tokens/s", min=0.01,
                  max=1_000_000),)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        gap = 1.0 / self.attributes["tokens_per_s"]
        due = time.monotonic()
        async for event in self.events(ex, chunks):
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            due = max(due, time.monotonic()) + gap
            yield event


@register
class Rechunk(Toxic):
    """Re-splits the body at random byte boundaries (``min_size``..``max_size`` bytes); with
    ``split_utf8`` every multi-byte UTF-8 sequence is also cut after its first byte, so
    decoders that assume whole characters per chunk break (scenarios S09, S11). Pieces are
    sent ``delay`` ms apart so the network does not merge them again. Bytes are unchanged."""

    type = "rechunk"
    exercises = "decoders that assume whole characters or events per chunk"
    wrong_answer = "answer or tool call lost under re-chunking"
    summary = "re-chunk the body at arbitrary byte boundaries, splitting UTF-8 sequences"
    streams = ("downstream",)
    rewrites_body = True
    attrs = (Attr("min_size", 1, "smallest piece", "bytes", min=1, max=1 << 20),
             Attr("max_size", 16, "largest piece", "bytes", min=1, max=1 << 20),
             Attr("split_utf8", True, "cut inside every multi-byte UTF-8 character"),
             Attr("delay", 1.0, "pause between pieces", "ms", min=0, max=60_000))

    def condition(self) -> str:
        return "split UTF-8" if self.attributes["split_utf8"] else "re-chunked stream"

    def cuts(self, data: bytes, rng: random.Random) -> list[int]:
        """Cut offsets for ``data`` (sorted, without 0 and len)."""
        a = self.attributes
        lo, hi = a["min_size"], max(a["min_size"], a["max_size"])
        cuts: set[int] = set()
        i = 0
        while True:
            i += rng.randint(lo, hi)
            if i >= len(data):
                break
            cuts.add(i)
        if a["split_utf8"]:
            cuts.update(k + 1 for k, b in enumerate(data) if b >= 0xC0 and k + 1 < len(data))
        return sorted(cuts)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        rng, delay = self.rng(ex), self.attributes["delay"] / 1000.0
        async for chunk in chunks:
            prev = 0
            for cut in [*self.cuts(chunk, rng), len(chunk)]:
                yield chunk[prev:cut]
                prev = cut
                if delay:
                    await asyncio.sleep(delay)
