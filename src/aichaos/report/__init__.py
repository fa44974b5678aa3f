"""The scorecard and its renderers (terminal, JSON, HTML, JUnit XML, Markdown)."""

from aichaos.report._scorecard import LAYERS, Check, FailingCase, LayerResult, Scorecard, grade

__all__ = ["LAYERS", "Check", "FailingCase", "LayerResult", "Scorecard", "grade"]
