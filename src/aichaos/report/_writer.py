"""Writes the journal and the reports when a run ends (an event listener)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console

from aichaos._events import EventBus, RunEnded
from aichaos.report._html import render_html
from aichaos.report._json import render_json
from aichaos.report._junit import render_junit
from aichaos.report._markdown import render_markdown
from aichaos.report._terminal import render_terminal

FILES = {"json": "report.json", "html": "report.html", "junit": "junit.xml",
         "markdown": "report.md"}


def write_reports(
    directory: Path, scorecard: dict[str, Any], journal: dict[str, Any],
    formats: Iterable[str], console: Console | None = None,
) -> dict[str, Path]:
    """Write ``journal.json`` and each requested report format into ``directory``.

    Files are written before the terminal report, so a closed pipe on stdout (``| head``)
    never loses them. Text that is not valid Unicode (a lone surrogate the dataset or the
    system under test produced) is written escaped (``\\ud800``, UTF-8 ``backslashreplace``),
    never dropped and never a crash: JSON files escape it the JSON way already.

    Returns:
        format name -> path written (``journal`` included).
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = {"journal": directory / "journal.json"}
    written["journal"].write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")
    renderers = {"json": render_json, "html": render_html, "junit": render_junit,
                 "markdown": render_markdown}
    formats = list(formats)
    for fmt in formats:  # the files first: a closed stdout must not cost them
        if fmt == "terminal":
            continue
        path = directory / FILES[fmt]
        path.write_text(renderers[fmt](scorecard, journal), encoding="utf-8",
                        errors="backslashreplace")
        written[fmt] = path
    if "terminal" in formats and console is not None:
        with contextlib.suppress(BrokenPipeError):  # `run ... | head`: the reader left
            render_terminal(scorecard, journal, console)
    return written


class ReportWriter:
    """On :class:`RunEnded`, writes the journal and reports into ``<results_dir>/<run_id>/``."""

    def __init__(self, results_dir: str | Path, formats: Iterable[str],
                 console: Console | None = None) -> None:
        self.results_dir = Path(results_dir)
        self.formats = list(formats)
        self.console = console
        self.written: dict[str, Path] = {}

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(RunEnded, self.on_run_ended)

    def on_run_ended(self, event: RunEnded) -> None:
        self.written = write_reports(self.results_dir / event.run_id, event.scorecard,
                                     event.journal, self.formats, self.console)
