"""The HTML report of a watched experiment: one trend chart per tracked metric.

One self-contained file (``templates/watch.html.j2`` of ``aichaos.report``, autoescaped):
inline CSS and inline SVG, no script, a Content-Security-Policy that forbids every external
load, like the run report. Each chart plots the metric per iteration (x: iteration, y: the
metric in its unit), shades the warm-up the threshold was calibrated on, and marks each
change point found: a solid line at the iteration that raised the alarm and a dashed one at
the last iteration before the change (Hinkley 1971's estimate), with the alarm's direction.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jinja2

from aichaos._version import __version__
from aichaos.drift._quality import TRACKED
from aichaos.errors import ConfigError


class WatchOutcome(Protocol):
    """What the report reads of :class:`aichaos.drift.WatchOutcome` (no import: ``_watch``
    imports this module)."""

    @property
    def iterations(self) -> Sequence[Any]: ...
    @property
    def alarms(self) -> Sequence[Any]: ...
    @property
    def thresholds(self) -> Mapping[str, float | None]: ...
    @property
    def per_metric_alpha(self) -> float | None: ...

UNITS = {"latency_s": "s", "pass_rate": "ratio", "error_rate": "ratio",
         "refusal_rate": "ratio", "hallucination_rate": "ratio", "score": "0..1",
         "output_length": "tokens or words", "bias_disparity": "disparity"}
_W, _H, _ML, _MR, _MT, _MB = 640, 200, 56, 16, 16, 32


@dataclass(frozen=True, slots=True)
class Chart:
    """One metric's trend chart, ready for the template (coordinates in SVG pixels)."""

    metric: str
    unit: str
    points: str
    dots: list[tuple[float, float, int, float]]
    warmup: tuple[float, float] | None
    alarms: list[dict[str, Any]]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, int]]
    threshold: float | None
    last: float | None


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def chart(metric: str, series: list[tuple[int, float]], alarms: list[Any], warmup: int,
          threshold: float | None) -> Chart:
    """Lay out one metric's chart: ``series`` = (iteration, value), ``alarms`` = its
    :class:`~aichaos.drift.Alarm` s."""
    xs = [i for i, _ in series] or [1]
    ys = [v for _, v in series] or [0.0]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    lo, hi = min(ys), max(ys)
    if UNITS.get(metric) == "ratio":  # rates on their whole scale
        lo, hi = 0.0, 1.0
    elif hi - lo < 1e-12:
        lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad

    def px(i: float) -> float:
        return round(_ML + (i - x0) / (x1 - x0) * (_W - _ML - _MR), 1)

    def py(v: float) -> float:
        return round(_MT + (hi - v) / (hi - lo) * (_H - _MT - _MB), 1)

    dots = [(px(i), py(v), i, v) for i, v in series]
    marks = []
    for a in alarms:
        marks.append({"x": px(a.iteration), "change_x": px(a.change_iteration)
                      if a.change_iteration is not None else None,
                      "iteration": a.iteration, "change": a.change_iteration,
                      "direction": a.direction, "value": _fmt(a.value)})
    ticks = [lo + (hi - lo) * k / 4 for k in range(5)]
    step = max(1, (x1 - x0) // 8)
    return Chart(metric, UNITS.get(metric, ""), " ".join(f"{x},{y}" for x, y, _, _ in dots),
                 dots, (px(x0), px(min(x0 + warmup - 1, x1))) if series else None, marks,
                 [(py(t), _fmt(t)) for t in ticks],
                 [(px(i), i) for i in range(x0, x1 + 1, step)], threshold,
                 ys[-1] if series else None)


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("aichaos.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("watch.html.j2")


def render_watch_report(outcome: WatchOutcome, title: str, *, warmup: int = 10) -> str:
    """The watch report as one HTML document (module docstring)."""
    metrics = [m for m in TRACKED if any(m in s.values for s in outcome.iterations)]
    charts = []
    for m in metrics:
        series = [(s.iteration, s.values[m]) for s in outcome.iterations if m in s.values]
        charts.append(chart(m, series, [a for a in outcome.alarms if a.metric == m], warmup,
                            outcome.thresholds.get(m)))
    return _template().render(
        title=title, version=__version__, charts=charts, width=_W, height=_H, ml=_ML,
        mr=_MR, mt=_MT, mb=_MB, iterations=len(outcome.iterations), alarms=outcome.alarms,
        skipped=[m for m in TRACKED if m not in metrics],
        alpha=outcome.per_metric_alpha, runs=[s.run_id for s in outcome.iterations])


def write_watch_report(outcome: WatchOutcome, title: str, path: str | Path, *,
                       warmup: int = 10) -> Path:
    """Write :func:`render_watch_report` to ``path`` atomically (a reader never sees half
    a page).

    Raises:
        ConfigError: the file cannot be written.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(render_watch_report(outcome, title, warmup=warmup), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigError(f"--report {target}: cannot write: {exc.strerror or exc}") from exc
    return target
