"""Layer 6 configuration: scalability and cost."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from aichaos._registry import Registry
from aichaos.config._base import Strict, _http_url
from aichaos.config._resources import ConversationProbeSpec, ResourceProbeSpec

load_profiles: Registry[Any] = Registry("load profile", builtins="aichaos.load", listed=True)
"""Open-loop arrival profiles (``constant``, ``poisson``, ``bursty`` and plugins). It lives
here, below ``aichaos.load``, so the configuration can check profile names."""


class PriceSpec(Strict):
    """Price of one model, USD per 1M tokens."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class ScaleLayer(Strict):
    """Layer 6: load profiles, saturation and cost (see aichaos.load)."""

    enabled: bool = True
    profile: str = Field(
        "sweep",
        description="sweep = the `arrival` process over rates_rps; closed = `concurrency` "
        "users in a loop; or an open-loop profile (constant, poisson, bursty, plugins) run "
        "one step per rate",
    )
    arrival: str = Field(
        "poisson", description="arrival process of a sweep: constant, poisson, bursty or a "
        "plugin's"
    )
    rates_rps: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [1.0, 2.0], min_length=1
    )
    duration_s: float = Field(10.0, gt=0, description="measured seconds per step")
    warmup_s: float = Field(0.0, ge=0, description="unmeasured seconds before each step")
    concurrency: int = Field(
        256, ge=1, description="open loop: max requests in flight; closed loop: users"
    )
    stop_at_saturation: bool = Field(True, description="skip higher rates once saturated")
    throughput_ratio: float = Field(0.9, gt=0, le=1, description="knee: achieved < this x offered")
    latency_factor: float = Field(3.0, gt=1, description="knee: p95 > this x lowest earlier p95")
    max_error_rate: float = Field(0.05, ge=0, le=1, description="knee: error rate above this")
    context_window_tokens: int | None = Field(
        None, ge=64, description="declared context window; enables the context-window probe"
    )
    price_model: str | None = Field(
        None, description="model name in `pricing` (or the built-in table) for the cost model"
    )
    pricing: dict[str, PriceSpec] = Field(
        default_factory=dict, description="model -> USD per 1M input/output tokens"
    )
    requests_per_day: float | None = Field(
        None, ge=0, description="declared traffic level for the monthly cost projection"
    )
    peak_rps: float | None = Field(
        None, gt=0, description="declared peak rate the system must sustain, req/s; default "
        "requests_per_day / 86400 x peak_factor, else the sweep's first rate (never the mean)"
    )
    peak_factor: float | None = Field(
        None, ge=1, description="peak-to-mean ratio of requests_per_day: the required rate is "
        "requests_per_day / 86400 x this when peak_rps is not given"
    )
    max_duration_s: float | None = Field(
        None, gt=0, description="budget of one sweep step, s: steps grow from duration_s "
        "(doubling) until their overload tests have 0.9 power at a 1.25x overload; default: "
        "steps keep duration_s (a step under 0.9 power stays open)"
    )
    max_cost_per_1k_usd: float | None = Field(
        None, ge=0, description="declared budget, USD per 1,000 requests (retries included): "
        "the scale.cost check and a factor min(1, budget / cost) in the score"
    )
    metrics_url: str | None = Field(
        None, min_length=1, description="the target's Prometheus endpoint to scrape "
        "saturation signals from during each step (vLLM, TGI, llama.cpp names); default "
        "layers.observability.prometheus_url"
    )
    min_goodput_ratio: float = Field(
        0.9, ge=0, le=1, description="scale.goodput check: share of requests at the highest "
        "unsaturated step that must succeed within the per-request SLOs"
    )
    resources: ResourceProbeSpec | None = Field(
        None, description="resource-growth probe: the target's PID or Prometheus URL")
    conversation: ConversationProbeSpec | None = Field(
        None, description="multi-turn probe: is the system message still sent at turn N")
    engine: Literal["local", "ray"] = Field(
        "local", description="where the load comes from: local = this process's asyncio "
        "engine; ray = `workers` Ray actors (aichaos.load.RayEngine), histograms merged exactly"
    )
    workers: int = Field(2, ge=1, description="engine ray: Ray actors sending the load")
    ray_address: str | None = Field(
        None, min_length=1, description="engine ray: address of an existing Ray cluster "
        "(host:6379, ray://host:10001, auto); default: a local Ray started for the run and "
        "shut down after it"
    )

    @model_validator(mode="after")
    def _ray_options_need_ray(self) -> ScaleLayer:
        if self.engine != "ray":
            stray = [f for f in ("workers", "ray_address") if f in self.model_fields_set]
            if stray:
                raise ValueError(f"{', '.join(stray)} only apply with engine: ray "
                                 f"(engine is {self.engine!r})")
        return self

    @model_validator(mode="after")
    def _peak_factor_needs_requests_per_day(self) -> ScaleLayer:
        if self.peak_factor is not None and not self.requests_per_day:
            raise ValueError("peak_factor needs requests_per_day (the mean it multiplies)")
        return self

    @field_validator("metrics_url")
    @classmethod
    def _check_metrics_url(cls, value: str | None) -> str | None:
        return value if value is None else _http_url(value)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        known = ["closed", *load_profiles.names(), "sweep"]
        if value not in known:
            raise ValueError(f"expected one of {', '.join(known)}, got {value!r}")
        return value

    @field_validator("arrival")
    @classmethod
    def _known_arrival(cls, value: str) -> str:
        known = load_profiles.names()
        if value not in known:
            raise ValueError(f"expected one of {', '.join(known)}, got {value!r}")
        return value
