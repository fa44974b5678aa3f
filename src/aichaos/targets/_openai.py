"""Target adapter for any OpenAI-compatible ``/chat/completions`` endpoint (streaming or not)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jinja2

from aichaos.config import OpenAITargetConfig
from aichaos.config._targets import target_type
from aichaos.errors import TargetUnreachable
from aichaos.targets._base import Target, TargetRequest, TargetResponse, request_headers
from aichaos.targets._errors import (
    classify_exception,
    classify_http_status,
    retry_after_seconds,
)
from aichaos.targets._request import RequestExtras, split_static

_ENV = jinja2.Environment(
    autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
)


@target_type
class OpenAITarget(Target):
    """Chat completions over HTTP, with per-chunk timing of streamed responses.

    Records status, TTFT (first chunk carrying content), E2E latency, chunk arrival times,
    finish_reason, usage tokens (``usage`` of the final chunk, requested with
    ``stream_options.include_usage``) and the error class. A stream that ends without a
    ``finish_reason`` is recorded as error class ``stream``, with or without ``[DONE]``: a
    provider that cut generation short (e.g. llama-cpp-python's server interrupting a stream
    when a concurrent request arrives) must not pass as a complete, empty answer.
    """

    kind = "openai"
    summary = "any OpenAI-compatible /chat/completions endpoint, streaming or not"
    config_model = OpenAITargetConfig

    def __init__(self, config: OpenAITargetConfig, *, client: httpx.AsyncClient | None = None):
        self.config = config
        headers, templated_headers = split_static(config.headers)
        params, templated_params = split_static(config.params)
        if config.api_key is not None and config.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        self._extras = RequestExtras(templated_headers, templated_params, config.extra_body)
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._template = _ENV.from_string(config.prompt_template)
        self._client = client or httpx.AsyncClient(
            headers=headers, params=params,
            timeout=httpx.Timeout(config.timeout_s, connect=5.0)
        )

    def describe(self) -> dict[str, Any]:
        return {"type": self.kind, "base_url": self.config.base_url, "model": self.config.model,
                "stream": self.config.stream, "max_tokens": self.config.max_tokens}

    def messages(self, request: TargetRequest) -> list[dict[str, str]]:
        """The chat messages sent for ``request`` (system prompt, then the rendered user turn)."""
        out = []
        if self.config.system_prompt:
            out.append({"role": "system", "content": self.config.system_prompt})
        user = self._template.render(input=request.input, context=request.context or "")
        out.append({"role": "user", "content": user})
        return out

    def _prepare(self, request: TargetRequest
                 ) -> tuple[dict[str, Any], dict[str, str] | None, dict[str, str] | None]:
        """``(JSON body, headers, query params)`` of ``request``, extras rendered per case."""
        headers, params, extra = self._extras.render(request, request_headers(request))
        return {**self._body(request), **extra}, headers, params

    def _body(self, request: TargetRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": self.messages(request),
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
            "stream": self.config.stream,
        }
        seed = request.metadata.get("seed")
        if isinstance(seed, int):
            body["seed"] = seed
        if self.config.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    async def check(self) -> None:
        base = self.config.base_url.rstrip("/")
        try:
            await self._client.get(base + "/models", timeout=5.0)
        except httpx.ConnectError as exc:
            raise TargetUnreachable(f"target {base}: connection refused or host unknown") from exc
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"target {base}: {type(exc).__name__}") from exc

    async def send(self, request: TargetRequest) -> TargetResponse:
        start = time.perf_counter()
        resp = TargetResponse()
        try:
            if self.config.stream:
                await self._send_stream(request, resp, start)
            else:
                await self._send_plain(request, resp)
        except Exception as exc:  # any failure of the system under test is an observation
            resp.error_class, resp.error = classify_exception(exc)
        resp.e2e_s = time.perf_counter() - start
        if resp.ttft_s is None and resp.output:
            resp.ttft_s = resp.e2e_s
        return resp

    async def _send_plain(self, request: TargetRequest, resp: TargetResponse) -> None:
        body, headers, params = self._prepare(request)
        r = await self._client.post(self._url, json=body, headers=headers, params=params)
        resp.status = r.status_code
        resp.retry_after_s = retry_after_seconds(r.headers.get("retry-after"))
        try:
            data = r.json()
        except ValueError:
            resp.error_class = classify_http_status(r.status_code) or "invalid_response"
            resp.error = f"HTTP {r.status_code}, body is not JSON: {r.text[:80]!r}"
            return
        resp.raw = data
        if (cls := classify_http_status(r.status_code)) is not None:
            resp.error_class, resp.error = cls, f"HTTP {r.status_code}: {_error_message(data)}"
            return
        try:
            choice = data["choices"][0]
            resp.output = choice["message"].get("content") or ""
            resp.finish_reason = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError):
            resp.error_class = "invalid_response"
            resp.error = "response JSON has no choices[0].message"
            return
        _read_usage(data, resp)

    async def _send_stream(
        self, request: TargetRequest, resp: TargetResponse, start: float
    ) -> None:
        body, headers, params = self._prepare(request)
        async with self._client.stream("POST", self._url, json=body, headers=headers,
                                       params=params) as r:
            resp.status = r.status_code
            resp.retry_after_s = retry_after_seconds(r.headers.get("retry-after"))
            if (cls := classify_http_status(r.status_code)) is not None:
                text = (await r.aread()).decode("utf-8", "replace")
                try:
                    message = _error_message(json.loads(text))
                except ValueError:
                    message = text[:80]
                resp.error_class, resp.error = cls, f"HTTP {r.status_code}: {message}"
                return
            if "application/json" in r.headers.get("content-type", ""):
                await r.aread()
                resp.error_class = "invalid_response"
                resp.error = ("target.stream is true but the server answered plain JSON, not an "
                              "SSE stream: set target.stream: false")
                return
            parts: list[str] = []
            done = False
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    resp.error_class, resp.error = "invalid_response", "stream chunk is not JSON"
                    return
                if "error" in chunk:
                    resp.error_class = "stream"
                    resp.error = f"mid-stream error event: {_error_message(chunk)}"
                    resp.output = "".join(parts)
                    return
                _read_usage(chunk, resp)
                for choice in chunk.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        now = time.perf_counter() - start
                        if resp.ttft_s is None:
                            resp.ttft_s = now
                        resp.chunk_times_s.append(now)
                        parts.append(delta)
                    if choice.get("finish_reason"):
                        resp.finish_reason = choice["finish_reason"]
            resp.output = "".join(parts)
            if resp.output_tokens is None and resp.chunk_times_s:
                resp.output_tokens, resp.token_source = len(resp.chunk_times_s), "chunks"
            if resp.finish_reason is None:
                resp.error_class = "stream"
                resp.error = "stream ended without finish_reason" + (
                    "" if done else " or [DONE]")

    async def aclose(self) -> None:
        await self._client.aclose()


def _read_usage(data: Any, resp: TargetResponse) -> None:
    usage = data.get("usage") if isinstance(data, dict) else None
    if isinstance(usage, dict):
        resp.input_tokens = usage.get("prompt_tokens", resp.input_tokens)
        resp.output_tokens = usage.get("completion_tokens", resp.output_tokens)
        resp.token_source = "usage"


def _error_message(data: Any) -> str:
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or err)[:200]
        if err:
            return str(err)[:200]
    return str(data)[:80]

