"""The ``aichaos`` command-line interface: every command, each parsing its arguments,
calling the library and printing.

``app`` and ``main`` load on first use (PEP 562), so ``python -m aichaos.cli._proxy`` (the
chaos proxy's own process) does not import every other command's dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aichaos.cli._main import app, main


def __getattr__(name: str) -> Any:
    if name in __all__:
        from aichaos.cli import _main

        return getattr(_main, name)
    raise AttributeError(f"module 'aichaos.cli' has no attribute {name!r}")


__all__ = ["app", "main"]
