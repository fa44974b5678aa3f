"""``python -m aichaos.ci pr-comment FILE``: the same as ``aichaos ci pr-comment FILE``."""

from aichaos.ci._cli import app

app()
