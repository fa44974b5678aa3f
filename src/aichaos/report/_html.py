"""Self-contained HTML report: one file, inline CSS, inline SVG charts, no JavaScript.

The page (``templates/report.html.j2``, autoescaped) shows the overall grade banner naming the
weakest layer, a card per layer (score, grade, metrics, checks, failing cases with anchors
``case-<layer key>-<n>`` linked from the checks that list them, each with input, output,
reason and a one-line reproduction), charts drawn from ``layer["details"]``, and the
journal timeline. A Content-Security-Policy meta tag forbids every external load and every
script, so the file renders identically offline and cannot run injected code.

Charts (SVG built here; every label goes through :func:`markupsafe.escape`):

* ``details["sweep"]``: ``[{offered_rps, achieved_rps, p50_s, p95_s, p99_s, error_rate}]``
  gives latency-vs-load, throughput and error-rate line charts.
* ``details["perturbations"]``: ``[{name, severity, invariance_rate, ci_low, ci_high, n}]``
  gives a bar chart of invariance rate per perturbation with its confidence interval.
* ``details["faults"]``: ``[{toxic, outcomes: {class: count}}]`` gives an outcome matrix
  (fault x degradation class) as a shaded table.
* ``details["scores"]``: ``[float]`` gives a histogram of per-case scores.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup, escape

from aichaos._version import __version__
from aichaos.report._format import (
    check_line,
    fmt_grade,
    fmt_interval,
    fmt_score,
    fmt_value,
    grade_low,
    is_failed,
    layers,
    score_uncertainty,
    status_line,
    verdict,
)
from aichaos.results import jsonable, run_summary

#: Degradation classes in the order the outcome matrix shows them (DESIGN.md, layer 3).
OUTCOME_CLASSES = ("correct", "fallback", "error", "hang", "crash")
_OUTCOME_HUES = {"correct": 140, "fallback": 45, "error": 0, "hang": 280, "crash": 0}
_COLORS = ("#2563eb", "#d97706", "#dc2626", "#059669", "#7c3aed")

_W, _H = 640, 260
_ML, _MR, _MT, _MB = 56, 24, 44, 44


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("aichaos.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --------------------------------------------------------------------------- charts


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _nice_max(value: float) -> float:
    """Smallest 1/2/2.5/5 x 10^k not below ``value`` (axis ceiling)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= value)


def _frame(title: str, x_label: str, y_label: str, y_max: float) -> list[str]:
    """SVG opening, title, y grid with 5 ticks, axis labels."""
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}">',
        f'<text x="{_W / 2}" y="16" class="ct">{escape(title)}</text>',
    ]
    for i in range(6):
        y = _H - _MB - i * (_H - _MT - _MB) / 5
        parts.append(f'<line x1="{_ML}" x2="{_W - _MR}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{_ML - 6}" y="{y + 4:.1f}" class="yt">{fmt_value(y_max * i / 5)}</text>'
        )
    parts.append(f'<text x="{_W / 2}" y="{_H - 6}" class="al">{escape(x_label)}</text>')
    parts.append(
        f'<text x="14" y="{_H / 2}" class="al" transform="rotate(-90 14 {_H / 2})">'
        f"{escape(y_label)}</text>"
    )
    return parts


def line_chart(
    title: str,
    x_label: str,
    y_label: str,
    xs: list[float],
    series: list[tuple[str, list[float | None]]],
) -> Markup:
    """An SVG line chart; points with a None value are skipped (the line breaks)."""
    values = [v for _, ys in series for v in ys if v is not None]
    y_max = _nice_max(max(values, default=1.0))
    x_min, x_max = min(xs), max(xs)
    span = (x_max - x_min) or 1.0
    plot_w, plot_h = _W - _ML - _MR, _H - _MT - _MB

    def sx(x: float) -> float:
        return _ML + (x - x_min) / span * plot_w if x_max > x_min else _ML + plot_w / 2

    def sy(y: float) -> float:
        return _H - _MB - y / y_max * plot_h

    parts = _frame(title, x_label, y_label, y_max)
    for x in xs:
        parts.append(f'<text x="{sx(x):.1f}" y="{_H - _MB + 16}" class="xt">{fmt_value(x)}</text>')
    for index, (name, ys) in enumerate(series):
        color = _COLORS[index % len(_COLORS)]
        points = [(sx(x), sy(y)) for x, y in zip(xs, ys, strict=False) if y is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
        lx = _ML + 8 + index * 110
        parts.append(f'<rect x="{lx}" y="{_MT - 20}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{lx + 14}" y="{_MT - 11}" class="lg">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def interval_bar_chart(
    title: str, rows: list[tuple[str, float, float | None, float | None]]
) -> Markup:
    """Horizontal bars on a 0..1 axis with optional confidence-interval whiskers."""
    row_h, label_w, top = 22, 200, 28
    height = top + 30 + row_h * len(rows)
    plot_w = _W - label_w - _MR
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{_W / 2}" y="16" class="ct">{escape(title)}</text>',
    ]
    for i in range(6):
        x = label_w + plot_w * i / 5
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 24}" class="grid"/>'
        )
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" class="xt">{i / 5:.1f}</text>')
    for index, (label, value, low, high) in enumerate(rows):
        y = top + 4 + index * row_h
        width = max(0.0, min(1.0, value)) * plot_w
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" class="yt">{escape(label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 8}" '
            f'fill="{_COLORS[0]}"><title>{escape(label)}: {fmt_value(value)}</title></rect>'
        )
        if low is not None and high is not None:
            x1 = label_w + max(0.0, min(1.0, low)) * plot_w
            x2 = label_w + max(0.0, min(1.0, high)) * plot_w
            mid = y + row_h / 2 - 1
            parts.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{mid}" y2="{mid}" class="ci"/>')
            for x in (x1, x2):
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mid - 5}" y2="{mid + 5}" class="ci"/>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(title: str, values: list[float], bins: int = 10) -> Markup:
    """Histogram of values; bins span 0..1 when every value lies there, else min..max."""
    low, high = (0.0, 1.0) if all(0 <= v <= 1 for v in values) else (min(values), max(values))
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        # the epsilon keeps 0.7 in the 0.7-0.8 bin despite 0.7 / 0.1 == 6.999...
        counts[min(bins - 1, int((value - low) / width + 1e-9))] += 1
    y_max = _nice_max(float(max(5, *counts)))  # whole-number ticks
    plot_w, plot_h = _W - _ML - _MR, _H - _MT - _MB
    bar_w = plot_w / bins
    parts = _frame(title, "score", "cases", y_max)
    for index, count in enumerate(counts):
        x = _ML + index * bar_w
        h = count / y_max * plot_h
        edge = low + index * width
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{_H - _MB - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{h:.1f}" fill="{_COLORS[0]}"><title>{fmt_value(edge)}–'
            f"{fmt_value(edge + width)}: {count}</title></rect>"
        )
        parts.append(f'<text x="{x:.1f}" y="{_H - _MB + 16}" class="xt">{fmt_value(edge)}</text>')
    parts.append(f'<text x="{_W - _MR}" y="{_H - _MB + 16}" class="xt">{fmt_value(high)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _outcome_matrix(faults: list[Any]) -> dict[str, Any] | None:
    """Rows of ``(toxic, [(count, cell style)])`` for the fault x outcome table."""
    rows = [f for f in faults if isinstance(f, dict) and isinstance(f.get("outcomes"), dict)]
    if not rows:
        return None
    extra = sorted({c for f in rows for c in f["outcomes"] if c not in OUTCOME_CLASSES})
    classes = [*OUTCOME_CLASSES, *extra]
    table = []
    for fault in rows:
        counts = [int(_num(fault["outcomes"].get(c)) or 0) for c in classes]
        total = sum(counts) or 1
        cells = []
        for cls, count in zip(classes, counts, strict=True):
            alpha = 0.12 + 0.6 * count / total if count else 0.0
            hue = _OUTCOME_HUES.get(cls, 210)
            cells.append((count, f"background:hsla({hue},70%,45%,{alpha:.2f})"))
        table.append((str(fault.get("toxic", "?")), cells))
    return {"classes": classes, "rows": table}


def layer_charts(details: dict[str, Any]) -> tuple[list[Markup], dict[str, Any] | None]:
    """SVG charts and the outcome matrix for one layer's ``details`` (see module doc)."""
    charts: list[Markup] = []
    sweep = [r for r in details.get("sweep") or [] if _num((r or {}).get("offered_rps"))]
    if sweep:
        sweep.sort(key=lambda r: float(r["offered_rps"]))
        xs = [float(r["offered_rps"]) for r in sweep]

        def col(name: str) -> list[float | None]:
            return [_num(r.get(name)) for r in sweep]

        charts.append(
            line_chart(
                "Latency vs offered load",
                "offered load (req/s)",
                "seconds",
                xs,
                [("p50", col("p50_s")), ("p95", col("p95_s")), ("p99", col("p99_s"))],
            )
        )
        charts.append(
            line_chart(
                "Throughput vs offered load",
                "offered load (req/s)",
                "req/s",
                xs,
                [("achieved", col("achieved_rps")), ("offered", [float(x) for x in xs])],
            )
        )
        charts.append(
            line_chart(
                "Error rate vs offered load",
                "offered load (req/s)",
                "error rate",
                xs,
                [("error rate", col("error_rate"))],
            )
        )
    perturbations = [
        p
        for p in details.get("perturbations") or []
        if isinstance(p, dict) and _num(p.get("invariance_rate")) is not None
    ]
    if perturbations:
        rows = []
        for p in perturbations:
            label = str(p.get("name", "?"))
            if p.get("severity") is not None:
                label += f" @{p['severity']}"
            if p.get("n") is not None:
                label += f" (n={p['n']})"
            rows.append(
                (label, float(p["invariance_rate"]), _num(p.get("ci_low")), _num(p.get("ci_high")))
            )
        charts.append(interval_bar_chart("Invariance rate per perturbation (95% CI)", rows))
    scores = [v for v in (_num(s) for s in details.get("scores") or []) if v is not None]
    if scores:
        charts.append(histogram(f"Per-case scores (n={len(scores)})", scores))
    return charts, _outcome_matrix(details.get("faults") or [])


# --------------------------------------------------------------------------- context


def _layer_context(layer: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    key = str(layer.get("key", layer.get("layer")))
    failing = []
    anchors: dict[str, str] = {}
    for n, case in enumerate(layer.get("failing") or [], start=1):
        anchor = f"case-{key}-{n}"
        for alias in (
            str(case.get("case_id")),
            f"{case.get('case_id')}/{case.get('variant')}",
            f"{case.get('case_id')}:{case.get('variant')}",
        ):
            anchors.setdefault(alias, anchor)
        failing.append({**{k: str(v) for k, v in case.items()}, "anchor": anchor})
    checks = [
        {
            "name": str(check.get("name")),
            "passed": bool(check.get("passed")),
            "failed": is_failed(check),
            "not_measured": str(check.get("not_measured") or ""),
            "line": check_line(check),
            "cases": [(str(c), anchors.get(str(c))) for c in check.get("cases") or []],
        }
        for check in layer.get("checks") or []
    ]
    charts, matrix = layer_charts({**(layer.get("details") or {}), **extra})
    low = grade_low(layer)
    return {
        "key": key,
        "number": layer.get("layer"),
        "title": str(layer.get("title", key)),
        "measured": bool(layer.get("measured")),
        "score": fmt_score(layer.get("score")),
        "uncertainty": score_uncertainty(layer),
        "grade": fmt_grade(layer),
        "grade_class": "g-" + (low if low in "ABCDF" else "none"),
        "note": str(layer.get("note") or ""),
        "metrics": [(str(k), fmt_value(v)) for k, v in (layer.get("metrics") or {}).items()],
        "checks": checks,
        "failing": failing,
        "charts": charts,
        "matrix": matrix,
    }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _timeline(journal: dict[str, Any]) -> list[dict[str, Any]]:
    states = journal.get("steady_states") or {}
    entries: list[tuple[str, Any]] = []
    for phase in ("before", "after"):
        state = states.get(phase)
        probes = state.get("probes") if isinstance(state, dict) else None
        if phase == "after":
            entries += [("method", a) for a in journal.get("run") or []]
        entries += [(f"steady state {phase}", p) for p in probes or []]
    entries += [("rollback", r) for r in journal.get("rollbacks") or []]

    run_start = _parse_time(journal.get("start"))
    total = _num(journal.get("duration")) or 0.0
    rows = []
    for phase, entry in entries:
        if not isinstance(entry, dict):
            continue
        activity = entry.get("activity") or {}
        duration = _num(entry.get("duration"))
        start = _parse_time(entry.get("start"))
        bar = None
        if run_start and start and total > 0 and duration is not None:
            offset = (start - run_start).total_seconds()
            left = max(0.0, min(100.0, offset / total * 100))
            width = max(0.5, min(100.0 - left, duration / total * 100))
            bar = f"margin-left:{left:.2f}%;width:{width:.2f}%"
        exception = entry.get("exception")
        if isinstance(exception, list):
            exception = next((str(e).strip() for e in reversed(exception) if str(e).strip()), "")
        status = str(entry.get("status") or "")
        if "tolerance_met" in entry and entry.get("tolerance_met") is False:
            status = f"{status} (tolerance not met)".strip()
        rows.append(
            {
                "phase": phase,
                "type": str(activity.get("type", "")),
                "name": str(activity.get("name", "?")),
                "status": status,
                "ok": entry.get("status") == "succeeded"
                and entry.get("tolerance_met") is not False,
                "start": str(entry.get("start") or ""),
                "duration": "" if duration is None else f"{duration:.3f} s",
                "bar": bar,
                "exception": str(exception or ""),
            }
        )
    return rows


def render_html(
    scorecard: dict[str, Any],
    journal: dict[str, Any],
    charts: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Render the self-contained HTML report.

    Args:
        scorecard: ``Scorecard.to_dict()``.
        journal: a Chaos Toolkit journal dict.
        charts: optional extra chart data per layer key, in the shape of
            ``layer["details"]`` (keys ``sweep``, ``perturbations``, ``faults``,
            ``scores``); merged over the layer's own details, key by key. Use it to chart
            series that were not stored in the scorecard.

    Returns:
        One HTML5 document with no external resources and no scripts.
    """
    summary = run_summary(journal)
    overall = scorecard.get("overall") or {}
    low = grade_low(overall)
    experiment = jsonable(journal.get("experiment") or {})
    context = {
        "version": __version__,
        "title": str(summary["title"] or "aichaos run"),
        "summary": summary,
        "status_line": status_line(journal),
        "verdict": verdict(scorecard),
        "grade": fmt_grade(overall),
        "grade_class": "g-" + (low if low in "ABCDF" else "none"),
        "score": fmt_score(overall.get("score")),
        "interval": fmt_interval(overall.get("interval")) if overall.get("score") is not None
        else "",
        "weakest": overall.get("weakest_layer"),
        "layers": [
            _layer_context(lay, (charts or {}).get(str(lay.get("key")), {}))
            for lay in layers(scorecard)
        ],
        "timeline": _timeline(journal),
        "experiment": json.dumps(experiment, indent=2, sort_keys=True) if experiment else "",
    }
    return _environment().get_template("report.html.j2").render(**context)
