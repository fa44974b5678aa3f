"""The experiment file, declared once with pydantic and validated at the edge.

Vocabulary follows Chaos Toolkit (experiment, steady-state hypothesis, tolerance, method,
rollbacks) and Toxiproxy (proxy, toxic, stream, toxicity, attributes); see shared/DESIGN.md.
Every model forbids unknown keys so a typo is an error, not a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aichaos.config._values import EnvSecret, EnvStr


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError("expected an http(s) URL such as http://127.0.0.1:8080/v1")
    return value


# ---------------------------------------------------------------------------- targets


class OpenAITargetConfig(_Strict):
    """Any OpenAI-compatible ``/chat/completions`` endpoint."""

    type: Literal["openai"]
    base_url: EnvStr = Field(description="e.g. http://127.0.0.1:8080/v1")
    model: EnvStr = "default"
    api_key: EnvSecret | None = None
    stream: bool = True
    max_tokens: int = Field(64, ge=1, description="completion budget per request, tokens")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    system_prompt: str | None = None
    prompt_template: str = Field(
        "{% if context %}Context:\n{{ context }}\n\nQuestion: {% endif %}{{ input }}",
        description="Jinja2 template for the user message; variables: input, context",
    )
    timeout_s: float = Field(60.0, gt=0, description="whole-request timeout, seconds")
    headers: dict[str, EnvStr] = Field(default_factory=dict)

    _check_url = field_validator("base_url")(staticmethod(_http_url))


class HttpTargetConfig(_Strict):
    """A generic JSON endpoint: a request template and a JSONPath to the answer."""

    type: Literal["http"]
    url: EnvStr
    method: Literal["POST", "PUT", "GET"] = "POST"
    body: dict[str, Any] | list[Any] | str = Field(
        default_factory=lambda: {"input": "{{ input }}"},
        description="JSON body; string leaves are Jinja2 templates (input, context)",
    )
    answer_path: str = Field("$.output", description="JSONPath to the answer in the response")
    headers: dict[str, EnvStr] = Field(default_factory=dict)
    api_key: EnvSecret | None = Field(None, description="sent as 'Authorization: Bearer'")
    timeout_s: float = Field(60.0, gt=0)

    _check_url = field_validator("url")(staticmethod(_http_url))


class PythonTargetConfig(_Strict):
    """A Python callable ``module:function`` (sync or async), called in-process."""

    type: Literal["python"]
    function: str = Field(pattern=r"^[\w.]+:[\w.]+$", description="module:function")
    path: str | None = Field(None, description="directory added to sys.path first")
    timeout_s: float = Field(60.0, gt=0)


class MockTargetConfig(_Strict):
    """The shipped mock target: answers from a fixed table (tests, docs, examples)."""

    type: Literal["mock"]
    answers: dict[str, str] = Field(default_factory=dict)
    default: str = "I don't know."
    latency_s: float = Field(0.0, ge=0)


TargetConfig = Annotated[
    OpenAITargetConfig | HttpTargetConfig | PythonTargetConfig | MockTargetConfig,
    Field(discriminator="type"),
]


# ------------------------------------------------------------------- steady state


class Tolerance(_Strict):
    """Chaos Toolkit tolerance as a closed range: ``{min: 0.99}``, ``{max: 2.0}`` or both."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Tolerance:
        if self.min is None and self.max is None:
            raise ValueError("a tolerance needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self

    def holds(self, value: float | None) -> bool:
        """True when ``value`` lies within the bounds (None never holds)."""
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " and ".join(parts)


class Slos(_Strict):
    """Service-level objectives checked by the steady-state hypothesis and used for goodput."""

    success_rate: Tolerance | None = Field(None, description="share of requests without error")
    latency_p95_s: Tolerance | None = Field(None, description="95th percentile E2E latency, s")
    ttft_p95_s: Tolerance | None = Field(None, description="95th percentile TTFT, s")
    answer_score: Tolerance | None = Field(None, description="mean answer score, 0..1")


class SteadyStateHypothesis(_Strict):
    title: str = "healthy"
    sample: int = Field(5, ge=1, description="golden cases sent per hypothesis check")
    slos: Slos = Field(default_factory=lambda: Slos(success_rate=Tolerance(min=0.99)))


# ------------------------------------------------------------------------ scorers


class ScorerSpec(_Strict):
    """A scorer by registered name with its arguments, e.g. ``{type: semantic, threshold: 0.7}``."""

    model_config = ConfigDict(extra="allow")
    type: str = "contains"


# ------------------------------------------------------------------------- layers


class CapabilityLayer(_Strict):
    """Layer 1: golden dataset scored for accuracy."""

    enabled: bool = True
    scorer: ScorerSpec = Field(default_factory=ScorerSpec)
    limit: int | None = Field(None, ge=1, description="use only the first N cases")
    pass_threshold: float = Field(0.5, ge=0, le=1, description="case passes at score >= this")


class InputResilienceLayer(_Strict):
    """Layer 2: perturbations of every golden prompt."""

    enabled: bool = True
    perturbations: Literal["all"] | list[str] = "all"
    severity: list[int] = Field(default_factory=lambda: [1, 3])
    limit: int | None = Field(None, ge=1)


class ToxicSpec(_Strict):
    """A Toxiproxy-shaped toxic bound to one dependency."""

    dependency: str
    type: str
    name: str | None = None
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(1.0, ge=0.0, le=1.0)
    attributes: dict[str, Any] = Field(default_factory=dict)


class IntegrationLayer(_Strict):
    """Layer 3: faults injected by the chaos proxy into each dependency."""

    enabled: bool = True
    toxics: list[ToxicSpec] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1)


class SafetyLayer(_Strict):
    """Layer 4: hallucination, prompt injection and leakage probes."""

    enabled: bool = True
    probes: list[str] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1)


class ObservabilityLayer(_Strict):
    """Layer 5: telemetry checks (OTLP receiver, Prometheus scrape)."""

    enabled: bool = True
    otlp: bool = True
    prometheus_url: str | None = None


class PriceSpec(_Strict):
    """Price of one model, USD per 1M tokens."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class ScaleLayer(_Strict):
    """Layer 6: load profiles, saturation and cost (see aichaos.load)."""

    enabled: bool = True
    profile: Literal["constant", "poisson", "bursty", "sweep", "closed"] = Field(
        "sweep",
        description="open-loop arrivals run one step per rate; sweep = the `arrival` "
        "process over rates_rps; closed = `concurrency` users in a loop",
    )
    arrival: Literal["constant", "poisson", "bursty"] = Field(
        "poisson", description="arrival process of a sweep"
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
    latency_factor: float = Field(3.0, gt=1, description="knee: p95 > this x first step's p95")
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


class Layers(_Strict):
    capability: CapabilityLayer | None = Field(default_factory=CapabilityLayer)
    input_resilience: InputResilienceLayer | None = None
    integration: IntegrationLayer | None = None
    safety: SafetyLayer | None = None
    observability: ObservabilityLayer | None = None
    scale: ScaleLayer | None = None


# ------------------------------------------------------------------------ runtime


class Dependency(_Strict):
    """A dependency of the system under test; the chaos proxy sits in front of it."""

    upstream: str
    listen: str | None = Field(None, description="host:port the proxy listens on")


class Rollbacks(_Strict):
    strategy: Literal["always"] = "always"


class Abort(_Strict):
    error_rate: Tolerance | None = Field(None, description="abort the run beyond this error rate")


class Runtime(_Strict):
    seed: int = 42
    concurrency: int = Field(2, ge=1, le=256, description="requests in flight at once")
    rollbacks: Rollbacks = Field(default_factory=Rollbacks)
    abort: Abort = Field(default_factory=Abort)


class StoreConfig(_Strict):
    url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<results_dir>/aichaos.db"
    )
    mask_pii: bool = Field(True, description="mask personal data in stored prompts and outputs")


ReportFormat = Literal["terminal", "json", "html", "junit", "markdown"]
ALL_FORMATS: tuple[ReportFormat, ...] = ("terminal", "json", "html", "junit", "markdown")


class ReportConfig(_Strict):
    dir: str = Field("aichaos-results", description="results directory (journal, reports, db)")
    formats: list[ReportFormat] = Field(default_factory=lambda: list(ALL_FORMATS))


class Experiment(_Strict):
    """An aichaos experiment file (YAML)."""

    version: Literal[1] = 1
    title: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    target: TargetConfig
    dependencies: dict[str, Dependency] = Field(default_factory=dict)
    dataset: str | None = Field(None, description="golden dataset: YAML, JSONL or CSV path")
    steady_state_hypothesis: SteadyStateHypothesis | None = Field(
        default_factory=SteadyStateHypothesis, alias="steady-state-hypothesis"
    )
    layers: Layers = Field(default_factory=Layers)
    runtime: Runtime = Field(default_factory=Runtime)
    store: StoreConfig = Field(default_factory=StoreConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("title must not be empty")
        return v
