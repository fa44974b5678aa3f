"""Build a target from its configuration, through the target registry."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from aichaos.config._targets import targets
from aichaos.targets._base import Target


def build_target(config: Any) -> Target:
    """The adapter registered for ``config.type`` (openai, http, python, mock or a plugin's),
    with ``spec`` = ``(type, settings)`` recorded for replay (secrets masked).

    Raises:
        ConfigError: the configuration cannot produce a usable adapter (bad JSONPath,
            function not importable).
        PluginError: no target type of that name.
    """
    cls = targets.get(config.type).cls
    if cls is None:  # pragma: no cover - target_type always records the class
        raise TypeError(f"target type {config.type!r} has no class")
    target: Target = cls(config)
    if isinstance(config, BaseModel):
        settings = config.model_dump(mode="json", exclude={"type"})
        target.spec = (str(getattr(config, "type", "")), settings)
    return target
