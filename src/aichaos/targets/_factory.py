"""Build a target from its configuration."""

from __future__ import annotations

from aichaos.config import (
    HttpTargetConfig,
    MockTargetConfig,
    OpenAITargetConfig,
    PythonTargetConfig,
    TargetConfig,
)
from aichaos.targets._base import Target
from aichaos.targets._http import HttpTarget
from aichaos.targets._mock import MockTarget
from aichaos.targets._openai import OpenAITarget
from aichaos.targets._python import PythonTarget


def build_target(config: TargetConfig) -> Target:
    """The adapter for ``config`` (openai, http, python or mock).

    Raises:
        ConfigError: the configuration cannot produce a usable adapter (bad JSONPath,
            function not importable).
    """
    if isinstance(config, OpenAITargetConfig):
        return OpenAITarget(config)
    if isinstance(config, HttpTargetConfig):
        return HttpTarget(config)
    if isinstance(config, PythonTargetConfig):
        return PythonTarget(config)
    if isinstance(config, MockTargetConfig):
        return MockTarget(config)
    raise TypeError(f"unknown target config {type(config).__name__}")
