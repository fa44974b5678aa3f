"""Where layer 6's load comes from: this process (``engine: local``) or Ray actors
(``engine: ray``), and what the layer reports about it.

With ``engine: ray`` each worker builds the experiment's target from its ``target`` block
(:func:`worker_target`: the same adapter the run uses, wrapped in
:class:`~aichaos.targets.NoCacheTarget`), so the block travels to the workers (pickled by Ray;
a secret it holds is resolved already and stays a ``SecretStr``, never printed). The layer's
``details["engine"]`` holds :meth:`aichaos.load.RayEngine.describe` (per step and worker: clock
offset against the driver with its error bound, start lag, share of the load, counts and
percentiles); its metrics name the engine and the largest clock offset, and its note says
both, so the Markdown and HTML reports show them.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

from aichaos.config import ScaleLayer, TargetConfig
from aichaos.errors import ConfigError
from aichaos.load import RayEngine
from aichaos.results import LayerResult
from aichaos.targets import NoCacheTarget, Target, build_target


def worker_target(config: TargetConfig) -> Target:
    """The load target a Ray worker builds: the experiment's adapter, no response cache."""
    return NoCacheTarget(build_target(config))


def check_engine(layer: ScaleLayer) -> None:
    """Before anything is sent: ``engine: ray`` needs Ray importable here.

    Raises:
        ConfigError: naming ``layers.scale.engine`` and how to install Ray.
    """
    if layer.engine == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError("layers.scale.engine: ray needs Ray installed in this environment "
                          "(pip install 'aichaos[ray]')")


def scale_engine(layer: ScaleLayer, target: TargetConfig) -> RayEngine | None:
    """The Ray engine ``layers.scale`` asks for, or None for the local engine.

    Raises:
        ConfigError: ``engine: ray`` without Ray installed.
    """
    if layer.engine != "ray":
        return None
    return RayEngine(functools.partial(worker_target, target), workers=layer.workers,
                     address=layer.ray_address)


def engine_flags(layer: ScaleLayer) -> str:
    """The ``aichaos load run`` options that reproduce the layer's engine ('' for local)."""
    if layer.engine != "ray":
        return ""
    flags = f" --engine ray --workers {layer.workers}"
    return flags + (f" --ray-address {layer.ray_address}" if layer.ray_address else "")


def annotate_engine(result: LayerResult, layer: ScaleLayer, engine: RayEngine | None) -> None:
    """Add the engine to the layer's details, metrics and note (module doc)."""
    if engine is None:
        result.details["engine"] = {"name": "local", "workers": 1}
        result.metrics["load_engine"] = "local"
        return
    described: dict[str, Any] = engine.describe()
    result.details["engine"] = described
    where = "a local Ray" if described["started_local"] else f"Ray at {described['address']}"
    result.metrics["load_engine"] = f"ray ({layer.workers} workers, {where})"
    worst = engine.max_abs_offset()
    if worst is None:
        return
    result.metrics["worker_clock_offset_max_s"] = worst[0]
    last = described["steps"][-1]["workers"]
    clocks = ", ".join(f"w{w['worker']} {w['clock_offset_s'] * 1e3:+.2f} ms "
                       f"(±{w['clock_error_s'] * 1e3:.2f})" for w in last)
    text = (f"load from {layer.workers} Ray workers on {where}, histograms merged exactly; "
            f"worker clocks vs the driver (NTP-style ping, last step): {clocks}; largest "
            f"|offset| {worst[0] * 1e3:.2f} ms ± {worst[1] * 1e3:.2f} ms (each worker times "
            "its own requests on its own clock: offsets only align the common start)")
    result.note = f"{result.note}; {text}" if result.note else text
