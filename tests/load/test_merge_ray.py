"""Splitting load between engines, exact merging, and the Ray engine on a local Ray instance."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Iterator

import pytest

from aichaos.load import (
    RawHttpTarget,
    RayEngine,
    StepResult,
    StepSpec,
    arrival_times,
    merge_steps,
    run_step,
    run_sweep,
    split_spec,
)


def test_constant_split_interleaves_into_the_original_schedule():
    spec = StepSpec(profile="constant", rate_rps=30, duration_s=1.0)
    shares = split_spec(spec, 3)
    union = sorted(
        t + s.phase_s for s in shares
        for t in arrival_times("constant", s.rate_rps, 1.0) if t + s.phase_s < 1.0
    )
    assert union == pytest.approx(list(arrival_times("constant", 30, 1.0)))


def test_split_keeps_totals():
    poisson = split_spec(StepSpec(profile="poisson", rate_rps=10, seed=1), 4)
    assert sum(s.rate_rps for s in poisson) == pytest.approx(10)
    assert len({s.seed for s in poisson}) == 4
    bursty = split_spec(StepSpec(profile="bursty", rate_rps=10, burst_size=5), 2)
    assert [s.burst_size for s in bursty] == [3, 2]
    assert [s.burst_size / s.rate_rps for s in bursty] == [0.5, 0.5]  # same period
    closed = split_spec(StepSpec(profile="closed", concurrency=5), 3)
    assert [s.concurrency for s in closed] == [2, 2, 1]


async def test_merge_is_exact_and_roundtrips(sleep_target):
    spec = StepSpec(profile="poisson", rate_rps=100, duration_s=0.2)
    a = await run_step(sleep_target(service_s=0.001, tokens=3), ["x"], spec)
    b = await run_step(sleep_target(service_s=0.003, fail_every=2), ["x"],
                       StepSpec(profile="poisson", rate_rps=100, duration_s=0.2, seed=9))
    b2 = StepResult.from_dict(b.to_dict(include_histograms=True))
    assert b2.to_dict() == b.to_dict()
    m = merge_steps([a, b2], offered_rps=200)
    assert m.scheduled == a.scheduled + b.scheduled
    assert m.errors_by_class == b.errors_by_class
    assert m.histograms["e2e"].count == a.completed + b.completed
    assert m.p("e2e", 100) == max(a.p("e2e", 100), b.p("e2e", 100))
    assert m.output_tokens == a.output_tokens and m.token_source == "usage"
    with pytest.raises(ValueError, match="missing field"):
        StepResult.from_dict({"index": 0})


class _Ok(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport

    def data_received(self, data: bytes) -> None:
        n = data.count(b"\r\n\r\n")
        self.t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * n)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    srv = loop.run_until_complete(loop.create_server(_Ok, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


async def test_ray_engine_sweep_merges_workers(url: str, ray_local: None) -> None:
    engine = RayEngine(functools.partial(RawHttpTarget, url, timeout_s=5), workers=2,
                       start_delay_s=1.0)
    spec = StepSpec(profile="constant", duration_s=0.5)
    sweep = await run_sweep(None, ["x"], [40, 80], spec, engine=engine,  # type: ignore[arg-type]
                            stop_after_saturated=0)
    assert [s.offered_rps for s in sweep.steps] == [40, 80]
    for step, n in zip(sweep.steps, (20, 40), strict=True):
        # both workers' shares arrived and merged: counts and histograms are exact
        assert step.scheduled == n and step.ok == n
        assert step.histograms["e2e"].count == n
        assert step.users == 256
        assert step.p("e2e", 50) < 0.5
