"""What an endpoint speaks, found before an experiment is written (``aichaos init``).

An OpenAI-compatible endpoint is asked for one short streamed chat completion: an SSE answer
(``text/event-stream``) means ``stream: true`` works; a plain JSON answer with ``choices``
means the server ignores ``stream`` and the experiment must say ``stream: false``. An HTTP
JSON app is sent ``{"input": "ping"}`` and its answer searched for the first string field
among the usual names (nested objects and lists searched too), giving ``answer_path``; an
error status says so instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

#: field names an HTTP JSON app usually answers in, tried in this order
ANSWER_FIELDS = ("output", "answer", "response", "reply", "text", "content", "message",
                 "result")


@dataclass(frozen=True, slots=True)
class EndpointProbe:
    """What one probe found.

    Attributes:
        reachable: the endpoint answered over HTTP (any status).
        stream: for OpenAI endpoints, whether ``stream: true`` gave an SSE stream; None when
            not found out.
        answer_path: for HTTP apps, the JSONPath of the answer text; None when not found.
        note: one line saying what was found, for the user.
    """

    reachable: bool
    stream: bool | None = None
    answer_path: str | None = None
    note: str = ""


def probe_openai(base_url: str, model: str, *, api_key: str = "",
                 timeout_s: float = 20.0) -> EndpointProbe:
    """Send one streamed chat completion (max_tokens 4) to ``base_url``/chat/completions.

    Never raises: an unreachable endpoint or an error status is reported in ``note``.
    """
    url = base_url.rstrip("/") + "/chat/completions"
    body = {"model": model, "max_tokens": 4, "stream": True,
            "messages": [{"role": "user", "content": "Say OK."}]}
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0)) as client, \
                client.stream("POST", url, json=body, headers=headers) as r:
            kind = r.headers.get("content-type", "")
            text = r.read().decode("utf-8", "replace")
    except httpx.HTTPError as exc:
        return EndpointProbe(False, note=f"could not reach {url}: {type(exc).__name__}")
    if r.status_code >= 400:
        return EndpointProbe(True, note=f"{url} answered HTTP {r.status_code}: "
                                        f"{text[:80]!r}")
    if "text/event-stream" in kind or text.lstrip().startswith("data:"):
        return EndpointProbe(True, stream=True, note="answers stream: true with an SSE stream")
    if _json(text) is not None and "choices" in (_json(text) or {}):
        return EndpointProbe(True, stream=False,
                             note="ignores stream: true and answers plain JSON: stream: false")
    return EndpointProbe(True, note=f"{url} answered neither SSE nor chat-completion JSON "
                                    f"({kind or 'no content-type'})")


def probe_http(url: str, *, timeout_s: float = 20.0) -> EndpointProbe:
    """POST ``{"input": "ping"}`` to ``url`` and find the answer's field. Never raises."""
    try:
        r = httpx.post(url, json={"input": "ping"}, timeout=httpx.Timeout(timeout_s, connect=5.0))
    except httpx.HTTPError as exc:
        return EndpointProbe(False, note=f"could not reach {url}: {type(exc).__name__}")
    data = _json(r.text)
    if r.status_code >= 400:
        return EndpointProbe(True, note=f"{url} answered HTTP {r.status_code} to "
                                        f'{{"input": "ping"}} ({r.text[:80]!r}): set target.body '
                                        "to the fields it expects, then answer_path")
    if not isinstance(data, dict):
        return EndpointProbe(True, note=f"{url} answered HTTP {r.status_code} without a JSON "
                                        "object; set body and answer_path by hand")
    path = _answer_path(data, "$")
    if path is not None:
        return EndpointProbe(True, answer_path=path, note=f"answers JSON; the text is in {path}")
    return EndpointProbe(True, note=f"{url} answered JSON with none of the usual answer fields "
                                    f"({', '.join(ANSWER_FIELDS)}; keys: "
                                    f"{', '.join(list(data)[:6])}); set answer_path")


def _answer_path(data: Any, path: str, depth: int = 0) -> str | None:
    """The JSONPath of the first usual answer field holding text, searched breadth first in
    nested objects and the first element of lists (``$.data.choices[0].reply``)."""
    if depth > 4:
        return None
    if isinstance(data, dict):
        for name in ANSWER_FIELDS:
            if isinstance(data.get(name), str):
                return f"{path}.{name}"
        for key, value in data.items():
            found = _answer_path(value, f"{path}.{key}", depth + 1)
            if found is not None:
                return found
    elif isinstance(data, list) and data:
        return _answer_path(data[0], f"{path}[0]", depth + 1)
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
