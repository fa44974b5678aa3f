"""Inline SVG charts drawn on the server: no script, nothing loaded from elsewhere.

Every label goes through :func:`markupsafe.escape`; points may link to a page (an SVG ``<a>``),
so a grade-history point opens its run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

_COLORS = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2")
_W = 720
_ML, _MR, _MT, _MB, _PAD = 52, 24, 34, 40, 36

#: grade bands of the 0-100 score (A >= 90 ... F < 60) as (low, high, letter, fill)
GRADE_BANDS: tuple[tuple[float, float, str, str], ...] = (
    (90, 100, "A", "#dcfce7"), (80, 90, "B", "#ecfccb"), (70, 80, "C", "#fef9c3"),
    (60, 70, "D", "#ffedd5"), (0, 60, "F", "#fee2e2"),
)


@dataclass(frozen=True, slots=True)
class Point:
    """One value of a series: ``y`` (None = not measured, drawn as a gap), its tooltip and an
    optional link."""

    y: float | None
    tip: str = ""
    href: str | None = None
    label: str = ""
    alarm: bool = False


@dataclass(slots=True)
class Series:
    """A named line; its points align with the chart's x positions (one per run)."""

    name: str
    points: list[Point] = field(default_factory=list)


def nice_max(value: float) -> float:
    """Smallest 1/2/2.5/5 x 10^k not below ``value`` (an axis ceiling; 1.0 for value <= 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= value)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def line_chart(title: str, series: Sequence[Series], x_labels: Sequence[str], *,
               y_label: str = "", y_max: float | None = None,
               bands: Sequence[tuple[float, float, str, str]] = (), height: int = 210
               ) -> Markup:
    """An SVG line chart with one x position per label (runs, oldest first).

    Args:
        title: chart title.
        series: lines to draw; each has ``len(x_labels)`` points.
        x_labels: tick labels (shown thinned to at most 8).
        y_label: the y axis' name with its unit.
        y_max: axis ceiling (default: a nice number above the largest value).
        bands: shaded horizontal bands ``(low, high, label, fill)`` behind the lines.
        height: the chart's height in SVG units (its width is 720).

    Returns:
        ``<svg class="chart" role="img">`` markup.
    """
    values = [p.y for s in series for p in s.points if p.y is not None]
    top = y_max if y_max is not None else nice_max(max(values, default=0.0))
    n = len(x_labels)
    h = height
    pw, ph = _W - _ML - _MR, h - _MT - _MB

    def sx(i: int) -> float:  # points stay _PAD inside the plot, so end labels fit
        return _ML + (pw / 2 if n <= 1 else _PAD + (pw - 2 * _PAD) * i / (n - 1))

    def sy(y: float) -> float:
        return _MT + ph * (1 - min(max(y / top, 0.0), 1.0))

    out = [f'<svg class="chart" role="img" viewBox="0 0 {_W} {h}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
           f'<text class="ct" x="{_W / 2}" y="18">{escape(title)}</text>']
    for low, high, letter, fill in bands:
        y0, y1 = sy(high), sy(low)
        out.append(f'<rect x="{_ML}" y="{y0:.1f}" width="{pw}" height="{y1 - y0:.1f}" '
                   f'fill="{fill}"/><text class="band" x="{_W - _MR + 4}" '
                   f'y="{(y0 + y1) / 2 + 4:.1f}">{escape(letter)}</text>')
    for k in range(5):
        y = top * k / 4
        out.append(f'<line class="grid" x1="{_ML}" x2="{_W - _MR}" y1="{sy(y):.1f}" '
                   f'y2="{sy(y):.1f}"/><text class="yt" x="{_ML - 6}" '
                   f'y="{sy(y) + 4:.1f}">{_fmt(y)}</text>')
    step = max(1, math.ceil(n / 8))
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            out.append(f'<text class="xt" x="{sx(i):.1f}" y="{h - _MB + 16}">'
                       f'{escape(label)}</text>')
    if y_label:
        out.append(f'<text class="al" transform="translate(14 {_MT + ph / 2}) rotate(-90)">'
                   f'{escape(y_label)}</text>')
    for k, s in enumerate(series):
        color = _COLORS[k % len(_COLORS)]
        segment: list[str] = []
        segments: list[list[str]] = [segment]
        for i, p in enumerate(s.points):
            if p.y is None:
                segment = []
                segments.append(segment)
            else:
                segment.append(f"{sx(i):.1f},{sy(p.y):.1f}")
        for seg in segments:
            if len(seg) > 1:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                           f'points="{" ".join(seg)}"/>')
        for i, p in enumerate(s.points):
            if p.y is None:
                continue
            ring = ' stroke="#b91c1c" stroke-width="3" r="7"' if p.alarm else ' r="4.5"'
            dot = (f'<circle class="{"alarm" if p.alarm else "pt"}" cx="{sx(i):.1f}" '
                   f'cy="{sy(p.y):.1f}"{ring} fill="{color}">'
                   f'<title>{escape(p.tip or _fmt(p.y))}</title></circle>')
            if p.label:
                dot += (f'<text class="pl" x="{sx(i):.1f}" y="{sy(p.y) - 8:.1f}">'
                        f'{escape(p.label)}</text>')
            if p.href:
                dot = f'<a href="{escape(p.href)}">{dot}</a>'
            out.append(dot)
        if len(series) > 1:
            lx = _ML + 8 + 130 * k
            out.append(f'<rect x="{lx}" y="{h - 14}" width="10" height="10" fill="{color}"/>'
                       f'<text x="{lx + 14}" y="{h - 5}">{escape(s.name)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
