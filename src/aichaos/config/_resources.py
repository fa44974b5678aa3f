"""Configuration of the resource-growth probe (layer 6) and the stream-budget probe (layer 3).

Both are optional blocks: ``layers.scale.resources`` and ``layers.integration.stream_budgets``.
What they need from the target (a PID or a Prometheus URL; declared budgets) is written here;
when it is missing the probe's check is *not measured*, with the reason, never a pass.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from aichaos.config._base import Strict


class ResourceProbeSpec(Strict):
    """``layers.scale.resources``: where to read the system's memory, and how long to load it.

    Attributes:
        pid: a local process to sample with psutil (RSS, VMS, PSS, USS, swap, fds, threads).
        include_children: sum the process's children too (a pre-forking server).
        metrics_url: a Prometheus endpoint exposing prometheus_client's process collector
            (``process_resident_memory_bytes``, ``process_virtual_memory_bytes``,
            ``process_open_fds``); used when ``pid`` is not given.
        requests: requests in the bounded series (warm-up included).
        warmup_requests: requests excluded from the fit (allocators and caches fill first).
        sample_every: one sample after every this many requests.
        concurrency: requests in flight while sampling.
        settle_s: pause before the last ("after") sample, seconds.
        max_mib_per_1k: growth of any memory figure above this, MiB per 1,000 requests, fails.
            The default, 64 (64 KiB per request), is what a series of a few hundred requests
            tells apart from allocator steps: glibc and pymalloc keep freed memory and give
            it back in steps; measured here, the local model server (llama-cpp-python) rose
            30-35 MiB/1k between two give-backs. Lower it with a longer series.
        max_fds_per_1k: growth of open file descriptors above this per 1,000 requests fails.
        max_threads_per_1k: growth of threads above this per 1,000 requests fails.
    """

    pid: int | None = Field(None, ge=1, description="local process id to sample with psutil")
    include_children: bool = Field(False, description="add the process's children")
    metrics_url: str | None = Field(
        None, description="Prometheus endpoint with process_* metrics (used without pid)")
    requests: int = Field(300, ge=20, le=1_000_000, description="requests in the series")
    warmup_requests: int = Field(50, ge=0, description="requests left out of the fit")
    sample_every: int = Field(10, ge=1, description="requests between two samples")
    concurrency: int = Field(4, ge=1, le=1024, description="requests in flight")
    settle_s: float = Field(0.5, ge=0, le=600, description="pause before the last sample, s")
    max_mib_per_1k: float = Field(
        64.0, gt=0, description="memory growth (RSS, VMS, PSS, swap) allowed, MiB/1k requests")
    max_fds_per_1k: float = Field(5.0, gt=0, description="fd growth allowed per 1k requests")
    max_threads_per_1k: float = Field(
        5.0, gt=0, description="thread growth allowed per 1k requests")

    @field_validator("metrics_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:8000/metrics")
        return value

    @model_validator(mode="after")
    def _fit_has_points(self) -> ResourceProbeSpec:
        after = self.requests - self.warmup_requests
        if after < 4 * self.sample_every:
            raise ValueError(
                f"requests - warmup_requests = {after} leaves fewer than 4 samples after "
                f"warm-up at sample_every {self.sample_every}: the fit needs at least 4")
        return self


class StreamBudgets(Strict):
    """``layers.integration.stream_budgets``: the budgets the system declares for a stream.

    Every budget is in seconds, measured at the client from when the request is sent. The
    probe slows the LLM dependency (slow first token, stalls) and checks that the system
    gives up within each budget plus ``tolerance_s``.

    Attributes:
        dependency: the LLM dependency to slow (an entry of ``dependencies``).
        ttft_s: time-to-first-token budget: no first chunk by then, the system gives up.
        idle_s: idle (read) timeout between two chunks.
        total_s: total deadline of one request.
        tolerance_s: slack on every budget (scheduling, the system's own work), seconds.
        delay_factor: the injected delay is this multiple of the budget it tests.
    """

    dependency: str = Field("llm_provider", min_length=1)
    ttft_s: float | None = Field(None, gt=0, description="TTFT budget, s")
    idle_s: float | None = Field(None, gt=0, description="idle (between chunks) timeout, s")
    total_s: float | None = Field(None, gt=0, description="total deadline, s")
    tolerance_s: float = Field(0.5, ge=0, description="slack on each budget, s")
    delay_factor: float = Field(3.0, gt=1, description="injected delay / budget")


class ConversationProbeSpec(Strict):
    """``layers.scale.conversation``: long conversations with a session-aware target.

    Attributes:
        turns: user turns per conversation.
        conversations: conversations run one after the other (each its own session id).
        session_header: the request header carrying the session (conversation) id; the target
            keeps the history per id. The id is ``aichaos-<seed>-<n>``.
        dependency: the LLM dependency whose upstream requests are checked.
    """

    turns: int = Field(20, ge=2, le=1000, description="user turns per conversation")
    conversations: int = Field(1, ge=1, le=100, description="conversations to run")
    session_header: str = Field("X-Session-Id", min_length=1,
                                description="header carrying the conversation id")
    dependency: str = Field("llm_provider", min_length=1,
                            description="LLM dependency whose upstream requests are read")
