"""Scorer interface and registry.

A scorer judges one answer against a golden case and returns a 0..1 score and a verdict.
Scorers are registered by name (``contains``, ``exact``, ``regex``, ``json_schema``,
``semantic``) and built from ``ScorerSpec`` entries of the experiment file.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from aichaos._registry import Registry
from aichaos.config import ScorerSpec
from aichaos.dataset import Case


@dataclass(frozen=True, slots=True)
class Score:
    """A scorer's verdict: ``value`` in 0..1, ``passed``, and a one-line ``explanation``."""

    value: float
    passed: bool
    explanation: str = ""


class Scorer(abc.ABC):
    """Judges an answer. ``spec`` records (name, arguments) for exact replay."""

    name: str = ""
    spec: tuple[str, dict[str, Any]] = ("", {})
    judged: str = "its Score is the verdict on one answer (value 0..1, passed)"

    @abc.abstractmethod
    def score(self, output: str, case: Case) -> Score:
        """Score ``output`` against ``case``; never raises for odd outputs."""


scorers: Registry[Scorer] = Registry("scorer", listed=True)


def build_scorer(spec: ScorerSpec) -> Scorer:
    """Build a scorer from ``{type: NAME, ...arguments}``.

    Raises:
        PluginError: unknown scorer or arguments.
    """
    arguments = dict(spec.model_extra or {})
    return scorers.create(spec.type, **arguments)


def expected_list(case: Case) -> list[str]:
    """The case's expected answers as a list of strings (empty when none)."""
    if case.expected is None or isinstance(case.expected, dict):
        return []
    return [case.expected] if isinstance(case.expected, str) else list(case.expected)
