"""The embedded default: a real local LLM and the reference support app, assessed end to end.

The demo is a system under test, not part of the tool's core: the app (``aichaos.demo.app``)
uses no aichaos internals, and the demo's experiment carries its own data (its golden cases
and its Northwind safety probes under ``datasets/``).
"""

from typing import TYPE_CHECKING, Any

from aichaos._net import free_port
from aichaos.demo._llm import (
    MODEL_ALIAS,
    ModelServer,
    ModelServerError,
    model_path,
    model_server,
    start_model_server,
)
from aichaos.demo.app._settings import PROFILES

if TYPE_CHECKING:
    from aichaos.demo._run import DemoResult, run_demo
    from aichaos.demo._verdict import DemoVerdict, demo_verdict

__all__ = [
    "MODEL_ALIAS",
    "PROFILES",
    "DemoResult",
    "DemoVerdict",
    "ModelServer",
    "ModelServerError",
    "demo_verdict",
    "free_port",
    "model_path",
    "model_server",
    "run_demo",
    "start_model_server",
]


def __getattr__(name: str) -> Any:
    # the harness loads the runner and the reports: only when asked for, so starting the app
    # (``python -m aichaos.demo.app``) imports nothing of aichaos beyond this package
    if name in ("DemoResult", "run_demo"):
        from aichaos.demo import _run

        return getattr(_run, name)
    if name in ("DemoVerdict", "demo_verdict"):
        from aichaos.demo import _verdict

        return getattr(_verdict, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
