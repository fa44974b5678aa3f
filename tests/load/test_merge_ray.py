"""Splitting load between engines, exact merging, and the Ray engine on a local Ray instance."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aichaos.errors import ConfigError
from aichaos.load import (
    LoadProgress,
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
from sleep_upstream import sleep_upstream


def test_constant_split_interleaves_into_the_original_schedule():
    spec = StepSpec(profile="constant", rate_rps=30, duration_s=1.0)
    shares = split_spec(spec, 3)
    union = sorted(
        t + s.phase_s for s in shares
        for t in arrival_times("constant", s.rate_rps, 1.0) if t + s.phase_s < 1.0
    )
    assert union == pytest.approx(list(arrival_times("constant", 30, 1.0)))


async def test_split_shares_measure_the_whole_steps_window(sleep_target: Any) -> None:
    # 0.55 s at 30 req/s rounds to 17 periods (0.567 s); a share at 10 req/s would round to
    # 0.6 s on its own, so the shares must carry the whole step's window instead
    spec = StepSpec(profile="constant", rate_rps=30, duration_s=0.55)
    shares = split_spec(spec, 3)
    assert spec.window_s == pytest.approx(17 / 30)
    assert [s.window_s for s in shares] == [spec.window_s] * 3
    parts = await asyncio.gather(*(run_step(sleep_target(service_s=0.001), ["x"], s)
                                   for s in shares))
    merged = merge_steps(list(parts), offered_rps=30)
    assert [p.scheduled for p in parts] == [6, 6, 5]
    assert merged.scheduled == 17 and merged.achieved_rps == pytest.approx(30)


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

    # one Ray for the module (start-up is the slow part): 2 CPUs, a small object store
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False, object_store_memory=80 * 1024 * 1024)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def sleepy() -> Iterator[str]:
    with sleep_upstream(base_s=0.05, exp_mean_s=0.0, capacity=64) as url:
        yield url


async def test_ray_engine_sweep_merges_workers(url: str, ray_local: None) -> None:
    seen: list[LoadProgress] = []
    async with RayEngine(functools.partial(RawHttpTarget, url, timeout_s=5), workers=2,
                         start_delay_s=1.0) as engine:
        spec = StepSpec(profile="constant", duration_s=0.5)
        sweep = await run_sweep(None, ["x"], [40, 80], spec,  # type: ignore[arg-type]
                                engine=engine, stop_after_saturated=0, progress=seen.append)
    assert [s.offered_rps for s in sweep.steps] == [40, 80]
    # a time-based bar per step: start, ticks while the workers run, the merged result
    assert [(p.step, p.phase) for p in seen if p.phase != "running"] == [
        (0, "start"), (0, "end"), (1, "start"), (1, "end")]
    assert any(p.phase == "running" and p.planned is None for p in seen)
    assert [p.result for p in seen if p.phase == "end"] == sweep.steps
    for step, n in zip(sweep.steps, (20, 40), strict=True):
        # both workers' shares arrived and merged: counts and histograms are exact
        assert step.scheduled == n and step.ok == n
        assert step.histograms["e2e"].count == n
        assert step.users == 256
        assert step.p("e2e", 50) < 0.5

    # two actors on this machine: one clock, so each estimate's bound must hold 0
    described = engine.describe()
    assert described["name"] == "ray" and described["started_local"] is False
    for step, merged in zip(described["steps"], sweep.steps, strict=True):
        workers = step["workers"]
        assert [w["worker"] for w in workers] == [0, 1]
        assert len({w["pid"] for w in workers}) == 2  # two processes
        assert sum(w["scheduled"] for w in workers) == merged.scheduled
        for w in workers:
            assert abs(w["clock_offset_s"]) <= w["clock_error_s"] + 1e-6
            assert 0 < w["clock_rtt_s"] < 0.5
            assert -0.05 < w["start_lag_s"] < 0.5


async def test_ray_workers_time_from_the_scheduled_send(sleepy: str, ray_local: None) -> None:
    # 1 request in flight per worker, 50 ms each, 30 req/s offered per worker: each worker can
    # answer 20 req/s, so its later requests wait for the slot; a latency timed from the
    # actual send would hide that wait (coordinated omission)
    spec = StepSpec(profile="poisson", rate_rps=60, duration_s=1.0, concurrency=2, seed=5,
                    drain_timeout_s=10)
    async with RayEngine(functools.partial(RawHttpTarget, sleepy + "/", timeout_s=10),
                         workers=2, start_delay_s=0.5) as engine:
        merged = await engine(None, ["x"], spec)
        # an error raised inside a worker comes back as one line, and the actors are stopped
        engine.factory = functools.partial(RawHttpTarget, "ftp://nowhere/")
        with pytest.raises(ConfigError) as info:
            await engine(None, ["x"], spec)
        assert not engine._actors
    assert str(info.value).startswith("engine ray: in a worker: load url: expected http://")
    assert "\n" not in str(info.value) and len(engine.describe()["steps"]) == 1
    parts = engine.describe()["steps"][0]["workers"]
    assert [p["offered_rps"] for p in parts] == [30, 30]
    assert merged.scheduled == sum(p["scheduled"] for p in parts) > 30
    assert merged.ok == merged.completed == merged.scheduled
    assert merged.histograms["e2e"].count == merged.completed
    service, e2e = merged.p("service", 50), merged.p("e2e", 50)
    assert service is not None and e2e is not None
    assert 0.045 < service < 0.1
    assert e2e > 2 * service  # the wait for the slot counts
    assert merged.p("queue_delay", 90) > 0.1  # type: ignore[operator]


async def test_ray_engine_errors_are_one_line(url: str, ray_local: None) -> None:
    with pytest.raises(ConfigError, match=r"ray workers: expected >= 1, got 0"):
        RayEngine(functools.partial(RawHttpTarget, url), workers=0)
    # more workers than the cluster has CPUs: they cannot all start, said in one line
    engine = RayEngine(functools.partial(RawHttpTarget, url), workers=3, start_timeout_s=3)
    with pytest.raises(ConfigError, match=r"3 workers did not start within 3 s .*has 2\b"):
        await engine.start()
    await engine.aclose()
