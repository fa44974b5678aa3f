"""The run session: an experiment run with its store, reports, tracer and console attached.

:func:`run_experiment` is what ``aichaos run``, ``aichaos demo`` and ``aichaos watch`` call
(after chaostoolkit-lib's ``run_experiment``); :class:`ConsoleProgress` and
:class:`TrafficWatch` (``--watch-traffic``) are its console listeners.
"""

from aichaos.session._estimate import RunEstimate, estimate_run
from aichaos.session._progress import ConsoleProgress
from aichaos.session._run import (
    ExperimentRun,
    arun_experiment,
    run_experiment,
    select_layers,
)
from aichaos.session._traffic import TrafficWatch, control_address

__all__ = [
    "ConsoleProgress",
    "ExperimentRun",
    "RunEstimate",
    "TrafficWatch",
    "arun_experiment",
    "control_address",
    "estimate_run",
    "run_experiment",
    "select_layers",
]
