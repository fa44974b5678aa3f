"""Layer 5 configuration: observability (telemetry checks)."""

from __future__ import annotations

from pydantic import Field, field_validator

from aichaos.config._base import Strict, _http_url
from aichaos.config._values import EnvSecret

_DEFAULT_ATTRIBUTES = ["gen_ai.operation.name", "gen_ai.request.model",
                       "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"]
_DEFAULT_METRICS = ["gen_ai.client.operation.duration", "gen_ai.client.token.usage"]


class PrometheusNames(Strict):
    """Metric family names on the target's Prometheus endpoint (None = auto-detect)."""

    requests: str | None = Field(None, description="request counter, e.g. app_requests")
    latency: str | None = Field(None, description="latency histogram or summary")
    errors: str | None = Field(None, description="error counter")


class ObservabilityLayer(Strict):
    """Layer 5: can degradation be detected? OTLP receiver, GenAI conventions, Prometheus.

    The target must export OTLP/HTTP to ``otlp_listen`` (set its
    ``OTEL_EXPORTER_OTLP_ENDPOINT=http://<otlp_listen>`` before the run).
    """

    enabled: bool = True
    otlp: bool = Field(True, description="start the OTLP/HTTP receiver and check telemetry")
    otlp_listen: str = Field("127.0.0.1:4318", description="host:port of the OTLP receiver "
                             "(4318 is OTLP/HTTP's default port)")
    prometheus_url: str | None = Field(None, description="target's metrics endpoint, e.g. "
                                       "http://127.0.0.1:8000/metrics")
    prometheus_names: PrometheusNames = Field(default_factory=PrometheusNames)
    prometheus_headers: dict[str, EnvSecret] = Field(
        default_factory=dict, description="headers sent with each scrape, e.g. Authorization: "
        "{type: env, key: METRICS_TOKEN}; values are secrets (never printed)")
    sample: int = Field(4, ge=1, le=100, description="golden cases sent, one at a time")
    required_attributes: list[str] = Field(default_factory=lambda: list(_DEFAULT_ATTRIBUTES),
                                           description="span attributes every request needs")
    required_metrics: list[str] = Field(default_factory=lambda: list(_DEFAULT_METRICS))
    wait_s: float = Field(8.0, gt=0, le=300, description="longest wait for telemetry after the "
                          "last request, s (the Python SDK flushes spans every 5 s)")
    clock_skew_s: float = Field(0.5, ge=0, le=60, description="tolerated clock difference "
                                "between aichaos and the target, s")
    fault_dependency: str | None = Field(None, description="dependency faulted to check that "
                                         "telemetry notices errors (default: the first one)")
    fault_requests: int = Field(2, ge=0, le=20, description="requests sent under the fault "
                                "(0 = skip the fault-detection check)")

    @field_validator("prometheus_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return value if value is None else _http_url(value)
