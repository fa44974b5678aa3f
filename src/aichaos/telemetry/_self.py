"""aichaos's own traces: one span per run, one child span per journal step.

When ``runtime.otlp_endpoint`` is set (or ``--otlp-endpoint`` on the command line), a
:class:`RunTracer` listens to the runner's events and exports spans over OTLP/HTTP with the
OpenTelemetry SDK: ``aichaos.run`` (attributes ``aichaos.run_id``, ``aichaos.status``,
``aichaos.deviated``, ``aichaos.overall_grade``) with a child span per activity (the
steady-state hypothesis checks, each layer's suite, each rollback) carrying its status. The
standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` variable is deliberately not used: it configures the
system under test, whose telemetry layer 5 receives, and the two must not mix.
"""

from __future__ import annotations

from typing import Any

from aichaos._events import ActivityEnded, ActivityStarted, EventBus, RunEnded, RunStarted


class RunTracer:
    """Turns runner events into OpenTelemetry spans exported to ``endpoint``.

    Args:
        endpoint: OTLP/HTTP base URL, e.g. ``http://127.0.0.1:4318`` (``/v1/traces`` is
            appended).
        exporter: a span exporter to use instead (tests use the in-memory one).
    """

    def __init__(self, endpoint: str, exporter: Any = None) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        from aichaos._version import __version__

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
            processor: Any = BatchSpanProcessor(exporter)
        else:
            processor = SimpleSpanProcessor(exporter)
        self.provider = TracerProvider(resource=Resource.create(
            {"service.name": "aichaos", "service.version": __version__}))
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("aichaos")
        self._run: Any = None
        self._activities: dict[str, Any] = {}

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(RunStarted, self._run_started)
        bus.subscribe(ActivityStarted, self._activity_started)
        bus.subscribe(ActivityEnded, self._activity_ended)
        bus.subscribe(RunEnded, self._run_ended)

    def _run_started(self, event: RunStarted) -> None:
        self._run = self.tracer.start_span("aichaos.run", attributes={
            "aichaos.run_id": event.run_id, "aichaos.title": event.title,
            "aichaos.seed": event.seed})

    def _activity_started(self, event: ActivityStarted) -> None:
        from opentelemetry import trace

        context = trace.set_span_in_context(self._run) if self._run is not None else None
        self._activities[event.name] = self.tracer.start_span(
            event.name, context=context,
            attributes={"aichaos.activity.kind": event.kind, "aichaos.run_id": event.run_id})

    def _activity_ended(self, event: ActivityEnded) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self._activities.pop(event.name, None)
        if span is None:
            return
        span.set_attribute("aichaos.activity.status", event.status)
        if event.status == "failed":
            span.set_status(Status(StatusCode.ERROR, event.error or "failed"))
        span.end()

    def _run_ended(self, event: RunEnded) -> None:
        from opentelemetry.trace import Status, StatusCode

        for span in self._activities.values():
            span.end()
        self._activities.clear()
        if self._run is not None:
            self._run.set_attribute("aichaos.status", event.status)
            self._run.set_attribute("aichaos.deviated", event.deviated)
            grade = event.scorecard.get("overall", {}).get("grade")
            if grade:
                self._run.set_attribute("aichaos.overall_grade", grade)
            if event.status != "completed" or event.deviated:
                self._run.set_status(Status(StatusCode.ERROR, event.status))
            self._run.end()
            self._run = None
        # no flush here: this runs on the event loop, and exporting blocks; shutdown() flushes

    def shutdown(self) -> None:
        """Flush and stop the exporter."""
        self.provider.shutdown()
