"""``aichaos.chaostoolkit``: a Chaos Toolkit extension (https://chaostoolkit.org).

Chaos Toolkit experiments call it with ``provider: {type: python, module:
aichaos.chaostoolkit.actions | aichaos.chaostoolkit.probes, func: NAME}``:

* actions (:mod:`aichaos.chaostoolkit.actions`): :func:`start_proxy` (a chaos proxy process
  that outlives the call), :func:`add_toxic`, :func:`remove_toxic`, :func:`reset_toxics`,
  :func:`stop_proxy`;
* probes (:mod:`aichaos.chaostoolkit.probes`): :func:`list_toxics`, :func:`toxic_fired`,
  :func:`traffic_count`, :func:`layer_score`, :func:`overall_score`, :func:`check_value`,
  :func:`check_passed`, :func:`run_experiment`.

The modules are public because Chaos Toolkit names them. See docs/chaostoolkit.md.
"""

from aichaos.chaostoolkit.actions import (
    add_toxic,
    remove_toxic,
    reset_toxics,
    start_proxy,
    stop_proxy,
)
from aichaos.chaostoolkit.probes import (
    check_passed,
    check_value,
    layer_score,
    list_toxics,
    overall_score,
    run_experiment,
    toxic_fired,
    traffic_count,
)

__all__ = [
    "add_toxic",
    "check_passed",
    "check_value",
    "layer_score",
    "list_toxics",
    "overall_score",
    "remove_toxic",
    "reset_toxics",
    "run_experiment",
    "start_proxy",
    "stop_proxy",
    "toxic_fired",
    "traffic_count",
]
