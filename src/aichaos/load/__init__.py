"""Layer 6 (scalability and cost): load generation, latency histograms, saturation, cost.

Open-loop (constant, Poisson, bursty) and closed-loop load on any :class:`aichaos.targets.Target`,
latency timed from each request's scheduled send (no coordinated omission), HdrHistogram
percentiles, rate sweeps with knee detection, context-window probes and a token cost model.
"""

from aichaos.config._scale import load_profiles
from aichaos.load._capacity import Capacity, sustained_capacity
from aichaos.load._clock import ClockOffset, estimate_offset
from aichaos.load._context import (
    ContextCase,
    ContextProbeResult,
    UpstreamSeen,
    approx_tokens,
    build_needle_input,
    probe_context_window,
)
from aichaos.load._cost import (
    DEFAULT_PRICES,
    DEFAULT_PRICES_DATE,
    CostEstimate,
    ModelPrice,
    estimate_cost,
    estimate_step_cost,
    lookup_price,
)
from aichaos.load._drive import drive_load, probe_target_context
from aichaos.load._engine import LoadProgress, StepSpec, TokenCounter, run_step
from aichaos.load._histogram import LatencyHistogram
from aichaos.load._http import RawHttpTarget
from aichaos.load._intervals import median_interval, poisson_rate_interval
from aichaos.load._overload import (
    RateTest,
    StepSizing,
    StepVerdict,
    judge_step,
    rate_power,
    rate_test,
    service_sample,
    size_step,
)
from aichaos.load._plan import ScalePlan, ScaleResult, plan_from_config, run_scale
from aichaos.load._profiles import PROFILES, ArrivalProfile, arrival_times, load_profile
from aichaos.load._queueing import QueueBehaviour, queue_behaviour
from aichaos.load._ray import RayEngine, WorkerStep, split_spec
from aichaos.load._results import (
    HISTOGRAMS,
    Sample,
    StepResult,
    SweepResult,
    error_group,
    merge_steps,
)
from aichaos.load._signals import KNOWN_SIGNALS, SaturationScraper, parse_saturation
from aichaos.load._sweep import SaturationRule, mark_saturation, run_sweep

__all__ = [
    "DEFAULT_PRICES",
    "DEFAULT_PRICES_DATE",
    "HISTOGRAMS",
    "KNOWN_SIGNALS",
    "PROFILES",
    "ArrivalProfile",
    "Capacity",
    "ClockOffset",
    "ContextCase",
    "ContextProbeResult",
    "CostEstimate",
    "LatencyHistogram",
    "LoadProgress",
    "ModelPrice",
    "QueueBehaviour",
    "RateTest",
    "RawHttpTarget",
    "RayEngine",
    "Sample",
    "SaturationRule",
    "SaturationScraper",
    "ScalePlan",
    "ScaleResult",
    "StepResult",
    "StepSizing",
    "StepSpec",
    "StepVerdict",
    "SweepResult",
    "TokenCounter",
    "UpstreamSeen",
    "WorkerStep",
    "approx_tokens",
    "arrival_times",
    "build_needle_input",
    "drive_load",
    "error_group",
    "estimate_cost",
    "estimate_offset",
    "estimate_step_cost",
    "judge_step",
    "load_profile",
    "load_profiles",
    "lookup_price",
    "mark_saturation",
    "median_interval",
    "merge_steps",
    "parse_saturation",
    "plan_from_config",
    "poisson_rate_interval",
    "probe_context_window",
    "probe_target_context",
    "queue_behaviour",
    "rate_power",
    "rate_test",
    "run_scale",
    "run_step",
    "run_sweep",
    "service_sample",
    "size_step",
    "split_spec",
    "sustained_capacity",
]
