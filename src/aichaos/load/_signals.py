"""Server-side saturation signals: queue length, running requests, KV-cache use, from Prometheus.

An overloaded LLM server says so in its own metrics before its clients do: requests wait in
its queue, its batch is full, its KV cache is nearly used up. When the target exposes a
Prometheus endpoint, layer 6 scrapes it about every 0.5 s during each load step and reports
each signal's mean and maximum per step beside the knee. The names are the servers' own:

============  =====================================  =====================================
signal        server                                 metric (gauge)
============  =====================================  =====================================
queue         vLLM                                   ``vllm:num_requests_waiting``
queue         text-generation-inference (TGI)        ``tgi_queue_size``
queue         llama.cpp ``llama-server --metrics``   ``llamacpp:requests_deferred``
running       vLLM                                   ``vllm:num_requests_running``
running       TGI                                    ``tgi_batch_current_size``
running       llama.cpp                              ``llamacpp:requests_processing``
kv_cache      vLLM (V1; V0)                          ``vllm:kv_cache_usage_perc``;
                                                     ``vllm:gpu_cache_usage_perc``
kv_cache      llama.cpp                              ``llamacpp:kv_cache_usage_ratio``
gpu           NVIDIA DCGM exporter                   ``DCGM_FI_DEV_GPU_UTIL`` (percent)
============  =====================================  =====================================

Sources: vLLM "Production Metrics" (docs.vllm.ai/en/latest/serving/metrics.html) and its V1
metrics design (docs.vllm.ai/en/v0.12.0/design/metrics/); TGI "Metrics"
(huggingface.co/docs/text-generation-inference/reference/metrics); the llama.cpp server
README ("GET /metrics"); NVIDIA dcgm-exporter's default counters. A gauge with several label
sets (one per model or engine) is summed, as a dashboard's ``sum()`` would. The exposition
text is parsed with ``prometheus_client``'s own parser. The local llama-cpp-python server
exposes no metrics; the parser is tested on exposition text written from these docs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

#: metric name -> (signal, server) of the table above
KNOWN_SIGNALS: dict[str, tuple[str, str]] = {
    "vllm:num_requests_waiting": ("queue", "vllm"),
    "tgi_queue_size": ("queue", "tgi"),
    "llamacpp:requests_deferred": ("queue", "llama.cpp"),
    "vllm:num_requests_running": ("running", "vllm"),
    "tgi_batch_current_size": ("running", "tgi"),
    "llamacpp:requests_processing": ("running", "llama.cpp"),
    "vllm:kv_cache_usage_perc": ("kv_cache", "vllm"),
    "vllm:gpu_cache_usage_perc": ("kv_cache", "vllm"),
    "llamacpp:kv_cache_usage_ratio": ("kv_cache", "llama.cpp"),
    "DCGM_FI_DEV_GPU_UTIL": ("gpu", "dcgm"),
}


def parse_saturation(text: str) -> dict[str, float]:
    """The known saturation gauges in Prometheus exposition ``text``: metric name -> value
    (summed over label sets). Unknown metrics are ignored.

    Raises:
        ValueError: ``text`` is not valid Prometheus text exposition format.
    """
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in KNOWN_SIGNALS:
                out[sample.name] = out.get(sample.name, 0.0) + float(sample.value)
    return out


@dataclass(slots=True)
class _Series:
    values: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        v = self.values
        return {"mean": sum(v) / len(v), "max": max(v), "last": v[-1], "samples": len(v)}


class SaturationScraper:
    """Scrapes ``url`` every ``interval_s`` while running; samples are filed under the step
    that is running (:meth:`begin` / :meth:`end`).

    Scrape failures are counted, never raised: a target whose endpoint fails keeps its load
    verdict, and the report says the signals were not available.

    Args:
        url: the Prometheus endpoint (``http://host:port/metrics``).
        interval_s: seconds between scrapes.
        timeout_s: per-scrape timeout, s.
    """

    def __init__(self, url: str, *, interval_s: float = 0.5, timeout_s: float = 2.0) -> None:
        self.url, self.interval_s, self.timeout_s = url, interval_s, timeout_s
        self.errors = 0
        self.last_error: str | None = None
        self._step: int | None = None
        self._series: dict[int, dict[str, _Series]] = {}
        self._task: asyncio.Task[None] | None = None

    async def scrape_once(self, client: Any) -> dict[str, float] | None:
        """One scrape: the known gauges, or None on failure (counted)."""
        try:
            r = await client.get(self.url, timeout=self.timeout_s)
            r.raise_for_status()
            return parse_saturation(r.text)
        except Exception as exc:  # the target's endpoint failing is an observation
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:160]
            return None

    async def _run(self) -> None:
        import httpx

        async with httpx.AsyncClient() as client:
            while True:
                t0 = time.perf_counter()
                values = await self.scrape_once(client)
                step = self._step
                if values is not None and step is not None:
                    series = self._series.setdefault(step, {})
                    for name, value in values.items():
                        series.setdefault(name, _Series()).values.append(value)
                await asyncio.sleep(max(0.0, self.interval_s - (time.perf_counter() - t0)))

    def start(self) -> None:
        """Start scraping in the background (inside a running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        """Stop scraping."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def begin(self, step: int) -> None:
        """File the next samples under ``step``."""
        self._step = step

    def end(self, step: int) -> dict[str, Any]:
        """Stop filing under ``step``; its signals: metric name -> {signal, server, mean,
        max, last, samples} (empty when no scrape succeeded)."""
        if self._step == step:
            self._step = None
        return {name: {"signal": KNOWN_SIGNALS[name][0], "server": KNOWN_SIGNALS[name][1],
                       **s.summary()}
                for name, s in sorted(self._series.get(step, {}).items())}
