"""Layer 5, Observability: can degradation of the system under test be detected?

The suite starts the built-in OTLP/HTTP receiver on ``otlp_listen`` (the target must export
there: ``OTEL_EXPORTER_OTLP_ENDPOINT``), sends ``sample`` golden cases one at a time, and
checks per request that GenAI spans arrived, form one trace and carry the required
OpenTelemetry GenAI attributes; it checks the GenAI client metrics; it scrapes
``prometheus_url`` before and after and checks request count, latency and errors against what
aichaos sent; and, when the experiment has dependencies behind the chaos proxy, it injects an
HTTP 500 fault into one of them for ``fault_requests`` requests and checks that the telemetry
noticed (error spans or a rising error counter).

Score = telemetry coverage x 100: the mean, over the measured components (spans, metrics,
Prometheus, fault detection), of each component's share of passed checks.

Intervals (:mod:`aichaos.probes._verdicts`): whether the target exports GenAI spans, links
them into one trace, sets the required attributes, emits the GenAI metrics and counts
requests in Prometheus is a property of its instrumentation, deterministic: those checks
and components are labelled ``exact`` (their value, no invented sampling error). Whether an
injected fault becomes visible is a rate over the fault requests (each request one case):
it gets the betting confidence sequence (Waudby-Smith & Ramdas 2023) over them, and a fault
that went unseen decides the check as failed. The layer's interval is the mean of the
components' intervals (only one of them random, so no multiplicity correction); its ``n``
is the number of fault requests. A component that could not be exercised is a check with
``not_measured`` set, never a pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from typing import Any

from aichaos._events import CaseResult, ReceiverStarted
from aichaos.config import ObservabilityLayer, ScorerSpec
from aichaos.probes._base import ProbeSuite, SuiteContext, suites
from aichaos.probes._summary import failing_cases, latency_metrics
from aichaos.probes._verdicts import attach, attach_exact
from aichaos.results import Check, GradeRange, Interval, LayerResult
from aichaos.scoring import build_scorer, exact
from aichaos.targets import NO_CACHE
from aichaos.telemetry import (
    OtlpReceiver,
    PrometheusReport,
    RequestTelemetry,
    RequestWindow,
    Scrape,
    SeriesNames,
    alias_warnings,
    check_metrics,
    check_requests,
    check_scrapes,
    scrape,
)

log = logging.getLogger(__name__)
FAULT_TOXIC = "aichaos_observability_fault"


#: pause after the receiver starts beyond ``clock_skew_s`` before the first request, s
SETTLE_MARGIN_S = 0.25


@suites.register("observability", summary="OTLP GenAI telemetry, Prometheus and fault "
                 "detection coverage", layer=5)
class ObservabilitySuite(ProbeSuite):
    """Telemetry coverage of the target (see the module docstring for the method)."""

    layer = 5
    name = "observability"

    def __init__(self, config: ObservabilityLayer | None = None) -> None:
        self.config = config or ObservabilityLayer()
        self.endpoint: str | None = None

    def planned_count(self, ctx: SuiteContext) -> int | None:
        faults = self.config.fault_requests if ctx.proxy is not None else 0
        return min(self.config.sample, len(ctx.cases)) + faults

    async def _send(self, ctx: SuiteContext, n: int, variant: str, offset: int = 0
                    ) -> tuple[list[CaseResult], list[RequestWindow]]:
        capability = ctx.experiment.layers.capability
        scorer = build_scorer(capability.scorer if capability else ScorerSpec())
        results, windows = [], []
        for i in range(n):
            case = ctx.cases[(offset + i) % len(ctx.cases)]
            start = time.time()
            result = await ctx.send_one(ctx.plan(case, variant, headers=NO_CACHE), layer=5,
                                        suite=self.name, scorer=scorer)
            windows.append(RequestWindow(case.id, start, time.time(), result.error_class is None))
            results.append(result)
        return results, windows

    async def _scrape(self) -> Scrape | None:
        url = self.config.prometheus_url
        headers = {k: v.get_secret_value() for k, v in self.config.prometheus_headers.items()}
        return await scrape(url, headers=headers) if url else None

    async def run(self, ctx: SuiteContext) -> LayerResult:
        cfg = self.config
        receiver = OtlpReceiver(cfg.otlp_listen) if cfg.otlp else None
        if receiver is not None:
            await receiver.start()
            self.endpoint = receiver.endpoint
            ctx.bus.publish(ReceiverStarted(ctx.run_id, receiver.endpoint))
            log.info("OTLP receiver on %s: set OTEL_EXPORTER_OTLP_ENDPOINT=%s on the target",
                     receiver.endpoint, receiver.endpoint)
        try:
            return await self._run(ctx, receiver)
        finally:
            if receiver is not None:
                await asyncio.shield(receiver.stop())

    async def _run(self, ctx: SuiteContext, rx: OtlpReceiver | None) -> LayerResult:
        cfg = self.config
        before = await self._scrape()
        n = min(cfg.sample, len(ctx.cases))
        if rx is not None:
            # spans of earlier traffic (the previous suite's last request) that reach the new
            # receiver may lack their trace's first spans, exported before it listened; once
            # more than clock_skew_s has passed, all of them start outside every window
            await asyncio.sleep(cfg.clock_skew_s + SETTLE_MARGIN_S)
        results, windows = await self._send(ctx, n, "clean")
        requests: list[RequestTelemetry] = []
        metrics = []
        if rx is not None:
            await rx.wait_for(lambda r: self._complete(r, windows), cfg.wait_s)
            requests = check_requests(rx.spans, windows, cfg.required_attributes,
                                      cfg.clock_skew_s)
            metrics = check_metrics(rx.metrics, cfg.required_metrics)
        after = await self._scrape()
        prom: PrometheusReport | None = None
        if before is not None and after is not None:
            ok_lat = [r.e2e_s for r in results if r.e2e_s is not None]
            prom = check_scrapes(
                before, after, sent=len(results),
                failed=sum(1 for r in results if r.error_class),
                client_mean_latency_s=sum(ok_lat) / len(ok_lat) if ok_lat else None,
                names=SeriesNames(**cfg.prometheus_names.model_dump()))
        fault = await self._fault_check(ctx, rx, after)
        return self._result(ctx, results, fault.pop("results", []), requests, metrics, prom,
                            fault)

    def _complete(self, rx: OtlpReceiver, windows: list[RequestWindow]) -> bool:
        """Every answered request has GenAI spans forming one linked trace, and every metric
        counts them all.

        Waiting for the whole trace, not only its GenAI span, matters: a span processor can
        export the ``chat`` span in one batch and its parent, the server span (which ends
        later), in the next; judged in between, the trace looks broken.
        """
        checked = check_requests(rx.spans, windows, self.config.required_attributes,
                                 self.config.clock_skew_s)
        spans_in = all(r.genai_spans and r.correlated
                       for r, w in zip(checked, windows, strict=True) if w.ok)
        answered = sum(1 for w in windows if w.ok)
        counted = check_metrics(rx.metrics, self.config.required_metrics)
        return spans_in and all(c.observations >= answered for c in counted)

    async def _fault_check(self, ctx: SuiteContext, rx: OtlpReceiver | None,
                           before: Scrape | None) -> dict[str, Any]:
        """Inject an HTTP 500 into a dependency and see whether the telemetry noticed."""
        cfg = self.config
        proxy = ctx.proxy
        if proxy is None or cfg.fault_requests == 0 or not proxy.proxies:
            why = ("fault_requests is 0" if cfg.fault_requests == 0 else
                   "the experiment has no dependencies behind the chaos proxy, so no fault "
                   "could be injected (errors seen by layer 3 are not visible to this suite)")
            return {"measured": False, "note": f"fault detection not measured: {why}"}
        dep = cfg.fault_dependency or next(iter(proxy.proxies))
        proxy.add_toxic(dep, {"type": "http_error", "name": FAULT_TOXIC, "toxicity": 1.0,
                              "attributes": {"status": 500}})

        async def remove() -> None:
            if any(t.name == FAULT_TOXIC for t in proxy.toxics(dep)):
                proxy.remove_toxic(dep, FAULT_TOXIC)

        ctx.rollbacks.append((f"remove {FAULT_TOXIC} from {dep}", remove))
        spans_before = len(rx.spans) if rx is not None else 0
        try:
            results, windows = await self._send(ctx, cfg.fault_requests,
                                                f"fault:{dep}:http_error", offset=1)
        finally:
            await remove()
        n = len(windows)
        otlp_noticed = 0
        if rx is not None:
            def noticed(r: OtlpReceiver) -> bool:
                got = check_requests(r.spans[spans_before:], windows,
                                     cfg.required_attributes, cfg.clock_skew_s)
                return all(t.error_spans for t in got)

            await rx.wait_for(noticed, cfg.wait_s)
            got = check_requests(rx.spans[spans_before:], windows, cfg.required_attributes,
                                 cfg.clock_skew_s)
            otlp_noticed = sum(1 for t in got if t.error_spans)
            seen_by_otlp = [bool(t.error_spans) for t in got]
        else:
            seen_by_otlp = [False] * n
        prom_noticed = 0
        after = await self._scrape()
        if before is not None and after is not None:
            report = check_scrapes(before, after, sent=n, failed=n,
                                   client_mean_latency_s=None,
                                   names=SeriesNames(**cfg.prometheus_names.model_dump()))
            prom_noticed = int(min(report.errors_delta or 0, n))
        # per fault request (one case each), by the source that saw more (as ``coverage``):
        # its error spans, or the Prometheus counter (which cannot say which request; its
        # first ``prom_noticed`` are credited)
        seen = seen_by_otlp if otlp_noticed >= prom_noticed else [k < prom_noticed
                                                                   for k in range(n)]
        per_request = {f"{w.case_id}#{k}": float(seen[k]) for k, w in enumerate(windows)}
        return {"measured": True, "dependency": dep, "requests": n,
                "per_request": per_request,
                "otlp_noticed": otlp_noticed, "prometheus_noticed": prom_noticed,
                "coverage": max(otlp_noticed, prom_noticed) / n if n else 0.0,
                "target_errors": sum(1 for r in results if r.error_class),
                "results": results}

    def _result(self, ctx: SuiteContext, results: list[CaseResult],
                fault_results: list[CaseResult], requests: list[RequestTelemetry],
                metric_checks: list[Any],
                prom: PrometheusReport | None, fault: dict[str, Any]) -> LayerResult:
        cfg = self.config
        components: dict[str, float] = {}
        checks: list[Check] = []
        metrics: dict[str, Any] = {"otlp_endpoint": self.endpoint, "requests": len(requests)}
        if cfg.otlp:
            passed = sum(r.items()[0] for r in requests)
            total = sum(r.items()[1] for r in requests)
            components["spans"] = passed / total if total else 0.0
            with_span = sum(1 for r in requests if r.genai_spans)
            correlated = sum(1 for r in requests if r.correlated)
            complete = [r for r in requests if all(v != "missing" for v in r.attributes.values())
                        and r.genai_spans]
            missing = sorted({k for r in requests for k, v in r.attributes.items()
                              if v == "missing"})
            checks += [
                Check("observability.spans", with_span == len(requests),
                      with_span / max(len(requests), 1), "== 1", "ratio",
                      f"{with_span}/{len(requests)} requests produced GenAI spans",
                      [r.case_id for r in requests if not r.genai_spans]),
                Check("observability.correlation", correlated == len(requests),
                      correlated / max(len(requests), 1), "== 1", "ratio",
                      f"{correlated}/{len(requests)} requests' spans form one trace",
                      [r.case_id for r in requests if not r.correlated]),
                Check("observability.genai_attributes", len(complete) == len(requests),
                      len(complete) / max(len(requests), 1), "== 1", "ratio",
                      f"{len(complete)}/{len(requests)} requests carry every required "
                      f"attribute" + (f"; missing: {', '.join(missing)}" if missing else ""),
                      [r.case_id for r in requests if r not in complete]),
            ]
            if not requests:  # nothing was sent, so nothing could be exported
                for check in checks:
                    check.passed, check.value = False, None
                    check.not_measured = "no request was sent to look for its telemetry"
            present = [m for m in metric_checks if m.status != "missing"]
            components["metrics"] = (len(present) / len(metric_checks)) if metric_checks else 0.0
            for m in metric_checks:
                checks.append(Check(f"observability.metric.{m.name}", m.status != "missing",
                                    float(m.observations), "present", "observations",
                                    f"{m.name}: {m.status}, {m.observations} observations"
                                    + (f"; {'; '.join(m.problems)}" if m.problems else "")))
            metrics.update({
                "spans_per_request": (sum(r.genai_spans for r in requests) / len(requests)
                                      if requests else 0.0),
                "span_coverage": components["spans"], "metric_coverage": components["metrics"],
            })
        if prom is not None:
            components["prometheus"] = prom.coverage
            for name, ok in prom.checks.items():
                checks.append(Check(f"observability.prometheus.{name}", ok, float(ok), "true",
                                    "", "ok" if ok else "; ".join(prom.messages)))
            metrics["prometheus"] = {k: v for k, v in asdict(prom).items() if k != "messages"}
        for check in checks:  # every check so far is a property of the instrumentation
            attach_exact(check)
        notes = []
        spread: dict[str, Interval] = {k: exact(v) for k, v in components.items()}
        if fault["measured"]:
            components["fault_detection"] = fault["coverage"]
            detection = Check(
                "observability.fault_detection", fault["coverage"] >= 1.0, fault["coverage"],
                "== 1", "ratio",
                f"HTTP 500 injected into {fault['dependency']} for {fault['requests']} "
                f"requests: error spans for {fault['otlp_noticed']}, Prometheus error counter "
                f"+{fault['prometheus_noticed']}")
            verdict = attach(detection, fault["per_request"], 1.0)
            if verdict is not None:
                spread["fault_detection"] = verdict.interval
                # an injected fault that went unseen is a fact: the check is decided
                detection.decided = detection.decided or fault["coverage"] < 1.0
            checks.append(detection)
            metrics["fault_detection"] = {k: v for k, v in fault.items() if k != "results"}
        else:
            notes.append(fault["note"])
            checks.append(Check("observability.fault_detection", False, None, "== 1", "ratio",
                                fault["note"], not_measured=fault["note"]))
        warnings = alias_warnings(requests, metric_checks)
        notes += warnings
        if not components:
            return LayerResult(5, None, metrics, checks, note="not measured: OTLP receiver "
                               "disabled and no prometheus_url")
        coverage = sum(components.values()) / len(components)
        interval = _layer_interval(spread)
        metrics.update({"telemetry_coverage": coverage, "components": components,
                        "component_intervals": {k: asdict(v) for k, v in spread.items()},
                        "cases": len(results) + len(fault_results),
                        **latency_metrics(results)})
        return LayerResult(5, round(coverage * 100, 1), metrics, checks,
                           failing_cases(ctx.run_id, results), note="; ".join(notes),
                           details={"requests": [asdict(r) for r in requests],
                                    "alias_warnings": warnings},
                           interval=interval,
                           grade_range=GradeRange.of(interval.low, interval.high),
                           case_scores=dict(fault["per_request"]) if fault["measured"]
                           else None)


def _layer_interval(components: dict[str, Interval]) -> Interval:
    """The mean of the components' intervals on the 0-100 scale (module docstring).

    ``exact`` when every component is deterministic; otherwise the random component's method
    and level, with its ``n`` (the fault requests).
    """
    k = len(components)
    low = 100 * sum(i.low for i in components.values()) / k
    high = 100 * sum(i.high for i in components.values()) / k
    random = [i for i in components.values() if i.method != "exact"]
    if not random:
        return Interval(low, high, "exact", 1.0, None)
    return Interval(low, high, f"exact + {random[0].method} (fault detection)",
                    random[0].level, random[0].n)

