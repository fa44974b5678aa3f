"""The asyncio engine: coordinated omission, profiles, closed loop, errors, goodput, tokens."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from typing import Any

import pytest

import aichaos.load as load
from aichaos.config import Slos, Tolerance
from aichaos.errors import ConfigError
from aichaos.load import StepSpec, arrival_times, run_step


async def test_stalled_target_latency_includes_the_wait(sleep_target):
    # One worker, 100 req/s, 1 ms service; request 10 stalls 0.5 s. The ~50 requests scheduled
    # during the stall must carry the wait in their latency (timed from their scheduled send).
    target = sleep_target(service_s=0.001, stall_at=10, stall_s=0.5)
    spec = StepSpec(profile="constant", rate_rps=100, duration_s=1.0, concurrency=1)
    step = await run_step(target, ["hi"], spec)
    assert step.scheduled == 100
    assert step.completed == 100
    # the target itself saw one slow request only...
    assert step.p("service", 95) < 0.05
    assert step.histograms["service"].max() >= 0.49
    # ...but 40+ requests waited behind it: p60 of E2E is well above the service time
    assert step.p("e2e", 60) > 0.1
    assert step.histograms["e2e"].max() >= 0.49
    assert step.histograms["queue_delay"].max() >= 0.45
    # the 1 ms service clears the backlog well before the window ends
    assert 0 <= step.drain_s < 0.1
    # throughput counts completions during the window: all 100 (the stall only delayed them)
    assert step.window_completed == 100 and step.achieved_rps == pytest.approx(100)


def test_poisson_gaps_have_the_right_mean_and_are_seeded():
    times = list(arrival_times("poisson", 200.0, 50.0, seed=7))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert abs(statistics.fmean(gaps) - 1 / 200) < 0.03 / 200
    # exponential: standard deviation equals the mean
    assert abs(statistics.pstdev(gaps) / statistics.fmean(gaps) - 1) < 0.05
    assert times == list(arrival_times("poisson", 200.0, 50.0, seed=7))
    assert times != list(arrival_times("poisson", 200.0, 50.0, seed=8))


def test_constant_and_bursty_schedules():
    assert list(arrival_times("constant", 4, 1.0)) == [0.0, 0.25, 0.5, 0.75]
    bursty = list(arrival_times("bursty", 10, 2.0, burst_size=5))
    assert bursty == [0.0] * 5 + [0.5] * 5 + [1.0] * 5 + [1.5] * 5
    with pytest.raises(ConfigError, match="load profile: expected one of"):
        list(arrival_times("zigzag", 1, 1))
    with pytest.raises(ConfigError, match="load rate"):
        list(arrival_times("constant", 0, 1))


async def test_closed_loop_throughput_matches_users_over_service_time(sleep_target):
    target = sleep_target(service_s=0.01)
    step = await run_step(target, ["a", "b"], StepSpec(profile="closed", duration_s=0.5,
                                                       concurrency=4))
    assert step.offered_rps is None
    assert target.max_in_flight == 4
    # 4 users / 10 ms = 400 req/s at most; event-loop overhead costs a little
    assert 200 < step.achieved_rps <= 410
    assert step.histograms["queue_delay"].max() <= 0.000001


async def test_error_classes_and_goodput(sleep_target):
    target = sleep_target(service_s=0.002, fail_every=4)
    spec = StepSpec(profile="constant", rate_rps=200, duration_s=0.4)
    loose = Slos(latency_p95_s=Tolerance(max=1.0))
    step = await run_step(target, ["x"], spec, slos=loose)
    assert step.scheduled == 80
    assert step.errors_by_class == {"http_429": 20}
    assert step.errors_by_group == {"429": 20}
    assert step.error_rate == pytest.approx(0.25)
    assert step.goodput_rps == pytest.approx(step.ok_rps)
    tight = Slos(latency_p95_s=Tolerance(max=0.0005))
    step2 = await run_step(sleep_target(service_s=0.002), ["x"], spec, slos=tight)
    assert step2.ok == 80 and step2.good == 0 and step2.goodput_rps == 0.0


async def test_streaming_metrics_from_chunks_and_usage(sleep_target):
    target = sleep_target(service_s=0.02, tokens=5)
    spec = StepSpec(profile="poisson", rate_rps=100, duration_s=0.3, seed=3)
    step = await run_step(target, ["x"], spec)
    assert step.token_source == "usage"
    assert step.output_tokens == 5 * step.completed
    assert step.input_tokens == 10 * step.completed
    # 5 chunks 4 ms apart: ITL = 4 ms; TPOT = (20 ms - 4 ms) / 4 = 4 ms (first token excluded)
    assert step.p("itl", 50) == pytest.approx(0.004, rel=0.01)
    assert step.histograms["itl"].count == 4 * step.completed
    assert step.p("tpot", 50) == pytest.approx(0.004, rel=0.01)
    assert step.p("ttft", 50) >= 0.004
    assert step.tokens_per_s_per_request == pytest.approx(250, rel=0.01)
    d = step.to_dict(include_histograms=True)
    assert d["latency_s"]["itl"]["count"] == 4 * step.completed
    assert load.LatencyHistogram.decode(d["histograms"]["e2e"]).count == step.completed


async def test_warmup_is_not_measured_and_progress_is_reported(sleep_target):
    seen: list[str] = []
    spec = StepSpec(profile="constant", rate_rps=100, duration_s=0.3, warmup_s=0.2)
    step = await run_step(sleep_target(service_s=0.001), ["x"], spec,
                          progress=lambda p: seen.append(p.phase))
    assert step.scheduled == 30
    assert seen[0] == "start" and seen[-1] == "end"
    assert step.p("scheduler_lag", 99) < 0.05


@pytest.mark.parametrize("concurrency", [256, 1])
async def test_drain_timeout_counts_unfinished(sleep_target: Any, concurrency: int) -> None:
    # 256: all 4 in flight when the drain runs out; 1: one in flight, 3 waiting for the slot
    target = sleep_target(service_s=5.0)
    spec = StepSpec(profile="constant", rate_rps=20, duration_s=0.2, drain_timeout_s=0.1,
                    concurrency=concurrency)
    step = await run_step(target, ["x"], spec)
    assert step.scheduled == 4
    assert step.errors_by_class == {"unfinished": 4}
    assert target.calls == min(4, concurrency)


async def test_bad_spec_is_one_clear_line(sleep_target):
    with pytest.raises(ConfigError, match="load rate_rps: expected > 0"):
        await run_step(sleep_target(), ["x"], StepSpec(profile="constant", rate_rps=None))
    with pytest.raises(ConfigError, match="load inputs"):
        await run_step(sleep_target(), [], StepSpec(profile="closed"))


def test_public_names_sorted():
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, Classes, functions
    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert load.__all__ == sorted(load.__all__, key=key)
    assert all(hasattr(load, n) for n in load.__all__)


async def test_engine_is_cancellable(sleep_target):
    spec = StepSpec(profile="constant", rate_rps=50, duration_s=5.0)
    task = asyncio.create_task(run_step(sleep_target(service_s=0.01), ["x"], spec))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_target_that_raises_is_recorded_not_fatal():
    from aichaos.targets import Target, TargetRequest, TargetResponse

    class Broken(Target):
        async def send(self, request: TargetRequest) -> TargetResponse:
            raise RuntimeError("boom")

    step = await run_step(Broken(), ["x"], StepSpec(profile="constant", rate_rps=50,
                                                    duration_s=0.1))
    assert step.errors_by_class == {"exception": 5}
    assert step.error_rate == 1.0 and step.goodput_rps == 0.0


@pytest.mark.parametrize(("profile", "rate", "duration", "warmup", "sends", "window"), [
    ("constant", 4.0, 0.1, 0.0, 1, 0.25),    # 0.4 arrivals asked: 1 sent (a 0.1 s window: 10/s)
    ("constant", 3.0, 0.5, 0.0, 2, 2 / 3),   # 1.5 asked: 2 sent (a 0.5 s window: 4/s)
    ("constant", 5.0, 0.5, 0.25, 3, 0.6),    # 2.5 asked, after warm-up: 3 (0.5 s: 6/s)
    ("bursty", 4.0, 0.3, 0.0, 2, 0.5),       # one burst of 2 every 0.5 s (0.3 s: 6.7/s)
])
async def test_tiny_steps_do_not_report_more_than_offered(
        sleep_target: Any, profile: str, rate: float, duration: float, warmup: float,
        sends: int, window: float) -> None:
    # A step of 1-3 requests: the window is rounded up to whole arrival periods, so it holds
    # exactly rate x window arrivals and the rates are not inflated by a partial period. The
    # tolerance is float error only (1e-9 relative): for constant and bursty schedules the
    # count is exact. The 1 ms service finishes every request inside its own period.
    spec = StepSpec(profile=profile, rate_rps=rate, duration_s=duration, warmup_s=warmup,
                    burst_size=2)
    target = sleep_target(service_s=0.001)
    step = await run_step(target, ["x"], spec)
    assert step.duration_s == pytest.approx(window)
    assert step.scheduled == step.window_completed == sends
    assert step.achieved_rps <= rate * (1 + 1e-9)
    assert step.achieved_rps == pytest.approx(rate)
    assert step.goodput_rps == pytest.approx(rate)
    assert step.scheduled_rps == pytest.approx(rate)
    assert target.calls == spec.planned_requests()


def test_window_and_planned_requests() -> None:
    # 5 s at 0.3 req/s: 2 arrivals, measured over the 6.67 s they stand for
    spec = StepSpec(profile="constant", rate_rps=0.3, duration_s=5.0)
    assert spec.window_s == pytest.approx(20 / 3) and spec.planned_requests() == 2
    # whole periods already: unchanged
    assert StepSpec(profile="constant", rate_rps=100, duration_s=1.0).window_s == 1.0
    assert StepSpec(profile="poisson", rate_rps=0.3, duration_s=5.0).window_s == 5.0
    assert StepSpec(profile="poisson", rate_rps=10, duration_s=2.0, warmup_s=1.0
                    ).planned_requests() == 30
    assert StepSpec(profile="bursty", rate_rps=10, duration_s=1.2, burst_size=5
                    ).planned_requests() == 15
    assert StepSpec(profile="closed", duration_s=5.0).planned_requests() is None


async def test_prepared_requests_keep_their_context_and_count_its_tokens() -> None:
    from aichaos.targets import Target, TargetRequest, TargetResponse

    class Echo(Target):
        """Records what it was sent; reports no usage, so the counter sizes the prompt."""

        def __init__(self) -> None:
            self.seen: list[TargetRequest] = []

        async def send(self, request: TargetRequest) -> TargetResponse:
            self.seen.append(request)
            return TargetResponse(output="ok", status=200, e2e_s=0.001)

    context = "Refunds are accepted within 30 days. " * 10  # 370 chars: 93 tokens at chars/4
    case = TargetRequest(input="Can I return it?", context=context, case_id="refund-1")
    spec = StepSpec(profile="constant", rate_rps=40, duration_s=0.1)
    bare, with_ctx = Echo(), Echo()
    plain = await run_step(bare, ["Can I return it?"], spec, token_counter=load.approx_tokens)
    step = await run_step(with_ctx, [case], spec, token_counter=load.approx_tokens)
    assert with_ctx.seen == [case] * 4  # sent as prepared: context and case id kept
    assert bare.seen[0].context is None and bare.seen[0].case_id == "load-0"
    # chars/4 of input (4) and context (93) per request; the bare text counts the input only
    assert plain.input_tokens == 4 * 4
    assert step.input_tokens == 4 * (4 + 93)


async def test_a_full_pool_serves_every_waiting_request(sleep_target: Any) -> None:
    # 2 slots x 10 ms = 200 req/s offered 200 req/s: slots free up just as sends come due,
    # the case where a request parked for a slot could be stranded until the drain timeout
    spec = StepSpec(profile="constant", rate_rps=200, duration_s=0.5, concurrency=2,
                    drain_timeout_s=5.0)
    started = time.perf_counter()
    step = await run_step(sleep_target(service_s=0.01), ["x"], spec)
    assert step.scheduled == step.completed == 100 and step.errors == 0
    assert time.perf_counter() - started < 3.0  # never waited for the drain timeout
