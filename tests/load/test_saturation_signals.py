"""Saturation signals from Prometheus text: vLLM, TGI and llama.cpp names, and the scraper.

The exposition texts under tests/data/saturation are written from each server's docs (see the
README there), not captured from a running server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from aichaos._net import free_port
from aichaos.load import KNOWN_SIGNALS, SaturationScraper, parse_saturation

DATA = Path(__file__).resolve().parents[1] / "data" / "saturation"


def test_vllm_queue_running_and_kv_cache() -> None:
    got = parse_saturation((DATA / "vllm.txt").read_text())
    assert got == {"vllm:num_requests_running": 16.0, "vllm:num_requests_waiting": 42.0,
                   "vllm:gpu_cache_usage_perc": 0.97, "vllm:kv_cache_usage_perc": 0.97}


def test_tgi_queue_and_batch() -> None:
    got = parse_saturation((DATA / "tgi.txt").read_text())
    assert got == {"tgi_queue_size": 37.0, "tgi_batch_current_size": 32.0}


def test_llamacpp_deferred_processing_and_kv_cache() -> None:
    got = parse_saturation((DATA / "llamacpp.txt").read_text())
    assert got == {"llamacpp:kv_cache_usage_ratio": 0.91, "llamacpp:requests_processing": 4.0,
                   "llamacpp:requests_deferred": 11.0}
    assert {KNOWN_SIGNALS[k][0] for k in got} == {"kv_cache", "running", "queue"}


def test_label_sets_are_summed() -> None:
    text = ('# TYPE vllm:num_requests_waiting gauge\n'
            'vllm:num_requests_waiting{model_name="a"} 3\n'
            'vllm:num_requests_waiting{model_name="b"} 4\n')
    assert parse_saturation(text) == {"vllm:num_requests_waiting": 7.0}


def test_malformed_exposition_raises() -> None:
    with pytest.raises(ValueError):
        parse_saturation("vllm:num_requests_waiting{model_name=} not-a-number\n")


async def test_scraper_counts_failures_and_files_nothing() -> None:
    scraper = SaturationScraper(f"http://127.0.0.1:{free_port()}/metrics", interval_s=0.05)
    scraper.begin(0)
    scraper.start()
    await asyncio.sleep(0.3)
    await scraper.aclose()
    assert scraper.end(0) == {}
    assert scraper.errors >= 2 and "ConnectError" in (scraper.last_error or "")


async def test_scraper_reads_a_real_prometheus_client_endpoint() -> None:
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    registry = CollectorRegistry()
    gauge = Gauge("tgi_queue_size", "Current queue size", registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        scraper = SaturationScraper(f"http://127.0.0.1:{port}/metrics", interval_s=0.05)
        async with httpx.AsyncClient() as client:
            gauge.set(5)
            assert await scraper.scrape_once(client) == {"tgi_queue_size": 5.0}
        scraper.start()
        scraper.begin(3)
        for value in (1, 9, 2):
            gauge.set(value)
            await asyncio.sleep(0.2)
        summary = scraper.end(3)
        await scraper.aclose()
    finally:
        server.shutdown()
        thread.join(5)
    q = summary["tgi_queue_size"]
    assert q["signal"] == "queue" and q["server"] == "tgi"
    assert q["max"] == 9 and q["samples"] >= 3 and 1 <= q["mean"] <= 9
