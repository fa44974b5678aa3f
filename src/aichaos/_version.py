"""The aichaos version (one place; ``aichaos.__version__`` re-exports it)."""

__version__ = "0.1.0"
