"""Provider-shaped error bodies and server-sent-event helpers shared by the LLM toxics.

Error shapes follow the providers' documentation: OpenAI
(https://platform.openai.com/docs/guides/error-codes) ``{"error": {"message", "type", "param",
"code"}}`` and Anthropic (https://docs.anthropic.com/en/api/errors)
``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

PROVIDERS = ("openai", "anthropic", "plain")

_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
                 403: "invalid_request_error", 404: "invalid_request_error",
                 429: "rate_limit_exceeded", 500: "server_error", 502: "server_error",
                 503: "server_error", 504: "server_error"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                    429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


def error_body(provider: str, status: int, message: str, *, kind: str | None = None,
               code: str | None = None, param: str | None = None) -> bytes:
    """JSON error body in ``provider``'s shape.

    Args:
        provider: ``openai``, ``anthropic`` or ``plain`` (``{"error": message}``).
        status: HTTP status, used to pick the error type when ``kind`` is None.
        message: human-readable message.
        kind: provider error type (e.g. ``insufficient_quota``); derived from status if None.
        code: OpenAI ``code`` field.
        param: OpenAI ``param`` field.
    """
    doc: dict[str, Any]
    if provider == "anthropic":
        doc = {"type": "error",
               "error": {"type": kind or _ANTHROPIC_TYPES.get(status, "api_error"),
                         "message": message}}
    elif provider == "openai":
        doc = {"error": {"message": message,
                         "type": kind or _OPENAI_TYPES.get(status, "server_error"),
                         "param": param, "code": code}}
    else:
        doc = {"error": message, "status": status}
    return json.dumps(doc).encode()


def sse_error_event(provider: str, message: str, kind: str) -> bytes:
    """A mid-stream error event as the provider sends it (Anthropic: ``event: error``)."""
    if provider == "anthropic":
        data = json.dumps({"type": "error", "error": {"type": kind, "message": message}})
        return f"event: error\ndata: {data}\n\n".encode()
    data = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
    return f"data: {data}\n\n".encode()


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Regroup a byte stream into whole SSE events (each ending with a blank line).

    A trailing partial event (no blank line before EOF) is yielded as is.
    """
    buf = b""
    async for chunk in chunks:
        buf += chunk
        while True:
            i, n = buf.find(b"\n\n"), 2
            j = buf.find(b"\r\n\r\n")
            if j != -1 and (i == -1 or j < i):
                i, n = j, 4
            if i == -1:
                break
            yield buf[: i + n]
            buf = buf[i + n:]
    if buf:
        yield buf


def event_data(event: bytes) -> bytes | None:
    """The joined ``data:`` payload of one SSE event, or None when it has none."""
    lines = [ln[5:].lstrip(b" ") for ln in event.replace(b"\r\n", b"\n").split(b"\n")
             if ln.startswith(b"data:")]
    return b"\n".join(lines) if lines else None


def event_json(event: bytes) -> Any:
    """The event's data decoded as JSON, or None (no data, ``[DONE]`` or not JSON)."""
    data = event_data(event)
    if data is None or data.strip() == b"[DONE]":
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def with_data(event: bytes, doc: Any) -> bytes:
    """``event`` with its data replaced by ``doc`` as JSON (other fields kept)."""
    keep = [ln for ln in event.replace(b"\r\n", b"\n").split(b"\n")
            if ln and not ln.startswith(b"data:")]
    keep.append(b"data: " + json.dumps(doc, separators=(",", ":")).encode())
    return b"\n".join(keep) + b"\n\n"


def is_done(event: bytes) -> bool:
    """True for the OpenAI ``data: [DONE]`` terminator."""
    data = event_data(event)
    return data is not None and data.strip() == b"[DONE]"


def is_final(event: bytes) -> bool:
    """True for the event that ends a completion: a non-null ``finish_reason`` (OpenAI),
    ``message_delta``/``message_stop`` (Anthropic) or ``[DONE]``."""
    if is_done(event) or b"message_stop" in event or b"message_delta" in event:
        return True
    doc = event_json(event)
    if isinstance(doc, dict):
        for choice in doc.get("choices") or ():
            if isinstance(choice, dict) and choice.get("finish_reason"):
                return True
    return False
