"""Renderers of a finished run (terminal, JSON, HTML, JUnit XML, Markdown) and the writer that
listens for the run's end. The scorecard they read lives in :mod:`aichaos.results`."""

from aichaos.report._html import render_html
from aichaos.report._json import render_json
from aichaos.report._junit import render_junit
from aichaos.report._markdown import render_markdown
from aichaos.report._terminal import render_comparison, render_terminal
from aichaos.report._writer import ReportWriter, write_reports

__all__ = [
    "ReportWriter",
    "render_comparison",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_terminal",
    "write_reports",
]
