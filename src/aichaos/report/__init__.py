"""The scorecard and its renderers (terminal, JSON, HTML, JUnit XML, Markdown)."""

from aichaos.report._html import render_html
from aichaos.report._json import render_json
from aichaos.report._junit import render_junit
from aichaos.report._markdown import render_markdown
from aichaos.report._scorecard import LAYERS, Check, FailingCase, LayerResult, Scorecard, grade
from aichaos.report._terminal import render_comparison, render_terminal
from aichaos.report._writer import ReportWriter, write_reports

__all__ = [
    "LAYERS",
    "Check",
    "FailingCase",
    "LayerResult",
    "ReportWriter",
    "Scorecard",
    "grade",
    "render_comparison",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_terminal",
    "write_reports",
]
