"""What each page shows, built from the store (no HTTP here): plain dicts for the templates.

Pages: the runs of every experiment with its grade history; one run's scorecard with its
failing cases; one case's stored observations; two runs compared (the verdicts of
:func:`aichaos.drift.compare`, the function behind ``aichaos compare``); an experiment's
trends per metric over its runs, with the Page-Hinkley alarms ``aichaos watch`` would raise.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import quote, urlencode

from aichaos.drift import METRICS, Comparison, PageHinkley, compare, run_sample
from aichaos.errors import ConfigError
from aichaos.results import LAYERS, grade
from aichaos.store import ResultStore
from aichaos.ui._charts import GRADE_BANDS, Point, Series, line_chart, nice_max
from aichaos.ui._queries import StoreReader, parse_json


class NotFound(ConfigError):
    """A run or case named in the URL is not in the store (HTTP 404)."""


def run_href(run_id: str) -> str:
    return f"/runs/{quote(run_id, safe='')}"


def case_href(run_id: str, case_id: str, variant: str) -> str:
    return f"{run_href(run_id)}/case?" + urlencode({"id": case_id, "variant": variant})


def trends_href(title: str) -> str:
    return "/trends?" + urlencode({"experiment": title})


def compare_href(a: str, b: str) -> str:
    return "/compare?" + urlencode({"a": a, "b": b})


def when(timestamp: Any) -> str:
    """A stored epoch time as ``YYYY-MM-DD HH:MM:SS UTC`` (``-`` when missing)."""
    if not isinstance(timestamp, int | float):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _as_store(reader: StoreReader) -> ResultStore:
    # aichaos.drift reads a store through .run() and .cases() only; StoreReader offers both
    # and cannot write (a ResultStore would create tables on open).
    return cast(ResultStore, reader)


# ----------------------------------------------------------------------------- runs list


def runs_page(reader: StoreReader) -> dict[str, Any]:
    """Every experiment: its runs (newest first) and a grade-history chart (oldest first)."""
    groups = []
    for exp in reader.experiments():
        history = exp.runs[::-1]
        points = [Point(r["overall_score"], href=run_href(r["run_id"]),
                        label=r["overall_grade"] or "",
                        tip=f"{r['run_id']}: {r['overall_grade'] or '-'} "
                            f"({_score(r['overall_score'])})") for r in history]
        chart = line_chart(f"Overall readiness of {exp.title!r}, run by run",
                           [Series("overall", points)],
                           [when(r["started_at"])[5:19] for r in history],
                           y_label="score (0-100)", y_max=100, bands=GRADE_BANDS)
        rows = [dict(r, href=run_href(r["run_id"]), when=when(r["started_at"]),
                     duration=_duration(r), score=_score(r["overall_score"]),
                     baseline=r["run_id"] == exp.baseline) for r in exp.runs]
        groups.append({"title": exp.title, "runs": rows, "chart": chart,
                       "trends": trends_href(exp.title), "baseline": exp.baseline})
    return {"experiments": groups}


def _score(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "—"


def _duration(row: dict[str, Any]) -> str:
    start, end = row.get("started_at"), row.get("ended_at")
    if isinstance(start, int | float) and isinstance(end, int | float):
        return f"{end - start:.1f} s"
    return "running" if row.get("status") == "running" else "-"


# ----------------------------------------------------------------------------- one run


def run_page(reader: StoreReader, run_id: str) -> dict[str, Any]:
    """A run's scorecard: overall verdict, a card per layer, failing cases linked to their
    stored observations.

    Raises:
        NotFound: no such run.
    """
    row = reader.run(run_id)
    if row is None:
        raise NotFound(f"run {run_id!r}: not in the results store")
    card = parse_json(row["scorecard"])
    experiment = parse_json(row["experiment"])
    layers = []
    for layer in card.get("layers") or []:
        failing = [dict(f, href=case_href(run_id, str(f.get("case_id")),
                                          str(f.get("variant"))),
                        anchor=f"case-{layer.get('key')}-{n}")
                   for n, f in enumerate(layer.get("failing") or [], 1)]
        layers.append(dict(layer, failing=failing, score_text=_score(layer.get("score")),
                           metrics=[(k, _value(v)) for k, v in
                                    (layer.get("metrics") or {}).items()
                                    if not isinstance(v, dict | list)]))
    overall = card.get("overall") or {}
    previous = reader.latest_of(row["title"], before=run_id)
    pinned = reader.baselines().get(row["title"])
    return {"run": dict(row, when=when(row["started_at"]), duration=_duration(row)),
            "overall": overall, "overall_score": _score(overall.get("score")),
            "layers": layers, "target": (experiment.get("target") or {}),
            "trends": trends_href(row["title"]),
            "compare_previous": compare_href(previous, run_id) if previous else None,
            "compare_baseline": (compare_href(pinned, run_id)
                                 if pinned and pinned != run_id else None),
            "failing_total": sum(len(x["failing"]) for x in layers)}


def _value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def case_page(reader: StoreReader, run_id: str, case_id: str, variant: str) -> dict[str, Any]:
    """One case of a run: its failing entry in the scorecard (reason, replay line) and every
    stored observation of it (input, output, expected, error, timings, scores).

    Raises:
        NotFound: no such run, or the run has neither a stored row nor a failing entry for
            this case and variant.
    """
    row = reader.run(run_id)
    if row is None:
        raise NotFound(f"run {run_id!r}: not in the results store")
    entries = [dict(f, layer=layer.get("title"))
               for layer in parse_json(row["scorecard"]).get("layers") or []
               for f in layer.get("failing") or []
               if f.get("case_id") == case_id and f.get("variant") == variant]
    rows = reader.case_rows(run_id, case_id, variant)
    if not rows and not entries:
        raise NotFound(f"run {run_id}: no case {case_id!r} with variant {variant!r}")
    observations = [dict(r, scores=parse_json(r["scores"]), metadata=parse_json(r["metadata"]),
                         layer_title=LAYERS.get(r["layer"], ("", f"layer {r['layer']}"))[1])
                    for r in rows]
    return {"run": row, "run_href": run_href(run_id), "case_id": case_id, "variant": variant,
            "entries": entries, "observations": observations}


# ----------------------------------------------------------------------------- compare


def compare_page(reader: StoreReader, a: str, b: str, *, alpha: float = 0.05,
                 suites: Sequence[str] | None = None, embeddings: bool = True
                 ) -> dict[str, Any]:
    """Run B against reference run A: the scorecards side by side (score deltas) and the
    per-metric verdicts of :func:`aichaos.drift.compare` (``aichaos compare``'s).

    ``a`` may be ``baseline`` (the baseline pinned for B's experiment) and either may be
    ``latest``, as on the command line.

    Raises:
        NotFound: an unknown run.
        ConfigError: no pinned baseline, the same run twice, no cases, a bad alpha.
    """
    b = _resolve(reader, b, None)
    a = _resolve(reader, a, b)
    if a == b:
        raise ConfigError(f"A and B are the same run ({a})")
    run_a, run_b = reader.run(a), reader.run(b)
    assert run_a is not None and run_b is not None
    chosen = None if embeddings else [m for m in METRICS if m != "output_embedding"]
    result: Comparison = compare(_as_store(reader), a, b, alpha=alpha, suites=suites or None,
                                 metrics=chosen)
    metrics = []
    for m in result.metrics:
        delta = (m.value_b - m.value_a) if m.value_a is not None and m.value_b is not None \
            else None
        metrics.append({"metric": m.metric, "a": _num(m.value_a), "b": _num(m.value_b),
                        "delta": _signed(delta), "n": f"{m.n_a}/{m.n_b}", "test": m.test,
                        "effect": f"{m.effect_name} {_num(m.effect)}",
                        "p": _num(m.p_value), "p_holm": _num(m.p_adjusted),
                        "verdict": m.verdict, "unit": m.unit})
    cards = (parse_json(run_a["scorecard"]), parse_json(run_b["scorecard"]))
    by_layer = [{n: layer for layer in card.get("layers") or [] if (n := layer.get("layer"))}
                for card in cards]
    layers = []
    for n, (_key, title) in LAYERS.items():
        la, lb = by_layer[0].get(n, {}), by_layer[1].get(n, {})
        sa_, sb_ = la.get("score"), lb.get("score")
        both = isinstance(sa_, int | float) and isinstance(sb_, int | float)
        layers.append({"title": title, "a": _score(sa_), "b": _score(sb_),
                       "grade_a": la.get("grade", "-"), "grade_b": lb.get("grade", "-"),
                       "delta": _signed(sb_ - sa_, 1) if both else "—",
                       "failing_a": len(la.get("failing") or []),
                       "failing_b": len(lb.get("failing") or [])})
    return {"a": dict(run_a, href=run_href(a), when=when(run_a["started_at"])),
            "b": dict(run_b, href=run_href(b), when=when(run_b["started_at"])),
            "alpha": result.alpha, "verdict": result.verdict, "metrics": metrics,
            "layers": layers, "overall": (
                _score(run_a["overall_score"]), _score(run_b["overall_score"]),
                _signed(run_b["overall_score"] - run_a["overall_score"], 1)
                if isinstance(run_a["overall_score"], int | float)
                and isinstance(run_b["overall_score"], int | float) else "—"),
            "swap": compare_href(b, a), "suites": list(suites or []),
            "embeddings": embeddings}


def _resolve(reader: StoreReader, ref: str, other: str | None) -> str:
    title = None
    if other is not None:
        other_row = reader.run(other)
        title = other_row["title"] if other_row else None
    if ref == "baseline":
        pinned = reader.baselines().get(title or "")
        if pinned is None:
            raise ConfigError(f"no baseline pinned for experiment {title!r}; pin one with "
                              "'aichaos compare RUN_ID --pin'")
        return pinned
    if ref == "latest":
        if title is not None:
            found = reader.latest_of(title, before=other)
        else:
            newest = reader.experiments(per_experiment=1)
            found = max(newest, key=lambda e: e.runs[0]["started_at"] or 0).runs[0][
                "run_id"] if newest else None
        if found is None:
            raise NotFound("latest: the results store holds no other run")
        return str(found)
    if reader.run(ref) is None:
        raise NotFound(f"run {ref!r}: not in the results store")
    return ref


def _num(value: float | None, digits: int = 3) -> str:
    """As ``aichaos compare`` prints a figure."""
    if value is None:
        return "-"
    return f"{value:.2g}" if 0 < abs(value) < 10 ** -digits else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return ("+" if value > 0 else "") + _num(value, digits)


# ----------------------------------------------------------------------------- trends

#: metric -> chart label with unit (how a run reduces to it: see :func:`run_figures`)
TREND_METRICS: dict[str, str] = {
    "latency_s": "mean latency of answered requests (s)",
    "pass_rate": "pass rate",
    "error_rate": "error rate",
    "ttft_s": "median time to first token (s)",
    "score": "mean score (0..1)",
    "refusal_rate": "refusal rate",
    "output_length": "median output length",
}
#: the metrics ``aichaos watch`` feeds to Page-Hinkley detectors, with the direction alarmed
#: and the sigma floor in the metric's unit (as ``aichaos.drift`` watch sets them)
WATCHED: dict[str, tuple[str, float]] = {
    "latency_s": ("up", 0.02), "pass_rate": ("down", 0.05), "error_rate": ("up", 0.05)}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def run_figures(reader: StoreReader, run_id: str) -> dict[str, float | None]:
    """A run's figures per :data:`TREND_METRICS` over the cases ``aichaos compare`` compares
    (capability when the run has it, else every layer), None when not measured."""
    try:
        obs = run_sample(_as_store(reader), run_id).observations
    except ConfigError:  # a run with no stored cases (in progress, or nothing probed)
        return dict.fromkeys(TREND_METRICS)
    ok = [o.e2e_s for o in obs if not o.errored and o.e2e_s is not None]
    ttft = [o.ttft_s for o in obs if o.ttft_s is not None]
    lengths = [o.length for o in obs if o.length is not None]
    return {
        "latency_s": _mean(ok),
        "pass_rate": _mean([float(o.passed) for o in obs if o.passed is not None]),
        "error_rate": _mean([float(o.errored) for o in obs]) if obs else None,
        "ttft_s": statistics.median(ttft) if ttft else None,
        "score": _mean([o.score for o in obs if o.score is not None]),
        "refusal_rate": _mean([float(o.refused) for o in obs if o.refused is not None]),
        "output_length": statistics.median(lengths) if lengths else None,
    }


def trends_page(reader: StoreReader, title: str, *, warmup: int = 10, threshold: float = 8.0
                ) -> dict[str, Any]:
    """An experiment's runs, oldest first: layer scores and each metric as a chart, with the
    Page-Hinkley alarms ``aichaos watch`` would raise on the watched metrics.

    Raises:
        NotFound: no run of this experiment.
    """
    rows = reader.runs_of(title)
    if not rows:
        raise NotFound(f"experiment {title!r}: no runs in the results store")
    labels = [when(r["started_at"])[5:19] for r in rows]
    layer_series = []
    for n, (_key, name) in LAYERS.items():
        points = []
        for r in rows:
            layer: dict[str, Any] = next((x for x in r["scorecard"].get("layers") or []
                                          if x.get("layer") == n), {})
            score = layer.get("score")
            points.append(Point(score if isinstance(score, int | float) else None,
                                tip=f"{r['run_id']}: {name} {_score(score)}",
                                href=run_href(r["run_id"])))
        if any(p.y is not None for p in points):
            layer_series.append(Series(name, points))
    layer_chart = line_chart(f"Layer scores of {title!r}", layer_series, labels,
                             y_label="score (0-100)", y_max=100, bands=GRADE_BANDS)
    charts = []
    figures = [run_figures(reader, r["run_id"]) for r in rows]
    alarms: list[dict[str, Any]] = []
    for metric, label in TREND_METRICS.items():
        values = [f[metric] for f in figures]
        marks: set[int] = set()
        if metric in WATCHED:
            direction, floor = WATCHED[metric]
            detector = PageHinkley(direction=direction, warmup=warmup, threshold=threshold,
                                   sigma_floor=floor)
            for i, v in enumerate(values):
                if v is not None and detector.update(v):
                    marks.add(i)
                    alarms.append({"metric": metric, "run_id": rows[i]["run_id"],
                                   "href": run_href(rows[i]["run_id"]), "value": _value(v),
                                   "direction": "increase" if direction == "up"
                                   else "decrease", "when": labels[i]})
        points = [Point(v, tip=f"{rows[i]['run_id']}: {_value(v)}"
                        + (" (Page-Hinkley alarm)" if i in marks else ""),
                        href=run_href(rows[i]["run_id"]), label="alarm" if i in marks else "",
                        alarm=i in marks)
                  for i, v in enumerate(values)]
        known = [v for v in values if v is not None]
        if not known:
            continue
        top = 1.0 if metric.endswith("_rate") or metric == "score" else nice_max(max(known))
        unit = "s" if metric.endswith("_s") else ("ratio" if top == 1.0 else "")
        charts.append(line_chart(label, [Series(metric, points)], labels, y_label=unit,
                                 y_max=top, height=200))
    table = [{"run_id": r["run_id"], "href": run_href(r["run_id"]), "when": labels[i],
              "grade": r["overall_grade"] or "-", "score": _score(r["overall_score"]),
              "layers": [grade(_layer_score(r, n)) for n in LAYERS],
              "figures": {k: _value(v) for k, v in figures[i].items()},
              "vs_previous": compare_href(rows[i - 1]["run_id"], r["run_id"]) if i else None}
             for i, r in enumerate(rows)][::-1]
    return {"title": title, "layer_chart": layer_chart, "charts": charts, "alarms": alarms,
            "runs": table,
            "metrics": TREND_METRICS, "layer_names": [t for _k, t in LAYERS.values()],
            "warmup": warmup, "threshold": threshold}


def _layer_score(row: dict[str, Any], n: int) -> float | None:
    for layer in row["scorecard"].get("layers") or []:
        if layer.get("layer") == n and isinstance(layer.get("score"), int | float):
            return float(layer["score"])
    return None
