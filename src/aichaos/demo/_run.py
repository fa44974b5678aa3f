"""``aichaos demo``: start a real local AI system on loopback, assess it, stop everything."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from aichaos.cli._execute import execute
from aichaos.config import OpenAITargetConfig, load_experiment
from aichaos.demo._llm import model_server
from aichaos.runner import RunOutcome

DEMO_DIR = Path(__file__).resolve().parent
QUICK_CASES = 12


def run_demo(console: Console, *, quick: bool = False,
             results_dir: Path = Path("aichaos-results")) -> tuple[RunOutcome, Path]:
    """Start SmolLM2 on a free loopback port, run the bundled experiment, stop the server.

    Args:
        quick: only the first ``QUICK_CASES`` golden cases (about a minute on 2 cores).
        results_dir: where the database, journal and reports go.

    Raises:
        ModelServerError: the model server could not start.
        ConfigError: the bundled experiment is invalid (a packaging bug).
    """
    experiment = load_experiment(DEMO_DIR / "experiment.yaml")
    if quick and experiment.layers.capability is not None:
        experiment.layers.capability.limit = QUICK_CASES
    with console.status("starting the local model server (SmolLM2-135M-Instruct)..."):
        server_cm = model_server(log_dir=results_dir / "logs")
        server = server_cm.__enter__()
    try:
        console.print(f"model server up at [cyan]{server.base_url}[/] (pid {server.process.pid})")
        assert isinstance(experiment.target, OpenAITargetConfig)
        experiment.target.base_url = server.base_url
        return execute(experiment, console, results_dir=results_dir)
    finally:
        server_cm.__exit__(None, None, None)
        console.print("model server stopped")
