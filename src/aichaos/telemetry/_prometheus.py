"""Prometheus scrape checks: are request count, latency and errors exposed and consistent?

The target's metrics endpoint is scraped before and after aichaos sends its requests (auth
headers from the experiment, redirects followed); the text exposition format is parsed with
``prometheus_client``'s own parser.

Series are found only by the naming conventions of Prometheus ("Metric and label naming":
base units, ``_total`` counters) and OpenTelemetry's HTTP semantic conventions, so unrelated
families on a real exporter (a batch job's error counter, a per-token latency) are never
taken (override with ``prometheus_names``):

* latency: a histogram or summary named ``http_server_request_duration_seconds``
  (OpenTelemetry ``http.server.request.duration`` exported to Prometheus) or
  ``<prefix>_request(s)_duration_seconds`` / ``..._latency_seconds``;
* requests: a counter ``<prefix>_requests_total``, else the latency family's ``_count``;
* errors: a counter in the same namespace as the requests (``<prefix>_errors_total``,
  ``<prefix>_request_errors_total``, ``<prefix>_failures_total``, ``<prefix>_exceptions_total``),
  else request series labelled with a 5xx status or an error outcome (``status``, ``code``,
  ``http_response_status_code``, ``outcome``...).

Series labelled with the metrics path itself (``/metrics``) are ignored, so an app that counts
its own scrapes stays comparable.

Consistency, robust to other traffic on a shared server: between the two scrapes the request
counter and the latency family's ``_count`` must grow by at least what aichaos sent (growth
beyond that is reported as other traffic), the error counter by at least what aichaos saw
fail and by no more than the requests counted. The server-side mean latency (Δsum/Δcount)
must not exceed aichaos's client-side mean by more than 10% + 50 ms (a server cannot take
longer than its client waited); it is compared only when no other traffic was seen (at most
one extra request, a scrape counted without a path label).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

#: OpenTelemetry's HTTP server duration histogram as Prometheus names it (semconv v1.23+)
_OTEL_HTTP_DURATION = "http_server_request_duration_seconds"
_LATENCY = re.compile(r"^(?P<prefix>.+?)_requests?_(duration|latency)_seconds$")
_REQUESTS = re.compile(r"^(?P<prefix>.+?)_requests$")  # prometheus_client drops "_total"
_ERROR_SUFFIXES = ("errors", "request_errors", "requests_errors", "failures", "exceptions")
_STATUS_LABELS = ("status", "code", "status_code", "http_status", "http_status_code",
                  "http_response_status_code", "outcome", "result")
_ERROR_VALUES = re.compile(r"^(5\d\d|5xx|error|errors|failure|failed|fail|exception)$", re.I)


@dataclass(frozen=True, slots=True)
class Scrape:
    """One scrape: ``samples`` maps (sample name, sorted label pairs) -> value; ``kinds``
    maps family name -> type (``counter``, ``histogram``, ``summary``, ``gauge``...);
    ``error`` is set when the endpoint could not be read."""

    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def parse_exposition(text: str) -> Scrape:
    """Parse Prometheus text exposition format (0.0.4) into a :class:`Scrape`.

    Raises:
        ValueError: the text is not valid exposition format.
    """
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    kinds: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        kinds[family.name] = family.type
        for s in family.samples:
            if any("/metrics" in v for v in s.labels.values()):
                continue
            samples[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return Scrape(samples, kinds)


async def scrape(url: str, *, client: httpx.AsyncClient | None = None,
                 timeout_s: float = 5.0, headers: Mapping[str, str] | None = None) -> Scrape:
    """GET ``url`` (redirects followed, ``headers`` sent, e.g. ``Authorization``) and parse it.

    A failure is returned as ``Scrape(error=...)``, never raised; header values never appear
    in the error text.
    """
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=True)
    try:
        r = await http.get(url, headers={"Accept": "text/plain; version=0.0.4", **(headers or {})},
                           follow_redirects=True)
        if r.status_code in (401, 403):
            return Scrape(error=f"HTTP {r.status_code} from {url}: set "
                                "observability.prometheus_headers (e.g. Authorization)")
        if r.status_code != 200:
            return Scrape(error=f"HTTP {r.status_code} from {url}")
        return parse_exposition(r.text)
    except httpx.HTTPError as exc:
        return Scrape(error=f"{type(exc).__name__} reading {url}: {exc}".strip())
    except ValueError as exc:
        return Scrape(error=f"{url} is not Prometheus text format: {exc}")
    finally:
        if own:
            await http.aclose()


@dataclass(frozen=True, slots=True)
class SeriesNames:
    """Family names to use instead of auto-detection (None = detect)."""

    requests: str | None = None
    latency: str | None = None
    errors: str | None = None


def _prefix(name: str, pattern: re.Pattern[str]) -> str | None:
    m = pattern.match(name)
    return m.group("prefix") if m else None


def _pick_latency(kinds: dict[str, str], override: str | None) -> str | None:
    if override:
        return override if override in kinds else None
    found = sorted(n for n, t in kinds.items() if t in ("histogram", "summary")
                   and (n == _OTEL_HTTP_DURATION or _LATENCY.match(n)))
    return found[0] if found else None


def _pick_requests(kinds: dict[str, str], latency: str | None,
                   override: str | None) -> str | None:
    if override:
        return override if override in kinds else None
    counters = sorted(n for n, t in kinds.items() if t == "counter" and _REQUESTS.match(n))
    if latency is not None:  # the counter in the latency family's namespace first
        ns = _prefix(latency, _LATENCY)
        same = [n for n in counters if ns is not None and _prefix(n, _REQUESTS) == ns]
        counters = same + [n for n in counters if n not in same]
    return counters[0] if counters else latency


def _pick_errors(kinds: dict[str, str], requests: str | None,
                 override: str | None) -> str | None:
    if override:
        return override if override in kinds else None
    if requests is None:
        return None
    ns = _prefix(requests, _REQUESTS) or _prefix(requests, _LATENCY)
    if requests == _OTEL_HTTP_DURATION:
        ns = "http_server"
    if ns is None:
        return None
    for suffix in _ERROR_SUFFIXES:
        name = f"{ns}_{suffix}"
        if kinds.get(name) == "counter":
            return name
    return None


def _total(scrape: Scrape, sample: str, error_only: bool = False) -> float:
    out = 0.0
    for (name, labels), value in scrape.samples.items():
        if name != sample:
            continue
        is_error = any(k in _STATUS_LABELS and _ERROR_VALUES.match(v) for k, v in labels)
        if not error_only or is_error:
            out += value
    return out


@dataclass(slots=True)
class PrometheusReport:
    """The verdicts of one before/after scrape pair.

    Attributes:
        requests_series, latency_series, errors_series: family names found (None = absent).
        requests_delta, latency_count_delta, errors_delta: growth between the scrapes.
        server_mean_latency_s: Δsum/Δcount of the latency family, seconds.
        other_traffic: requests the server counted beyond what aichaos sent.
        checks: check name -> passed (``present.requests``, ``consistent.requests``...).
        messages: one line per failed check.
    """

    requests_series: str | None = None
    latency_series: str | None = None
    errors_series: str | None = None
    requests_delta: float | None = None
    latency_count_delta: float | None = None
    errors_delta: float | None = None
    server_mean_latency_s: float | None = None
    other_traffic: float | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def series(self) -> str:
        """The chosen families in one line, e.g. ``requests=app_requests latency=...``."""
        errors = self.errors_series or ("status label" if self.checks.get("present.errors")
                                        else "-")
        return (f"requests={self.requests_series or '-'} "
                f"latency={self.latency_series or '-'} errors={errors}")

    @property
    def coverage(self) -> float:
        """Share of checks passed, 0..1."""
        return sum(self.checks.values()) / len(self.checks) if self.checks else 0.0


def _errors_total(scrape: Scrape, report: PrometheusReport) -> float:
    if report.errors_series is not None:
        return _total(scrape, report.errors_series + "_total") + _total(
            scrape, report.errors_series)
    return _total(scrape, _requests_sample(scrape, report), error_only=True)


def _requests_sample(scrape: Scrape, report: PrometheusReport) -> str:
    name = report.requests_series
    assert name is not None
    kind = scrape.kinds.get(name)
    return name + ("_count" if kind in ("histogram", "summary") else "_total")


def _requests_total(scrape: Scrape, report: PrometheusReport) -> float:
    return _total(scrape, _requests_sample(scrape, report))


def check_scrapes(before: Scrape, after: Scrape, *, sent: int, failed: int,
                  client_mean_latency_s: float | None,
                  names: SeriesNames | None = None) -> PrometheusReport:
    """Compare two scrapes with what aichaos sent between them.

    Args:
        before, after: scrapes taken before the first and after the last request.
        sent: requests aichaos sent between the scrapes.
        failed: of those, requests aichaos saw fail (error class set).
        client_mean_latency_s: aichaos's mean E2E latency of those requests, seconds.
        names: family names overriding auto-detection.
    """
    names = names or SeriesNames()
    report = PrometheusReport()
    if before.error or after.error:
        report.checks = {"present.requests": False, "present.latency": False,
                         "present.errors": False}
        report.messages.append(f"scrape failed: {before.error or after.error}")
        return report
    kinds = after.kinds
    report.latency_series = _pick_latency(kinds, names.latency)
    report.requests_series = _pick_requests(kinds, report.latency_series, names.requests)
    report.errors_series = _pick_errors(kinds, report.requests_series, names.errors)
    has_errors = report.errors_series is not None or (
        report.requests_series is not None and any(
            k in _STATUS_LABELS for (n, labels) in after.samples
            if n.startswith(report.requests_series) for k, _ in labels))
    report.checks["present.requests"] = report.requests_series is not None
    report.checks["present.latency"] = report.latency_series is not None
    report.checks["present.errors"] = has_errors
    for key, label in (("present.requests", "request counter"), ("present.latency",
                       "latency histogram or summary"), ("present.errors", "error counter "
                       "or status label")):
        if not report.checks[key]:
            report.messages.append(f"no {label} found in the scrape")
    if report.requests_series is not None:
        report.requests_delta = _requests_total(after, report) - _requests_total(before, report)
        ok = report.requests_delta >= sent
        report.checks["consistent.requests"] = ok
        if not ok:
            report.messages.append(f"{report.requests_series} grew by "
                                   f"{report.requests_delta:g}, aichaos sent {sent}")
        report.other_traffic = max(0.0, report.requests_delta - sent)
    if report.latency_series is not None:
        name = report.latency_series
        count = _total(after, name + "_count") - _total(before, name + "_count")
        total = _total(after, name + "_sum") - _total(before, name + "_sum")
        report.latency_count_delta = count
        report.server_mean_latency_s = total / count if count > 0 else None
        ok = count >= sent
        mean = report.server_mean_latency_s
        client = client_mean_latency_s
        quiet = count <= sent + 1  # no other traffic mixed into the server's mean
        if ok and quiet and client_mean_latency_s is not None and mean is not None:
            ok = mean <= client_mean_latency_s * 1.1 + 0.05
        report.checks["consistent.latency"] = ok
        if not ok:
            report.messages.append(
                f"{name}_count grew by {count:g} (aichaos sent {sent}), server mean "
                f"{mean if mean is None else round(mean, 3)} s vs client mean "
                f"{client if client is None else round(client, 3)} s")
    if has_errors:
        report.errors_delta = _errors_total(after, report) - _errors_total(before, report)
        counted = report.requests_delta if report.requests_delta is not None else float(sent)
        ok = failed <= report.errors_delta <= max(counted, float(sent))
        report.checks["consistent.errors"] = ok
        if not ok:
            report.messages.append(f"error count grew by {report.errors_delta:g}, aichaos "
                                   f"saw {failed} failures in {sent} requests")
    return report
