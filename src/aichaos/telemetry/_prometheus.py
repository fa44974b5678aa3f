"""Prometheus scrape checks: are request count, latency and errors exposed and consistent?

The target's metrics endpoint is scraped before and after aichaos sends its requests; the
text exposition format is parsed with ``prometheus_client``'s own parser. Series are found by
name (overridable): a request counter (``*requests_total``, ``*_calls_total``...), a latency
histogram or summary (``*duration*`` / ``*latency*`` / ``*_seconds``) and an error counter
(``*errors_total``, or request-counter series labelled with a 5xx status or an error
outcome). Series labelled with the metrics path itself (``/metrics``) are ignored, so an app
that counts its own scrapes stays comparable.

Consistency: between the two scrapes the request counter and the latency histogram's
``_count`` must grow by what aichaos sent (one extra request tolerated: a scrape counted
without a path label), the error counter by what aichaos saw fail, and the server-side mean
latency (Δsum/Δcount) must not exceed aichaos's client-side mean by more than 10% + 50 ms
(a server cannot take longer than its client waited).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

_REQUESTS = re.compile(r"(requests?|calls?|invocations?)(_total|_count)?$")
_LATENCY = re.compile(r"(duration|latency|seconds|response_time)")
_ERRORS = re.compile(r"(errors?|failures?|failed|exceptions?)(_total)?$")
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
                 timeout_s: float = 5.0) -> Scrape:
    """GET ``url`` and parse it; a failure is returned as ``Scrape(error=...)``, never raised."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout_s)
    try:
        r = await http.get(url, headers={"Accept": "text/plain; version=0.0.4"})
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


def _pick(kinds: dict[str, str], pattern: re.Pattern[str], types: set[str],
          override: str | None) -> str | None:
    if override:
        return override if override in kinds else None
    found = sorted(n for n, t in kinds.items() if t in types and pattern.search(n))
    return found[0] if found else None


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
    checks: dict[str, bool] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        """Share of checks passed, 0..1."""
        return sum(self.checks.values()) / len(self.checks) if self.checks else 0.0


def _errors_total(scrape: Scrape, report: PrometheusReport) -> float:
    if report.errors_series is not None:
        return _total(scrape, report.errors_series + "_total") + _total(
            scrape, report.errors_series)
    assert report.requests_series is not None
    return _total(scrape, report.requests_series + "_total", error_only=True)


def _requests_total(scrape: Scrape, report: PrometheusReport) -> float:
    name = report.requests_series
    assert name is not None
    kind = scrape.kinds.get(name)
    return _total(scrape, name + ("_count" if kind in ("histogram", "summary") else "_total"))


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
    report.requests_series = _pick(kinds, _REQUESTS, {"counter", "histogram", "summary"},
                                   names.requests)
    report.latency_series = _pick(kinds, _LATENCY, {"histogram", "summary"}, names.latency)
    report.errors_series = _pick(kinds, _ERRORS, {"counter"}, names.errors)
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
        ok = sent <= report.requests_delta <= sent + 1
        report.checks["consistent.requests"] = ok
        if not ok:
            report.messages.append(f"{report.requests_series} grew by "
                                   f"{report.requests_delta:g}, aichaos sent {sent}")
    if report.latency_series is not None:
        name = report.latency_series
        count = _total(after, name + "_count") - _total(before, name + "_count")
        total = _total(after, name + "_sum") - _total(before, name + "_sum")
        report.latency_count_delta = count
        report.server_mean_latency_s = total / count if count > 0 else None
        ok = sent <= count <= sent + 1
        mean = report.server_mean_latency_s
        client = client_mean_latency_s
        if ok and client_mean_latency_s is not None and mean is not None:
            ok = mean <= client_mean_latency_s * 1.1 + 0.05
        report.checks["consistent.latency"] = ok
        if not ok:
            report.messages.append(
                f"{name}_count grew by {count:g} (aichaos sent {sent}), server mean "
                f"{mean if mean is None else round(mean, 3)} s vs client mean "
                f"{client if client is None else round(client, 3)} s")
    if has_errors:
        report.errors_delta = _errors_total(after, report) - _errors_total(before, report)
        ok = report.errors_delta == failed
        report.checks["consistent.errors"] = ok
        if not ok:
            report.messages.append(f"error count grew by {report.errors_delta:g}, aichaos "
                                   f"saw {failed} failures")
    return report
