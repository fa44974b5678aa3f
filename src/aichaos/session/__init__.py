"""The run session: an experiment run with its store, reports, tracer and console attached.

:func:`run_experiment` is what ``aichaos run``, ``aichaos demo`` and ``aichaos watch`` call
(after chaostoolkit-lib's ``run_experiment``); :class:`ConsoleProgress` is its console
listener.
"""

from aichaos.session._progress import ConsoleProgress
from aichaos.session._run import (
    ExperimentRun,
    arun_experiment,
    run_experiment,
    secrets_of,
    select_layers,
)

__all__ = [
    "ConsoleProgress",
    "ExperimentRun",
    "arun_experiment",
    "run_experiment",
    "secrets_of",
    "select_layers",
]
