"""Two finished runs' scorecards side by side: grades, what got better or worse, new failures.

This is the comparison a pull request needs (``aichaos compare BASE HEAD --format
markdown``): it reads only scorecards, so it works on report.json files downloaded as CI
artifacts as well as on stored runs. Scores are compared as reported (points on the 0-100
scale; a change under :data:`SAME_WITHIN` points is "same"); for a statistical test of the
per-case metrics of two stored runs use ``aichaos compare`` without ``--format markdown``.

Checks are matched by name. A check failing in HEAD is

- ``new`` when it did not fail in BASE (it passed, or BASE did not run it) and no entry of
  the baseline file accepts it: the failures a gate fails on;
- ``accepted`` when the baseline file accepts it;
- ``still failing`` when it failed in BASE too.

A check failing in BASE and passing in HEAD is ``fixed``; one HEAD did not run at all is
``not run`` (never counted as fixed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aichaos.drift._baseline_file import AcceptedFailures, load_accepted_failures
from aichaos.drift._reports import RunReport, load_pair
from aichaos.store import ResultStore

#: score changes smaller than this many points (0-100 scale) count as "same"
SAME_WITHIN = 0.05


def _metric_interval(node: dict[str, Any]) -> tuple[float, float] | None:
    """The interval of the headline rate the score is (score = rate x 100), from the
    layer's ``<rate>_ci_low``/``<rate>_ci_high`` metrics, or None."""
    metrics = node.get("metrics") or {}
    score = node.get("score")
    if not isinstance(score, int | float) or not isinstance(metrics, dict):
        return None
    for key, low in metrics.items():
        if not key.endswith("_ci_low"):
            continue
        rate, high = metrics.get(key[: -len("_ci_low")]), metrics.get(key[:-4] + "_high")
        if (isinstance(rate, int | float) and isinstance(low, int | float)
                and isinstance(high, int | float) and abs(rate * 100 - score) < 1e-6):
            return float(low) * 100, float(high) * 100
    return None


def _interval(node: dict[str, Any]) -> tuple[float, float] | None:
    """A score's 95 % interval on the 0-100 scale, from whichever keys the report has: an
    explicit interval of the score, else the interval of the rate the score is made of."""
    for key in ("interval", "score_interval", "ci"):
        value = node.get(key)
        if isinstance(value, list | tuple) and len(value) == 2:
            low, high = value
        elif isinstance(value, dict):
            low = value.get("low", value.get("ci_low"))
            high = value.get("high", value.get("ci_high"))
        else:
            continue
        if isinstance(low, int | float) and isinstance(high, int | float):
            return float(low), float(high)
    for low_key, high_key in (("score_low", "score_high"), ("ci_low", "ci_high")):
        low, high = node.get(low_key), node.get(high_key)
        if isinstance(low, int | float) and isinstance(high, int | float):
            return float(low), float(high)
    return _metric_interval(node)


@dataclass(slots=True)
class Side:
    """One run's grade on a layer (or overall)."""

    score: float | None
    grade: str
    interval: tuple[float, float] | None = None
    measured: bool = True

    @classmethod
    def of(cls, node: dict[str, Any] | None) -> Side:
        if node is None:
            return cls(None, "-", None, False)
        score = node.get("score")
        score = float(score) if isinstance(score, int | float) else None
        grade = node.get("grade_range") or node.get("grade") or "-"
        return cls(score, str(grade), _interval(node), score is not None)


@dataclass(slots=True)
class LayerChange:
    """A layer's (or the overall) grade in BASE and HEAD.

    Attributes:
        layer: 1..6, or 0 for the overall grade.
        title: the layer's title (``Overall`` for 0).
        base, head: the two sides.
        change: ``better``, ``worse``, ``same``, ``newly measured``, ``no longer measured``
            or ``not measured``.
        delta: HEAD score minus BASE score (points), or None.
    """

    layer: int
    title: str
    base: Side
    head: Side
    change: str
    delta: float | None


@dataclass(slots=True)
class CheckChange:
    """A check failing in HEAD or BASE, with its classification (see the module docstring)."""

    name: str
    layer: str
    status: str  # new | accepted | still failing | fixed | not run
    value: Any = None
    unit: str = ""
    threshold: str = ""
    message: str = ""
    cases: list[str] = field(default_factory=list)
    new_cases: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass(slots=True)
class ScorecardDiff:
    """BASE against HEAD. ``differences`` lists how the two experiments differ (empty when
    they are runs of the same experiment)."""

    base: RunReport
    head: RunReport
    layers: list[LayerChange]
    checks: list[CheckChange]
    differences: list[str]
    baseline_source: str | None = None

    def by_status(self, status: str) -> list[CheckChange]:
        return [c for c in self.checks if c.status == status]

    @property
    def new_failures(self) -> list[CheckChange]:
        """Checks failing in HEAD, not in BASE, not accepted by the baseline file."""
        return self.by_status("new")

    def to_dict(self) -> dict[str, Any]:
        def run(r: RunReport) -> dict[str, Any]:
            return {"run_id": r.run_id, "source": r.source, "title": r.title,
                    "target": r.target, "dataset": r.dataset, "status": r.status}

        return {"base": run(self.base), "head": run(self.head),
                "layers": [asdict(x) for x in self.layers],
                "checks": [asdict(c) for c in self.checks],
                "differences": self.differences, "baseline": self.baseline_source,
                "new_failures": len(self.new_failures)}


def _change(base: Side, head: Side) -> tuple[str, float | None]:
    if base.score is None and head.score is None:
        return "not measured", None
    if base.score is None:
        return "newly measured", None
    if head.score is None:
        return "no longer measured", None
    delta = head.score - base.score
    if abs(delta) < SAME_WITHIN:
        return "same", delta
    return ("better" if delta > 0 else "worse"), delta


def _layers(scorecard: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(lay.get("layer", 0)): lay for lay in scorecard.get("layers") or []}


def _failing(scorecard: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for lay in sorted(scorecard.get("layers") or [], key=lambda x: int(x.get("layer", 0))):
        for check in lay.get("checks") or []:
            if not check.get("passed"):
                out.setdefault(str(check.get("name")), (lay, check))
    return out


def experiment_differences(base: RunReport, head: RunReport) -> list[str]:
    """How BASE's and HEAD's experiments differ (title, target, dataset); empty when alike.

    A field unknown on either side (a bare report.json without its journal) is not compared.
    """
    out = []
    if base.title != head.title:
        out.append(f"title {base.title!r} vs {head.title!r}")
    if base.target is not None and head.target is not None and base.target != head.target:
        keys = sorted(set(base.target) | set(head.target))
        diff = [f"{k} {base.target.get(k)!r} vs {head.target.get(k)!r}" for k in keys
                if base.target.get(k) != head.target.get(k)]
        out.append("target " + ", ".join(diff))
    if base.dataset and head.dataset and base.dataset != head.dataset:
        out.append(f"dataset {base.dataset!r} vs {head.dataset!r}")
    return out


def diff_scorecards(base: RunReport, head: RunReport,
                    accepted: AcceptedFailures | None = None) -> ScorecardDiff:
    """Compare HEAD's scorecard with BASE's.

    Args:
        base: the reference run (e.g. the target branch's last run).
        head: the candidate run (the pull request's).
        accepted: accepted failures from a baseline file (see
            :func:`aichaos.drift.load_accepted_failures`), or None.

    Returns:
        the :class:`ScorecardDiff`: overall and per-layer changes (overall first, then
        layers 1..6), the failing checks classified, and the experiments' differences.
    """
    bl, hl = _layers(base.scorecard), _layers(head.scorecard)
    changes = []
    b_side, h_side = Side.of(base.scorecard.get("overall")), Side.of(head.scorecard.get("overall"))
    changes.append(LayerChange(0, "Overall", b_side, h_side, *_change(b_side, h_side)))
    for n in sorted(set(bl) | set(hl)):
        lay = hl.get(n) or bl[n]
        b_side, h_side = Side.of(bl.get(n)), Side.of(hl.get(n))
        changes.append(LayerChange(n, str(lay.get("title") or lay.get("key") or n), b_side,
                                   h_side, *_change(b_side, h_side)))

    bf, hf = _failing(base.scorecard), _failing(head.scorecard)
    checks = []
    for name, (lay, check) in hf.items():
        cases = [str(c) for c in check.get("cases") or []]
        item = CheckChange(name, str(lay.get("title") or ""), "new", check.get("value"),
                           str(check.get("unit") or ""), str(check.get("threshold") or ""),
                           str(check.get("message") or ""), cases)
        entry = accepted.accepts(name, cases) if accepted is not None else None
        if name in bf:
            item.status = "still failing"
            before = {str(c) for c in bf[name][1].get("cases") or []}
            item.new_cases = [c for c in cases if c not in before]
        elif entry is not None:
            item.status, item.reason = "accepted", entry.reason
        checks.append(item)
    ran = {str(c.get("name")) for lay in head.scorecard.get("layers") or []
           for c in lay.get("checks") or []}
    for name, (lay, check) in bf.items():
        if name not in hf:
            status = "fixed" if name in ran else "not run"
            checks.append(CheckChange(name, str(lay.get("title") or ""), status,
                                      check.get("value"), str(check.get("unit") or ""),
                                      str(check.get("threshold") or ""),
                                      str(check.get("message") or ""),
                                      [str(c) for c in check.get("cases") or []]))
    return ScorecardDiff(base, head, changes, checks, experiment_differences(base, head),
                         accepted.source if accepted is not None else None)


def compare_reports(base: str, head: str, open_store: Callable[[], ResultStore], *,
                    baseline: str | Path | None = None) -> ScorecardDiff:
    """Load BASE and HEAD (report.json paths, run directories or stored run references) and
    diff their scorecards, with the accepted failures of ``baseline`` when given.

    Raises:
        ConfigError: a reference is unknown, a file is not a report, or the baseline file is
            malformed.
    """
    accepted = load_accepted_failures(baseline) if baseline is not None else None
    base_report, head_report = load_pair(base, head, open_store)
    return diff_scorecards(base_report, head_report, accepted)
