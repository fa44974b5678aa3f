"""Layer 5 configuration: observability and drift."""

from __future__ import annotations

from aichaos.config._base import Strict


class ObservabilityLayer(Strict):
    """Layer 5: telemetry checks (OTLP receiver, Prometheus scrape)."""

    enabled: bool = True
    otlp: bool = True
    prometheus_url: str | None = None
