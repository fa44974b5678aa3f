"""The pull-request comment: a :class:`ScorecardDiff` as GitHub-flavoured Markdown.

Sections: a headline (HEAD's overall grade against BASE's and the gate's verdict), a warning
when the two runs are of different experiments, a table of the overall and per-layer grades
with their 95 % intervals ("-" when the report has none), what got better or worse, the
failing checks new in HEAD, then the accepted, still failing and fixed ones. Text from the
reports is escaped so a hostile check message cannot inject markup into the comment.
"""

from __future__ import annotations

import html
import re
from typing import Any

from aichaos.drift._scorecard_diff import CheckChange, LayerChange, ScorecardDiff, Side

#: failing case ids listed per check before "and N more"
CASES_SHOWN = 8

_INLINE = re.compile(r"[\r\n\t]+")
_ARROWS = {"better": "▲ better", "worse": "▼ worse", "same": "= same",
           "newly measured": "new", "no longer measured": "dropped", "not measured": ""}


def _text(value: Any) -> str:
    text = html.escape(_INLINE.sub(" ", str(value)), quote=False)
    for ch in "\\|`*_[]":
        text = text.replace(ch, "\\" + ch)
    return text


def _code(value: Any) -> str:
    text = _INLINE.sub(" ", str(value)).replace("`", "'")
    return f"`{text}`"


def _num(value: float) -> str:
    return f"{value:.1f}"


def _grade(side: Side) -> str:
    if not side.measured or side.score is None:
        return "not measured"
    return f"**{_text(side.grade)}** {_num(side.score)}"


def _interval(side: Side) -> str:
    if side.interval is None:
        return "-"
    low, high = side.interval
    return f"{_num(low)}–{_num(high)}"


def _delta(change: LayerChange) -> str:
    arrow = _ARROWS.get(change.change, change.change)
    if change.delta is None or change.change == "same":
        return arrow
    return f"{arrow} ({change.delta:+.1f})"


def _value(check: CheckChange) -> str:
    value = check.value
    if isinstance(value, float):
        shown = f"{value:.3g}"
    elif value is None:
        shown = "n/a"
    else:
        shown = str(value)
    if check.unit and check.unit != "ratio" and value is not None:
        shown += f" {check.unit}"
    parts = [f"value {shown}"]
    if check.threshold:
        parts.append(f"threshold {check.threshold}")
    return ", ".join(parts)


def _check_line(check: CheckChange, mark: str) -> str:
    line = f"- {mark} {_code(check.name)} ({_text(check.layer)}): {_text(_value(check))}"
    if check.message:
        line += f": {_text(check.message)}"
    new_cases = check.status == "still failing" and bool(check.new_cases)
    cases = check.new_cases if new_cases else check.cases
    if cases:
        label = "new failing cases" if new_cases else "cases"
        shown = ", ".join(_text(c) for c in cases[:CASES_SHOWN])
        more = f" and {len(cases) - CASES_SHOWN} more" if len(cases) > CASES_SHOWN else ""
        line += f". {label.capitalize()}: {shown}{more}"
    if check.reason:
        line += f" (accepted: {_text(check.reason)})"
    return line


def _run_label(diff: ScorecardDiff, which: str) -> str:
    run = diff.base if which == "base" else diff.head
    return f"{which.upper()} {_code(run.run_id)}"


def render_pr_comment(diff: ScorecardDiff, *, fail_on_new: bool = False) -> str:
    """Render the PR comment for ``diff``.

    Args:
        diff: from :func:`aichaos.drift.diff_scorecards`.
        fail_on_new: say in the headline that the gate fails on new failing checks.

    Returns:
        the Markdown text, ending with a newline.
    """
    overall = diff.layers[0]
    new = diff.new_failures
    mark = "❌" if new or overall.change == "worse" else "✅"
    title = diff.head.title or diff.base.title or "aichaos run"
    out = [f"## {mark} aichaos readiness: {_text(title)}", ""]
    head_grade = _grade(overall.head) if overall.head.measured else "not measured"
    base_grade = _grade(overall.base) if overall.base.measured else "not measured"
    summary = (f"Overall {head_grade} in {_run_label(diff, 'head')} against {base_grade} in "
               f"{_run_label(diff, 'base')}: {_delta(overall) or 'not measured'}.")
    count = f"{len(new)} new failing check{'s' if len(new) != 1 else ''}"
    if diff.baseline_source:
        count += " not in the baseline"
    gate = (" The gate fails." if fail_on_new and new else
            " The gate passes." if fail_on_new else "")
    out += [f"{summary} {count}.{gate}", ""]
    if diff.differences:
        out += ["> [!WARNING]",
                "> BASE and HEAD are runs of different experiments, so the comparison may "
                "not be like for like: " + "; ".join(_text(d) for d in diff.differences) + ".",
                ""]

    out += ["| # | Layer | BASE | 95% interval | HEAD | 95% interval | Change |",
            "|---|---|---|---|---|---|---|"]
    for change in diff.layers:
        number = "" if change.layer == 0 else str(change.layer)
        name = f"**{_text(change.title)}**" if change.layer == 0 else _text(change.title)
        out.append(f"| {number} | {name} | {_grade(change.base)} | {_interval(change.base)} | "
                   f"{_grade(change.head)} | {_interval(change.head)} | {_delta(change)} |")
    out.append("")

    better = [c for c in diff.layers[1:] if c.change == "better"]
    worse = [c for c in diff.layers[1:] if c.change == "worse"]
    if better or worse:
        def names(items: list[LayerChange]) -> str:
            return ", ".join(f"{_text(c.title)} ({c.delta:+.1f})" for c in items
                             if c.delta is not None) or "none"

        out += [f"**Better:** {names(better)}. **Worse:** {names(worse)}.", ""]
    else:
        out += ["No layer score changed.", ""]

    out += [f"### New failing checks in HEAD ({len(new)})", ""]
    out += [_check_line(c, "❌") for c in new] or ["None."]
    out.append("")
    for status, heading, mark in (("accepted", "Accepted failures (baseline file)", "⚠️"),
                                  ("still failing", "Still failing (failed in BASE too)", "⚠️"),
                                  ("fixed", "Fixed in HEAD", "✅"),
                                  ("not run", "Failed in BASE, not run in HEAD", "➖")):
        items = diff.by_status(status)
        if items:
            out += [f"### {heading} ({len(items)})", ""]
            out += [_check_line(c, mark) for c in items]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
