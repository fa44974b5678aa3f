"""Load and validate experiment files, translating every problem into one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aichaos.config._messages import format_validation_error, short_value
from aichaos.config._model import Experiment
from aichaos.config._values import UNSET_SECRETS
from aichaos.errors import ConfigError


def parse_experiment(data: Any, source: str = "<experiment>", *,
                     require_secrets: bool = True) -> Experiment:
    """Validate already-parsed experiment data.

    Args:
        data: the parsed YAML.
        source: file name used in error messages.
        require_secrets: when False, a secret given as ``{type: env, key: NAME}`` whose
            variable is unset becomes empty instead of an error, and is listed in
            :attr:`Experiment.unset_secrets` (for commands that send nothing).

    Raises:
        ConfigError: the data does not describe a valid experiment.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {short_value(data)}")
    unset: list[tuple[str, str]] = []
    context = None if require_secrets else {UNSET_SECRETS: unset}
    try:
        experiment = Experiment.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc, data)) from exc
    experiment._unset_secrets = unset
    return experiment


def load_experiment(path: str | Path, *, require_secrets: bool = True) -> Experiment:
    """Read a YAML experiment file, validate it, and make relative paths absolute.

    The ``dataset`` and ``layers.safety.dataset`` paths are resolved against the experiment
    file's directory.
    ``require_secrets=False`` lets secret variables be unset (see :func:`parse_experiment`).

    Raises:
        ConfigError: the file is missing, not YAML, or not a valid experiment.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: experiment file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read experiment file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{p}: {where}invalid YAML: {problem}") from exc
    experiment = parse_experiment(data, str(p), require_secrets=require_secrets)
    experiment._source = str(p.resolve())
    if experiment.dataset and not Path(experiment.dataset).is_absolute():
        experiment.dataset = str((p.parent / experiment.dataset).resolve())
    safety = experiment.layers.safety
    if safety is not None and safety.dataset and not Path(safety.dataset).is_absolute():
        safety.dataset = str((p.parent / safety.dataset).resolve())
    return experiment
