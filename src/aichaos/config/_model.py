"""The experiment file, declared once with pydantic and validated at the edge.

Vocabulary follows Chaos Toolkit (experiment, steady-state hypothesis, tolerance, method,
rollbacks) and Toxiproxy (proxy, toxic, stream, toxicity, attributes); see shared/DESIGN.md.
Every model forbids unknown keys so a typo is an error, not a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from aichaos.config._base import Strict, _http_url
from aichaos.config._capability import CapabilityLayer
from aichaos.config._integration import IntegrationLayer
from aichaos.config._observability import ObservabilityLayer
from aichaos.config._request_templates import check_template_tree
from aichaos.config._resilience import InputResilienceLayer
from aichaos.config._safety import SafetyLayer
from aichaos.config._sampling import Budget, Confidence
from aichaos.config._scale import ScaleLayer
from aichaos.config._system import SystemChecks, check_system
from aichaos.config._targets import validate_target
from aichaos.config._values import EnvSecret, EnvStr

# ---------------------------------------------------------------------------- targets

_T = TypeVar("_T")


class OpenAITargetConfig(Strict):
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
    headers: dict[str, EnvStr] = Field(
        default_factory=dict, description="extra HTTP headers; values are per-case Jinja2 "
        "templates (input, context, case_id, variant, case)")
    params: dict[str, EnvStr] = Field(
        default_factory=dict, description="query parameters added to the URL; per-case "
        "templates like headers")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="fields merged into the request JSON (e.g. user, a "
        "gateway's cache controls); string leaves are per-case templates; they override "
        "aichaos's own fields of the same name")

    _check_url = field_validator("base_url")(staticmethod(_http_url))

    @model_validator(mode="after")
    def _check_templates(self) -> OpenAITargetConfig:
        return _check_request_templates(self)


class HttpTargetConfig(Strict):
    """A generic JSON endpoint: a request template and a JSONPath to the answer."""

    type: Literal["http"]
    url: EnvStr
    method: Literal["POST", "PUT", "GET"] = "POST"
    body: dict[str, Any] | list[Any] | str = Field(
        default_factory=lambda: {"input": "{{ input }}"},
        description="JSON body; string leaves are Jinja2 templates (input, context)",
    )
    answer_path: str = Field("$.output", description="JSONPath to the answer in the response")
    headers: dict[str, EnvStr] = Field(
        default_factory=dict, description="extra HTTP headers; values are per-case Jinja2 "
        "templates (input, context, case_id, variant, case)")
    params: dict[str, EnvStr] = Field(
        default_factory=dict, description="query parameters added to the URL; per-case "
        "templates like headers")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="fields merged into a mapping body (per-case "
        "templates); they override the body's fields of the same name")
    api_key: EnvSecret | None = Field(None, description="sent as 'Authorization: Bearer'")
    timeout_s: float = Field(60.0, gt=0)

    _check_url = field_validator("url")(staticmethod(_http_url))

    @model_validator(mode="after")
    def _check_body(self) -> HttpTargetConfig:
        if self.extra_body and not isinstance(self.body, dict):
            raise ValueError("extra_body: needs a mapping body (body is a "
                             f"{type(self.body).__name__})")
        check_template_tree(self.body, "body")
        return _check_request_templates(self)


def _check_request_templates(config: _T) -> _T:
    """``config`` unchanged, or ValueError naming the first bad request template."""
    for name in ("headers", "params", "extra_body"):
        check_template_tree(getattr(config, name), name)
    return config


class PythonTargetConfig(Strict):
    """A Python callable ``module:function`` (sync or async), called in-process."""

    type: Literal["python"]
    function: str = Field(pattern=r"^[\w.]+:[\w.]+$", description="module:function")
    path: str | None = Field(None, description="directory added to sys.path first")
    timeout_s: float = Field(60.0, gt=0)


class MockTargetConfig(Strict):
    """The shipped mock target: answers from a fixed table (tests, docs, examples)."""

    type: Literal["mock"]
    answers: dict[str, str] = Field(default_factory=dict)
    default: str = "I don't know."
    latency_s: float = Field(0.0, ge=0)


TargetConfig = Annotated[
    OpenAITargetConfig | HttpTargetConfig | PythonTargetConfig | MockTargetConfig,
    Field(discriminator="type"),
]
"""The built-in target settings (the JSON Schema lists these); an experiment's ``target`` is
validated through the target registry, so plugin target types work too."""


# ------------------------------------------------------------------- steady state


class Tolerance(Strict):
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


class Slos(Strict):
    """Service-level objectives checked by the steady-state hypothesis and used for goodput."""

    success_rate: Tolerance | None = Field(None, description="share of requests without error")
    latency_p95_s: Tolerance | None = Field(None, description="95th percentile E2E latency, s")
    ttft_p95_s: Tolerance | None = Field(None, description="95th percentile TTFT, s")
    answer_score: Tolerance | None = Field(None, description="mean answer score, 0..1")


class SteadyStateHypothesis(Strict):
    title: str = "healthy"
    sample: int = Field(5, ge=1, description="golden cases sent per hypothesis check")
    slos: Slos = Field(default_factory=lambda: Slos(success_rate=Tolerance(min=0.99)))


class Layers(Strict):
    capability: CapabilityLayer | None = Field(default_factory=CapabilityLayer)
    input_resilience: InputResilienceLayer | None = None
    integration: IntegrationLayer | None = None
    safety: SafetyLayer | None = None
    observability: ObservabilityLayer | None = None
    scale: ScaleLayer | None = None


# ------------------------------------------------------------------------ runtime


class Dependency(Strict):
    """A dependency of the system under test; the chaos proxy sits in front of it."""

    upstream: str
    listen: str | None = Field(None, description="host:port the proxy listens on")


class Rollbacks(Strict):
    strategy: Literal["always"] = "always"


class Abort(Strict):
    error_rate: Tolerance | None = Field(None, description="abort the run beyond this error rate")


class Runtime(Strict):
    seed: int = 42
    otlp_endpoint: str | None = Field(
        None, description="export aichaos's own run traces over OTLP/HTTP to this base URL, "
        "e.g. http://127.0.0.1:4318 (not OTEL_EXPORTER_OTLP_ENDPOINT, which is the target's)")
    concurrency: int = Field(2, ge=1, le=256, description="requests in flight at once")
    rollbacks: Rollbacks = Field(default_factory=Rollbacks)
    abort: Abort = Field(default_factory=Abort)
    confidence: Confidence = Field(
        "fixed", description="fixed = send every planned case; decided = draw cases in a "
        "seeded order until every rate check is decided or the layer's budget is spent")
    budget: Budget = Field(default_factory=Budget,
                           description="per-layer sampling budget (a layer's own overrides)")
    batch_cases: int = Field(4, ge=1, description="decided: cases drawn between two looks")
    max_requests: int | None = Field(
        None, ge=1, description="hard cap on the requests the run sends through its case "
        "sender (steady state, layers 1-5); nothing is sent past it")
    price_model: str | None = Field(
        None, description="model priced for budget.cost_usd and the pre-run estimate "
        "(layers.scale.pricing or the built-in table); default layers.scale.price_model")


class StoreConfig(Strict):
    url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<results_dir>/aichaos.db"
    )
    mask_pii: bool = Field(True, description="mask personal data in stored prompts and outputs")


ReportFormat = Literal["terminal", "json", "html", "junit", "markdown"]
ALL_FORMATS: tuple[ReportFormat, ...] = ("terminal", "json", "html", "junit", "markdown")


class ReportConfig(Strict):
    dir: str = Field("aichaos-results", description="results directory (journal, reports, db)")
    formats: list[ReportFormat] = Field(default_factory=lambda: list(ALL_FORMATS))


class Experiment(Strict):
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
    system: SystemChecks | None = Field(None, description="users, response cache, "
                                        "side-effecting dependencies, gateway (docs/system.md)")

    #: the file this experiment was loaded from (None when built in code); recorded in
    #: journals so a stored run can be replayed
    _source: str | None = PrivateAttr(None)
    #: ``(field, variable)`` of secrets left empty because their variable is unset (only
    #: when loaded with ``require_secrets=False``)
    _unset_secrets: list[tuple[str, str]] = PrivateAttr(default_factory=list)

    @property
    def source(self) -> str | None:
        return self._source

    @property
    def unset_secrets(self) -> list[tuple[str, str]]:
        """``(field, variable)`` of secrets whose environment variable was unset at load."""
        return list(self._unset_secrets)

    @field_validator("target", mode="wrap")
    @classmethod
    def _registered_target(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        # any registered target type, plugins included; the union above is the schema
        return validate_target(value, info.context)

    @field_validator("system")
    @classmethod
    def _system_refs(cls, v: SystemChecks | None, info: ValidationInfo) -> SystemChecks | None:
        check_system(v, info.data.get("dependencies"), info.data.get("target"))
        return v

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("title must not be empty")
        return v
