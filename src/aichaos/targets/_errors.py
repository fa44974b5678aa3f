"""Translate transport exceptions into response error classes (never raised to the runner)."""

from __future__ import annotations

import httpx


def classify_http_status(status: int) -> str | None:
    """Error class for an HTTP status: None for 2xx/3xx, else http_429 / http_4xx / http_5xx."""
    if status < 400:
        return None
    if status == 429:
        return "http_429"
    return "http_4xx" if status < 500 else "http_5xx"


def retry_after_seconds(value: str | bytes | None) -> float | None:
    """Seconds a ``Retry-After`` header value asks to wait (RFC 9110 §10.2.3: delay-seconds or
    an HTTP-date, taken relative to now), or None when absent or unreadable."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """(error_class, one-line message) for a transport exception raised while talking to a target.

    Timeouts (connect, read, pool, overall) are ``timeout``; refused or reset connections and
    protocol breakage are ``connection``; a stream that ended early is ``stream``.
    """
    name = type(exc).__name__
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timeout", f"{name}: no answer within the timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "stream", f"{name}: {_first_line(exc)}"
    if isinstance(exc, httpx.TransportError | ConnectionError | OSError):
        return "connection", f"{name}: {_first_line(exc)}"
    return "exception", f"{name}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "(no message)"
