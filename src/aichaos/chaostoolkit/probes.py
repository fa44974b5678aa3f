"""Chaos Toolkit probes: what the chaos proxy saw, and aichaos scores and checks.

Use them as ``provider: {type: python, module: aichaos.chaostoolkit.probes, func: NAME}``
and judge their output with a tolerance (``range``, a plain value, ``jsonpath``, ...). The
score probes read an aichaos ``report.json`` (``{"scorecard": {"overall", "layers": [...]}}``,
written by ``aichaos run``) or run an aichaos experiment in-process (:func:`run_experiment`).
Layers are named by key (``capability``, ``input_resilience``, ``integration``, ``safety``,
``observability``, ``scale``) or number 1..6; scores are 0-100, None when not measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aichaos.chaostoolkit._control import activity_failed, call, control_url


def list_toxics(proxy: str, control_url: str | None = None, state_file: str | None = None,
                configuration: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The active toxics of ``proxy`` with their counters (``fired``, ``fired_on``)."""
    url = _resolve(control_url, configuration, state_file)
    return call(url, lambda c: c.toxics(proxy))


def toxic_fired(proxy: str, name: str, control_url: str | None = None,
                state_file: str | None = None,
                configuration: Mapping[str, Any] | None = None) -> int:
    """How many requests toxic ``name`` of ``proxy`` has fired on (0 when it is absent)."""
    for toxic in list_toxics(proxy, control_url, state_file, configuration):
        if toxic["name"] == name:
            return int(toxic["fired"])
    return 0


def traffic_count(proxy: str | None = None, upstream_only: bool = False,
                  path: str | None = None, since: float | None = None,
                  control_url: str | None = None, state_file: str | None = None,
                  configuration: Mapping[str, Any] | None = None) -> int:
    """Requests the proxies saw, filtered (``upstream_only``: only those that reached the
    upstream, i.e. no toxic answered in its place; ``since``: epoch seconds)."""
    url = _resolve(control_url, configuration, state_file)
    result = call(url, lambda c: c.traffic(proxy=proxy, upstream_only=upstream_only, path=path,
                                           since=since))
    return int(result["count"])


# ------------------------------------------------------------------ scores


def _report(report: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(report, Mapping):
        doc: Any = dict(report)
    else:
        try:
            doc = json.loads(Path(report).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise activity_failed(f"{report}: cannot read an aichaos report.json: "
                                  f"{exc}") from exc
    card = doc.get("scorecard", doc) if isinstance(doc, dict) else None
    if not isinstance(card, dict) or not isinstance(card.get("layers"), list):
        raise activity_failed(f"{report if isinstance(report, str) else 'report'}: not an "
                              "aichaos report (no scorecard.layers)")
    return card


def _layer(card: dict[str, Any], layer: str | int) -> dict[str, Any]:
    for entry in card["layers"]:
        if str(layer) in (str(entry.get("key")), str(entry.get("layer"))):
            return dict(entry)
    known = ", ".join(str(e.get("key")) for e in card["layers"])
    raise activity_failed(f"unknown layer {layer!r}; known: {known}")


def overall_score(report: str | Mapping[str, Any]) -> float | None:
    """The overall readiness score (the weakest measured layer's), 0-100, or None."""
    score = (_report(report).get("overall") or {}).get("score")
    return None if score is None else float(score)


def layer_score(report: str | Mapping[str, Any], layer: str | int) -> float | None:
    """Layer ``layer``'s score, 0-100, or None when it was not measured.

    Raises:
        ActivityFailed: unreadable report or unknown layer.
    """
    score = _layer(_report(report), layer).get("score")
    return None if score is None else float(score)


def check_value(report: str | Mapping[str, Any], check: str) -> Any:
    """The measured value of check ``check`` (e.g. ``integration.success_rate_under_fault``;
    its unit is the check's ``unit`` in the report).

    Raises:
        ActivityFailed: unreadable report, or no such check (the message lists them).
    """
    return _check(report, check).get("value")


def check_passed(report: str | Mapping[str, Any], check: str) -> bool:
    """Whether check ``check`` passed in the report."""
    return bool(_check(report, check).get("passed"))


def _check(report: str | Mapping[str, Any], check: str) -> dict[str, Any]:
    card = _report(report)
    names = []
    for entry in card["layers"]:
        for c in entry.get("checks") or []:
            if c.get("name") == check:
                return dict(c)
            names.append(str(c.get("name")))
    raise activity_failed(f"unknown check {check!r}; in the report: "
                          f"{', '.join(names) or 'none'}")


def run_experiment(experiment: str, layer: str | int | None = None,
                   report_dir: str | None = None) -> float | None:
    """Run an aichaos experiment file in-process (the library's runner) and return a score.

    Args:
        experiment: path of the aichaos experiment (YAML).
        layer: layer whose score to return; None for the overall score.
        report_dir: also write ``journal.json`` and ``report.json`` there, for the check
            probes to read.

    Returns:
        the score, 0-100, or None when not measured.

    Raises:
        ActivityFailed: the experiment file is invalid or the run could not start.
    """
    import asyncio

    from aichaos.config import load_experiment
    from aichaos.errors import AIChaosError
    from aichaos.report import write_reports
    from aichaos.runner import EventBus, Runner

    try:
        exp = load_experiment(experiment)
        outcome = asyncio.run(Runner(exp, EventBus()).run())
    except AIChaosError as exc:
        raise activity_failed(f"run_experiment: {exc}") from exc
    card = outcome.scorecard.to_dict()
    if report_dir:
        write_reports(Path(report_dir), card, outcome.journal, ["json"])
    return overall_score(card) if layer is None else layer_score(card, layer)


def _resolve(control_url_: str | None, configuration: Mapping[str, Any] | None,
             state_file: str | None) -> str:
    return control_url(control_url_, configuration, state_file)
