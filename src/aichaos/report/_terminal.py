"""Terminal report with rich: verdict panel, layer table, failed checks, failing cases.

All text that may come from the system under test is passed as :class:`rich.text.Text`,
never as console markup, so an answer containing ``[bold]`` or ``[/]`` prints verbatim.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from aichaos.report._format import (
    check_line,
    failed_checks,
    fmt_grade,
    fmt_interval,
    fmt_score,
    grade_low,
    headline,
    layers,
    score_text,
    status_line,
    unmeasured_checks,
    verdict,
)
from aichaos.results import run_summary

#: Failing cases printed per layer.
CASES_PER_LAYER = 5
#: Characters of a case's input or output shown before an ellipsis.
SNIPPET_CHARS = 100

GRADE_STYLES: dict[str, str] = {
    "A": "bold green",
    "B": "green",
    "C": "yellow",
    "D": "dark_orange",
    "F": "bold red",
    "-": "dim",
}


def _snippet(value: Any, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _grade_text(grade: Any) -> Text:
    letter = str(grade or "-")
    return Text(letter, style=GRADE_STYLES.get(letter, ""))


def _grade_cell(node: dict[str, Any]) -> Text:
    """The letter, or the range ("B–D") when not firm, coloured by its worst end."""
    return Text(fmt_grade(node), style=GRADE_STYLES.get(grade_low(node), ""))


def _verdict_panel(scorecard: dict[str, Any], journal: dict[str, Any]) -> Panel:
    summary = run_summary(journal)
    overall = scorecard.get("overall") or {}
    letter = grade_low(overall)
    interval = fmt_interval(overall.get("interval")) if overall.get("score") is not None else ""
    body = Text()
    body.append("Readiness ", style="bold")
    body.append(f" {fmt_grade(overall)} ", style=f"reverse {GRADE_STYLES.get(letter, '')}")
    body.append(f"  {fmt_score(overall.get('score'))}/100")
    body.append(f" {interval}\n" if interval else "\n")
    body.append(verdict(scorecard) + "\n")
    status_style = "red" if summary["failed"] else "green"
    body.append(f"Run {status_line(journal)}", style=status_style)
    title = Text(str(summary["title"] or "aichaos run"), style="bold")
    return Panel(body, title=title, border_style=GRADE_STYLES.get(letter, "dim"))


def _layer_table(scorecard: dict[str, Any]) -> Table:
    weakest = (scorecard.get("overall") or {}).get("weakest_layer")
    table = Table(title="AI Production Readiness Stack", box=box.SIMPLE_HEAD, expand=False)
    table.add_column("#", justify="right")
    table.add_column("Layer")
    table.add_column("Grade", justify="center")
    table.add_column("Score", justify="right")
    table.add_column("Headline metrics")
    for lay in layers(scorecard):
        name = Text(str(lay.get("title", lay.get("key"))))
        if lay.get("key") == weakest:
            name.append(" ← weakest", style="bold red")
        if lay.get("measured"):
            metrics = Text(headline(lay) or "—")
            table.add_row(
                str(lay.get("layer")),
                name,
                _grade_cell(lay),
                score_text(lay),
                metrics,
            )
        else:
            note = str(lay.get("note") or "not measured")
            if "not measured" not in note:
                note = f"not measured: {note}"
            table.add_row(
                str(lay.get("layer")), name, _grade_text("-"), "—", Text(note), style="dim"
            )
    return table


def render_terminal(scorecard: dict[str, Any], journal: dict[str, Any], console: Console) -> None:
    """Print the report to a rich console.

    Prints a panel with the overall grade, the weakest layer and the run status; a table of
    the six layers (grade coloured, score, headline metrics; unmeasured layers dim and
    labelled "not measured"); the failed checks; the checks that were not measured; and up
    to :data:`CASES_PER_LAYER` failing cases per layer, each with its reproduction line.
    A grade whose interval spans bands prints as its range (``B–D``, coloured by its low
    end) and a score with its interval and n when they were computed.

    Args:
        scorecard: ``Scorecard.to_dict()``.
        journal: a Chaos Toolkit journal dict.
        console: where to print (``Console(record=True)`` to capture).
    """
    console.print(_verdict_panel(scorecard, journal))
    console.print(_layer_table(scorecard))
    for lay in layers(scorecard):
        if lay.get("measured") and lay.get("note"):
            console.print(Text(f"  note, {lay.get('title')}: {lay['note']}", style="yellow"))

    failed = failed_checks(scorecard)
    if failed:
        console.print(Text(f"Failed checks ({len(failed)})", style="bold red"))
        for lay, check in failed:
            line = Text("  ✗ ", style="red")
            line.append(str(check.get("name")), style="bold")
            line.append(f" ({lay.get('title')}): {check_line(check)}")
            cases = [str(c) for c in check.get("cases") or []]
            if cases:
                more = f" +{len(cases) - 5} more" if len(cases) > 5 else ""
                line.append(f"  cases: {', '.join(cases[:5])}{more}", style="dim")
            console.print(line)
    unmeasured = unmeasured_checks(scorecard)
    if unmeasured:
        console.print(Text(f"Not measured checks ({len(unmeasured)}), skipped", style="dim"))
        for lay, check in unmeasured:
            line = Text(f"  – {check.get('name')} ({lay.get('title')}): "
                        f"{check.get('not_measured')}", style="dim")
            console.print(line)

    for lay in layers(scorecard):
        failing: list[dict[str, Any]] = lay.get("failing") or []
        if not failing:
            continue
        console.print(Text(f"\nFailing cases: {lay.get('title')} ({len(failing)})", style="bold"))
        for case in failing[:CASES_PER_LAYER]:
            head = Text("  • ")
            head.append(str(case.get("case_id")), style="bold")
            head.append(f" [{case.get('variant', '')}] ", style="cyan")
            head.append(_snippet(case.get("reason", "")))
            console.print(head)
            console.print(Text(f"      input:  {_snippet(case.get('input', ''))}", style="dim"))
            console.print(Text(f"      output: {_snippet(case.get('output', ''))}", style="dim"))
            if case.get("reproduce"):
                repro = Text("      $ ", style="dim")
                repro.append(_snippet(case["reproduce"], 300), style="green")
                console.print(repro)
        if len(failing) > CASES_PER_LAYER:
            hidden = len(failing) - CASES_PER_LAYER
            console.print(Text(f"  …and {hidden} more in the JSON/HTML report", style="dim"))


def _cell(layer: dict[str, Any] | None) -> Text:
    if layer is None or not layer.get("measured"):
        return Text("not measured", style="dim")
    cell = _grade_cell(layer)
    cell.append(f" {fmt_score(layer.get('score'))}")
    interval = fmt_interval(layer.get("interval"))
    if interval:
        cell.append(f" {interval}", style="dim")
    return cell


def render_comparison(cards: dict[str, dict[str, Any]], console: Console) -> None:
    """Print several scorecards side by side: rows are layers, columns are runs.

    With exactly two runs a last column shows the score change from the first to the
    second (e.g. ``{"naive": sc1, "hardened": sc2}`` shows what hardening bought).

    Args:
        cards: run label -> ``Scorecard.to_dict()``, in column order.
        console: where to print.
    """
    labels = list(cards)
    table = Table(title="Readiness comparison", box=box.SIMPLE_HEAD)
    table.add_column("#", justify="right")
    table.add_column("Layer")
    for label in labels:
        table.add_column(Text(label), justify="center")
    delta = len(labels) == 2
    if delta:
        table.add_column("Δ score", justify="right")

    by_run = {label: {lay.get("layer"): lay for lay in layers(cards[label])} for label in labels}
    numbers = sorted({n for run in by_run.values() for n in run}, key=lambda n: int(n or 0))
    for number in numbers:
        row_layers = [by_run[label].get(number) for label in labels]
        title = next((str(lay["title"]) for lay in row_layers if lay and "title" in lay), "?")
        row: list[Text | str] = [str(number), title, *(_cell(lay) for lay in row_layers)]
        if delta:
            row.append(_delta(*(lay.get("score") if lay else None for lay in row_layers)))
        table.add_row(*row)

    table.add_section()
    overall_row: list[Text | str] = ["", Text("Overall (weakest layer)", style="bold")]
    for label in labels:
        overall = cards[label].get("overall") or {}
        cell = _cell({"measured": overall.get("score") is not None, **overall})
        if overall.get("weakest_layer"):
            cell.append(f" ({overall['weakest_layer']})", style="dim")
        overall_row.append(cell)
    if delta:
        scores = [(cards[label].get("overall") or {}).get("score") for label in labels]
        overall_row.append(_delta(*scores))
    table.add_row(*overall_row)
    console.print(table)


def _delta(before: Any, after: Any) -> Text:
    if not isinstance(before, int | float) or not isinstance(after, int | float):
        return Text("—", style="dim")
    change = float(after) - float(before)
    style = "green" if change > 0 else "red" if change < 0 else "dim"
    return Text(f"{change:+.1f}", style=style)
