"""The ``aichaos`` command-line interface."""

from aichaos.cli._main import app, main

__all__ = ["app", "main"]
