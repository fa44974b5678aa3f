"""The target interface: one method wide, like an httpx transport.

A target adapts the system under test to ``async send(request) -> response``. A failure
inside the system under test (HTTP 500, timeout, crash, garbage) is *not* raised: it comes back
as a :class:`TargetResponse` whose ``error_class`` says what happened. Only problems that make
assessment impossible from the start raise (:class:`aichaos.errors.TargetUnreachable` from
:meth:`Target.check`).
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

# Error classes recorded on a response; shared vocabulary of the degradation classes in
# shared/DESIGN.md (layer 3): timeout = hang past the client timeout, connection = crash /
# connection failure, http_4xx/http_5xx = error response, invalid_response = the answer could
# not be read (non-JSON, wrong shape), stream = broken stream (cut, mid-stream error event).
ERROR_CLASSES = (
    "timeout",
    "connection",
    "http_429",
    "http_4xx",
    "http_5xx",
    "invalid_response",
    "stream",
    "exception",
)


@dataclass(frozen=True, slots=True)
class TargetRequest:
    """One input sent to the system under test.

    Attributes:
        input: the user's text, exactly as it should arrive (may be empty or malformed).
        context: optional reference text (retrieved document, policy) given with the input.
        case_id: the golden case this request came from, for correlation.
        metadata: free-form labels (perturbation, toxic) carried into observations; a
            ``headers`` mapping is sent as extra HTTP headers by the HTTP-based targets.
    """

    input: str
    context: str | None = None
    case_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TargetResponse:
    """What the system under test did with one request.

    Attributes:
        output: the answer text ("" when there was none).
        status: HTTP status code, or None for in-process targets and failed connections.
        error_class: None on success, else one of :data:`ERROR_CLASSES`.
        error: one-line description of the error (no secrets), or None.
        e2e_s: end-to-end latency in seconds, from send to the last byte / return.
        ttft_s: time to first token in seconds (first non-empty content chunk of a stream;
            equal to ``e2e_s`` for non-streaming responses), or None when nothing arrived.
        chunk_times_s: arrival time of each content chunk in seconds since send (streams).
        finish_reason: the provider's finish_reason, or None when absent.
        input_tokens: prompt tokens from the response's usage, or None when not reported.
        output_tokens: completion tokens from the response's usage, or None.
        raw: the decoded response body (JSON targets) for debugging, or None.
        token_source: where the token counts came from: ``usage`` (the provider's own
            count), ``chunks`` (streamed content chunks counted as tokens, when the stream
            carried no usage; exact for llama.cpp and vLLM, which send one token per chunk,
            an estimate elsewhere) or None (no counts).
        retry_after_s: the ``Retry-After`` header of an error response, seconds (RFC 9110
            §10.2.3; an HTTP-date is converted to seconds from now), or None when absent.
    """

    output: str = ""
    status: int | None = None
    error_class: str | None = None
    error: str | None = None
    e2e_s: float = 0.0
    ttft_s: float | None = None
    chunk_times_s: list[float] = field(default_factory=list)
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    raw: Any = None
    token_source: str | None = None
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        """True when the target answered without an error class."""
        return self.error_class is None

    @property
    def itl_s(self) -> list[float]:
        """Inter-token latencies in seconds: gaps between consecutive content chunks.

        The first chunk is excluded (vLLM's TPOT/ITL convention: the first token's wait is
        TTFT, not ITL).
        """
        t = self.chunk_times_s
        return [b - a for a, b in itertools.pairwise(t)]


#: sent by probes that must reach the system's dependencies: a response cache that honours
#: it (RFC 9111, section 5.2.1.4) cannot hide the request path from the fault being measured
NO_CACHE = {"Cache-Control": "no-cache"}


def request_headers(request: TargetRequest) -> dict[str, str] | None:
    """Extra HTTP headers a probe asked for (``metadata["headers"]``), or None."""
    headers = request.metadata.get("headers")
    return {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else None


class Target(abc.ABC):
    """A system under test. Subclasses implement :meth:`send`; :meth:`aclose` frees resources."""

    #: registered name of the target type (``openai``, ``http``, ``python``, ``mock``)
    kind: str = ""
    #: one sentence for the plugin catalogue (targets register with
    #: :func:`aichaos.config._targets.target_type`, declaring ``config_model`` too)
    summary: str = ""
    #: ``(type, settings)`` the instance was built from (set by ``build_target``)
    spec: tuple[str, dict[str, Any]] = ("", {})

    @abc.abstractmethod
    async def send(self, request: TargetRequest) -> TargetResponse:
        """Send one request; never raises for failures of the system under test."""

    async def check(self) -> None:
        """Fail fast when the target cannot be reached at all.

        Raises:
            TargetUnreachable: nothing answers at the target's address.
        """

    async def aclose(self) -> None:
        """Release connections and other resources."""

    async def __aenter__(self) -> Target:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def describe(self) -> dict[str, Any]:
        """A secret-free description of the target for journals and reports."""
        return {"type": self.kind}


class NoCacheTarget(Target):
    """Wraps a target so every request carries ``Cache-Control: no-cache``.

    Load (layer 6) cycles through a few golden inputs; without this a response cache would
    answer all but the first of each and the sweep would measure the cache, not the system.
    """

    def __init__(self, inner: Target) -> None:
        self.inner = inner
        self.kind = inner.kind

    async def send(self, request: TargetRequest) -> TargetResponse:
        headers = {**(request.metadata.get("headers") or {}), **NO_CACHE}
        return await self.inner.send(dataclasses.replace(
            request, metadata={**request.metadata, "headers": headers}))

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


class DeadlineTarget(Target):
    """Wraps a target so no request outlives ``timeout_s`` (s): a later answer becomes error
    class ``timeout`` with the message ``no answer within N s`` plus ``where`` (the setting
    that set the bound, e.g. ``(layers.integration.timeout_s)``)."""

    def __init__(self, inner: Target, timeout_s: float, where: str = "") -> None:
        self.inner, self.timeout_s, self.where, self.kind = inner, timeout_s, where, inner.kind

    async def send(self, request: TargetRequest) -> TargetResponse:
        t0 = time.perf_counter()
        try:
            return await asyncio.wait_for(self.inner.send(request), self.timeout_s)
        except TimeoutError:
            where = f" {self.where}" if self.where else ""
            return TargetResponse(error_class="timeout", e2e_s=time.perf_counter() - t0,
                                  error=f"no answer within {self.timeout_s:g} s{where}")

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()
