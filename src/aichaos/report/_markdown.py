"""GitHub-flavoured Markdown report, for pull-request comments and job summaries.

Sections: title and verdict line, run status, a table of the six layers (score, grade,
headline metrics), the failed checks, and the top failing cases of each layer with their
one-line reproductions in code blocks. Text that came from the system under test is
HTML-escaped and stripped of table-breaking characters, so a hostile output cannot inject
markup into the comment.
"""

from __future__ import annotations

import html
import re
from typing import Any

from aichaos.report._format import (
    check_line,
    failed_checks,
    fmt_score,
    headline,
    layers,
    not_measured_checks,
    status_line,
    verdict,
)
from aichaos.results import run_summary

#: Failing cases listed per layer.
CASES_PER_LAYER = 5
#: Characters of a case's input or output shown before an ellipsis.
SNIPPET_CHARS = 160

_INLINE = re.compile(r"[\r\n\t]+")


def _text(value: Any, limit: int | None = None) -> str:
    """Inline-safe text: one line, HTML-escaped, pipes and backticks neutralised."""
    text = _INLINE.sub(" ", str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False)
    return text.replace("|", "\\|").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_")


def _code_block(text: str) -> list[str]:
    """A fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}sh", text, fence]


def _steady(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not evaluated"}[met]


def render_markdown(scorecard: dict[str, Any], journal: dict[str, Any]) -> str:
    """Render a GitHub-flavoured Markdown report.

    Args:
        scorecard: ``Scorecard.to_dict()``.
        journal: a Chaos Toolkit journal dict.

    Returns:
        The Markdown text, ending with a newline.
    """
    summary = run_summary(journal)
    title = summary["title"] or "aichaos run"
    overall = scorecard.get("overall") or {}
    out: list[str] = [f"# aichaos readiness report: {_text(title)}", ""]
    mark = "✅" if overall.get("grade") in ("A", "B") and not summary["failed"] else "❌"
    out += [f"{mark} **{_text(verdict(scorecard))}**", ""]
    out += [
        f"Run {_text(status_line(journal))}. Steady state before: "
        f"{_steady(summary['steady_state_before'])}; after: "
        f"{_steady(summary['steady_state_after'])}.",
        "",
    ]

    out += ["| # | Layer | Score | Grade | Headline metrics |", "|---|---|---:|:---:|---|"]
    for lay in layers(scorecard):
        if lay.get("measured"):
            metrics = _text(headline(lay)) or "—"
        else:
            metrics = "_" + _text(lay.get("note") or "not measured") + "_"
            if "not measured" not in metrics:
                metrics = "_not measured_: " + metrics
        out.append(
            f"| {lay.get('layer')} | {_text(lay.get('title', ''))} | "
            f"{fmt_score(lay.get('score'))} | {_text(lay.get('grade', '-'))} | {metrics} |"
        )
    out.append("")

    noted = [lay for lay in layers(scorecard) if lay.get("measured") and lay.get("note")]
    if noted:  # caveats of measured grades (small samples, missing declarations)
        out += ["## Notes", ""]
        out += [f"- {_text(lay.get('title'))}: {_text(lay['note'])}" for lay in noted]
        out.append("")

    unmeasured = not_measured_checks(scorecard)
    if unmeasured:  # never passed, never failed: say why each could not run
        out += [f"## Checks not measured ({len(unmeasured)})", ""]
        out += [f"- `{_INLINE.sub(' ', str(c.get('name')))}` ({_text(lay.get('title'))}): "
                f"{_text(str(c['not_measured']))}" for lay, c in unmeasured]
        out.append("")
    failed = failed_checks(scorecard)
    out += [f"## Failed checks ({len(failed)})", ""]
    if not failed:
        out += ["None.", ""]
    for lay, check in failed:
        line = f"- ❌ `{_INLINE.sub(' ', str(check.get('name')))}` ({_text(lay.get('title'))}): "
        line += _text(check_line(check))
        cases = [str(c) for c in check.get("cases") or []]
        if cases:
            shown = ", ".join(_text(c) for c in cases[:10])
            more = f" and {len(cases) - 10} more" if len(cases) > 10 else ""
            line += f". Cases: {shown}{more}"
        out.append(line)
    out.append("")

    with_cases = [lay for lay in layers(scorecard) if lay.get("failing")]
    if with_cases:
        out += ["## Top failing cases", ""]
    for lay in with_cases:
        failing: list[dict[str, Any]] = lay["failing"]
        out += [f"### {_text(lay.get('title'))} ({len(failing)} failing)", ""]
        for case in failing[:CASES_PER_LAYER]:
            out.append(
                f"- **{_text(case.get('case_id'))}** ({_text(case.get('variant', ''))}): "
                f"{_text(case.get('reason', ''))}"
            )
            out.append(f"  - input: {_text(case.get('input', ''), SNIPPET_CHARS)}")
            out.append(f"  - output: {_text(case.get('output', ''), SNIPPET_CHARS)}")
            repro = _INLINE.sub(" ", str(case.get("reproduce", "")))
            if repro:
                out += ["", *("  " + line for line in _code_block(repro)), ""]
        if len(failing) > CASES_PER_LAYER:
            out += [f"_…and {len(failing) - CASES_PER_LAYER} more in the JSON report._", ""]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
