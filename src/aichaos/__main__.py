"""``python -m aichaos`` runs the command-line interface."""

from aichaos.cli import main

main()
