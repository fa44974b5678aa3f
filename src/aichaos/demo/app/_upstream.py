"""Calls from the app to its dependencies: the LLM (streaming chat) and the CRM.

``naive`` calls are plain httpx with no timeout and no retry; every failure propagates.
``hardened`` calls have connect/read timeouts (httpx's read timeout applies to each read, so it
is also the stream-idle timeout), a total deadline, tenacity retries with jittered
exponential backoff that honour ``Retry-After``, no retry of a quota 429, and a circuit breaker.
Retries only happen before the first token is sent on: a stream that fails after that is
reported as :class:`PartialOutput` and never replayed.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from aichaos.demo.app._settings import AppSettings


class UpstreamError(Exception):
    """An upstream call failed. ``kind``: connect, timeout, http, rate_limit, quota,
    stream_error, truncated or bad_response; ``retry_after_s`` from the response headers."""

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s


class PartialOutput(Exception):
    """The stream failed after some tokens were already sent on (never retried)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"stream failed after partial output: {cause}")
        self.cause = cause


class CircuitOpen(Exception):
    """The circuit breaker is open: the upstream is not called."""


class CircuitBreaker:
    """Consecutive-failure circuit breaker (Nygard, *Release It!*, 2007).

    closed: calls pass; ``threshold`` consecutive failed requests (after their retries) open
    it. open: calls fail at once with :class:`CircuitOpen` for ``reset_s`` seconds. half-open:
    after that, one trial call passes; success closes the breaker, failure opens it again.
    """

    def __init__(self, threshold: int, reset_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.reset_s, self.clock = threshold, reset_s, clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if self.clock() - self.opened_at < self.reset_s else "half_open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.trial_running:
            self.trial_running = True
            return True
        return False

    def success(self) -> None:
        self.failures, self.opened_at, self.trial_running = 0, None, False

    def failure(self) -> None:
        self.failures += 1
        self.trial_running = False
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()


def _retry_after(headers: httpx.Headers) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _classify_status(resp: httpx.Response, body: bytes) -> UpstreamError:
    text = body.decode("utf-8", "replace")[:300]
    ra = _retry_after(resp.headers)
    if resp.status_code == 429:
        kind = "quota" if "insufficient_quota" in text or "quota" in text.lower() else "rate_limit"
        return UpstreamError(kind, text, status=429, retry_after_s=ra)
    return UpstreamError("http", f"HTTP {resp.status_code}: {text}", status=resp.status_code,
                         retry_after_s=ra)


@dataclass
class StreamResult:
    """What a finished upstream stream reported."""

    finish_reason: str | None = None
    response_id: str | None = None
    chunks: int = 0
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def _events(resp: httpx.Response) -> AsyncIterator[dict[str, Any] | None]:
    """Parsed SSE ``data:`` payloads; ``None`` for ``[DONE]``. An ``event: error`` or an
    ``error`` object raises :class:`UpstreamError` (``stream_error``)."""
    event = "message"
    async for line in resp.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
            continue
        if not line.startswith("data:"):
            if not line:
                event = "message"
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            yield None
            return
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise UpstreamError("bad_response", f"invalid JSON in stream: {data[:80]}") from exc
        if event == "error" or (isinstance(obj, dict) and "error" in obj):
            raise UpstreamError("stream_error", data[:200])
        if not isinstance(obj, dict):
            raise UpstreamError("bad_response", f"stream event is not an object: {data[:80]}")
        yield obj


def _delta(obj: dict[str, Any], result: StreamResult) -> str:
    result.response_id = obj.get("id", result.response_id)
    choices = obj.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return ""
    choice = choices[0]
    if choice.get("finish_reason"):
        result.finish_reason = choice["finish_reason"]
    content = (choice.get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""


async def naive_stream(client: httpx.AsyncClient, url: str, body: dict[str, Any],
                       result: StreamResult) -> AsyncIterator[str]:
    """The naive call: no timeout, no retry, no check that the stream completed."""
    result.attempts = 1
    async with client.stream("POST", url, json=body) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                obj = json.loads(line[5:])
                text = obj["choices"][0]["delta"].get("content") or ""
                result.finish_reason = obj["choices"][0].get("finish_reason")
                result.chunks += 1
                yield text


class HardenedLLM:
    """Streaming chat with timeouts, retries, a deadline and a circuit breaker."""

    RETRIED = frozenset({"connect", "timeout", "rate_limit", "stream_error", "truncated",
                         "bad_response", "http"})

    def __init__(self, client: httpx.AsyncClient, settings: AppSettings,
                 on_retry: Callable[[UpstreamError], None]) -> None:
        self.client, self.settings, self.on_retry = client, settings, on_retry
        self.breaker = CircuitBreaker(settings.breaker_threshold, settings.breaker_reset_s)

    def _retryable(self, exc: BaseException) -> bool:
        if not isinstance(exc, UpstreamError) or exc.kind not in self.RETRIED:
            return False
        if exc.kind == "http" and exc.status not in (500, 502, 503, 504, 529):
            return False
        return exc.retry_after_s is None or exc.retry_after_s <= self.settings.max_retry_after_s

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(multiplier=0.25, max=2.0)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, UpstreamError) and exc.retry_after_s is not None:
            return max(exc.retry_after_s, backoff)
        return backoff

    async def _open(self, url: str, body: dict[str, Any], result: StreamResult,
                    ) -> tuple[httpx.Response, AsyncIterator[dict[str, Any] | None], str]:
        """One attempt: send, check the status, read up to the first content delta."""
        result.attempts += 1
        req = self.client.build_request("POST", url, json=body)
        try:
            resp = await self.client.send(req, stream=True)
        except httpx.ConnectError as exc:
            raise UpstreamError("connect", str(exc) or "connection refused") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamError("timeout", type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("connect", type(exc).__name__) from exc
        try:
            if resp.status_code >= 400:
                raise _classify_status(resp, await resp.aread())
            events = _events(resp)
            async for obj in events:
                if obj is None:
                    return resp, events, ""
                text = _delta(obj, result)
                result.chunks += bool(text)
                if text or result.finish_reason:
                    return resp, events, text
            raise UpstreamError("truncated", "stream ended before any token")
        except httpx.TimeoutException as exc:
            await resp.aclose()
            raise UpstreamError("timeout", f"{type(exc).__name__} before the first token") from exc
        except httpx.HTTPError as exc:
            await resp.aclose()
            raise UpstreamError("truncated", type(exc).__name__) from exc
        except BaseException:
            await resp.aclose()
            raise

    async def stream(self, url: str, body: dict[str, Any],
                     result: StreamResult) -> AsyncIterator[str]:
        """Content deltas of one chat completion.

        Raises:
            CircuitOpen: the breaker is open.
            UpstreamError: every attempt failed before the first token (after retries).
            PartialOutput: the stream failed after tokens were yielded.
        """
        if not self.breaker.allow():
            raise CircuitOpen("circuit breaker open")
        s = self.settings

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, UpstreamError):
                self.on_retry(exc)

        try:
            retrying = AsyncRetrying(
                stop=stop_after_attempt(s.max_attempts) | stop_after_delay(s.deadline_s),
                wait=self._wait, retry=retry_if_exception(self._retryable),
                before_sleep=before_sleep, reraise=True)
            opened: tuple[httpx.Response, AsyncIterator[dict[str, Any] | None], str] = \
                await retrying(self._open, url, body, result)
            resp, events, first = opened
        except BaseException:
            self.breaker.failure()
            raise
        try:
            if first:
                yield first
            finished = result.finish_reason is not None
            async for obj in events:
                if obj is None:
                    finished = True
                    break
                text = _delta(obj, result)
                finished = finished or result.finish_reason is not None
                if text:
                    result.chunks += 1
                    yield text
            if not finished:
                raise UpstreamError("truncated", "stream ended without finish_reason or [DONE]")
        except (UpstreamError, httpx.HTTPError) as exc:
            self.breaker.failure()
            raise PartialOutput(exc) from exc
        except GeneratorExit:  # our client went away: no verdict on the upstream
            self.breaker.trial_running = False
            raise
        finally:
            await resp.aclose()
        self.breaker.success()


class CrmUnavailable(Exception):
    """The CRM did not answer usefully (hardened only; naive lets httpx errors through)."""


async def crm_lookup(client: httpx.AsyncClient, crm_url: str, order_id: str, *,
                     hardened: bool) -> dict[str, Any] | None:
    """The CRM record of ``order_id``, or None when the CRM says 404.

    Raises:
        CrmUnavailable: hardened, after 2 attempts (timeouts come from ``client``).
        httpx.HTTPError: naive, on any failure, including 404.
    """
    url = f"{crm_url.rstrip('/')}/orders/{order_id}"
    if not hardened:
        resp = await client.get(url)
        resp.raise_for_status()
        return dict(resp.json())
    try:
        async for attempt in AsyncRetrying(stop=stop_after_attempt(2), reraise=True,
                                           wait=wait_random_exponential(multiplier=0.1, max=0.5)):
            with attempt:
                resp = await client.get(url)
                if resp.status_code >= 500:
                    raise CrmUnavailable(f"CRM answered {resp.status_code}")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise CrmUnavailable(f"CRM answered {resp.status_code}")
        record = resp.json()
        if not isinstance(record, dict) or "status" not in record:
            raise CrmUnavailable("CRM answered an unexpected body")
        return record
    except (httpx.HTTPError, ValueError) as exc:
        raise CrmUnavailable(f"{type(exc).__name__}: {exc}") from exc
