"""The pre-run estimate: requests, time and cost a run will spend, printed before it sends.

Requests per layer are the suites' own planned counts (``ProbeSuite.planned_count``),
clamped to the layer's ``budget.requests``; the steady-state hypothesis adds ``2 x sample``;
``runtime.max_requests`` caps the total of layers 1-5 and the steady state (layer 6's load
requests are sized by its rates and durations and are not under that cap). Seconds per layer
are ``requests x latency / concurrency`` (at most the layer's ``budget.seconds``); layer 6
takes its steps' durations. The latency is the median end-to-end latency of the experiment's
previous stored run when there is one, else :data:`DEFAULT_LATENCY_S`. Cost prices each
request as its input characters / 4 plus the target's ``max_tokens`` (64 when it declares
none) with the model of ``runtime.price_model`` or ``layers.scale.price_model``. With
``runtime.confidence: decided`` the figures are upper bounds: layers stop once decided.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from rich.console import Console

from aichaos._events import EventBus
from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.probes import SuiteContext
from aichaos.probes._adaptive import price_per_token
from aichaos.results import LAYERS
from aichaos.runner import validate_suites
from aichaos.store import ResultStore
from aichaos.targets import MockTarget

#: per-request latency assumed when no earlier run of the experiment is stored, seconds
DEFAULT_LATENCY_S = 1.0


@dataclass(slots=True)
class RunEstimate:
    """What a run is expected to spend (upper bounds in ``decided`` mode).

    Attributes:
        layers: layer number -> (planned requests, seconds) after budgets; None when unknown.
        requests: total requests (steady state and every layer).
        seconds: total wall-clock seconds.
        cost_usd: total USD at the declared price, or None without one.
        latency_s, latency_source: the per-request latency used and where it came from.
        cap: ``runtime.max_requests`` (None: no cap).
    """

    layers: dict[int, tuple[int | None, float | None]] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0
    cost_usd: float | None = None
    latency_s: float = DEFAULT_LATENCY_S
    latency_source: str = "default"
    cap: int | None = None
    mode: str = "fixed"


def latency_guess(store: ResultStore, title: str) -> tuple[float, str]:
    """Median E2E latency (s) of the experiment's newest stored run, with its run id; else
    :data:`DEFAULT_LATENCY_S` and ``"default"``."""
    for run in store.latest_runs(title, limit=3):
        lat = [float(c["e2e_s"]) for c in store.cases(run["run_id"]) if c.get("e2e_s")]
        if lat:
            return statistics.median(lat), f"run {run['run_id']}"
    return DEFAULT_LATENCY_S, "default"


def estimate_run(experiment: Experiment, cases: list[Case], layers: list[str] | None, *,
                 latency_s: float = DEFAULT_LATENCY_S,
                 latency_source: str = "default") -> RunEstimate:
    """The :class:`RunEstimate` of ``experiment`` over ``cases`` (nothing is sent).

    Raises:
        ConfigError: a layer cannot work as configured (the run would refuse it too).
    """
    runtime = experiment.runtime
    est = RunEstimate(latency_s=latency_s, latency_source=latency_source,
                      cap=runtime.max_requests, mode=runtime.confidence)
    ctx = SuiteContext("estimate", experiment, MockTarget(), cases, EventBus(), runtime.seed,
                       runtime.concurrency)
    per_request = latency_s / max(1, runtime.concurrency)
    capped = 0
    hypothesis = experiment.steady_state_hypothesis
    if hypothesis is not None:
        capped += 2 * min(hypothesis.sample, len(cases))
        est.seconds += 2 * min(hypothesis.sample, len(cases)) * per_request
    load = 0
    for suite in validate_suites(experiment, cases, layers):
        n = suite.planned_count(ctx)
        config = getattr(experiment.layers, LAYERS[suite.layer][0], None)
        seconds: float | None
        if suite.layer == 6:
            scale = experiment.layers.scale
            seconds = (len(scale.rates_rps) * (scale.duration_s + scale.warmup_s)
                       if scale is not None else None)
            load += n or 0
        else:
            budget = runtime.budget.merged(getattr(config, "budget", None))
            if n is not None and budget.requests is not None:
                n = min(n, budget.requests)
            seconds = None if n is None else n * per_request
            if seconds is not None and budget.seconds is not None:
                seconds = min(seconds, budget.seconds + runtime.batch_cases * per_request)
            capped += n or 0
        est.layers[suite.layer] = (n, seconds)
        est.seconds += seconds or 0.0
    if est.cap is not None and capped > est.cap:
        est.seconds *= est.cap / capped if capped else 1.0
        capped = est.cap
    est.requests = capped + load
    price = price_per_token(experiment)
    if price is not None and cases:
        chars = statistics.mean(len(c.input) + len(c.context or "") for c in cases)
        out_tokens = getattr(experiment.target, "max_tokens", 64)
        est.cost_usd = est.requests * (chars / 4 * price[0] + out_tokens * price[1])
    return est


def print_estimate(console: Console, est: RunEstimate) -> None:
    """One line with the totals, one with the per-layer split."""
    bound = "at most " if est.mode == "decided" else ""
    cost = f", ~${est.cost_usd:.4f}" if est.cost_usd is not None else ", cost: no price declared"
    cap = f"; hard cap runtime.max_requests {est.cap}" if est.cap is not None else ""
    console.print(f"estimate: {bound}{est.requests} requests, ~{est.seconds:.0f} s{cost} "
                  f"(latency {est.latency_s:.2f} s from {est.latency_source}, confidence "
                  f"{est.mode}){cap}")
    parts = [f"layer {n} {r if r is not None else '?'} req ~{s:.0f} s" if s is not None else
             f"layer {n} {r if r is not None else '?'} req"
             for n, (r, s) in sorted(est.layers.items())]
    if parts:
        console.print("  " + ", ".join(parts), style="dim")
