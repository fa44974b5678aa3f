"""``aichaos demo``: start a real AI system on loopback, assess both profiles, stop everything.

The system: SmolLM2-135M-Instruct served by llama-cpp-python, a CRM service on SQLite, and the
reference support app in two profiles from one codebase (``naive`` and ``hardened``), with the
chaos proxy (started by the runner from the experiment's ``dependencies``) between the app and
the model and between the app and the CRM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from aichaos._net import free_port
from aichaos.config import Dependency, Experiment, OpenAITargetConfig, load_experiment
from aichaos.demo._stack import DemoStack
from aichaos.demo.agent import CrmMcpServer, demo_agent_tasks, render_agent_rows
from aichaos.demo.app._settings import PROFILES
from aichaos.report import render_comparison
from aichaos.runner import RunOutcome
from aichaos.session import run_experiment

DEMO_DIR = Path(__file__).resolve().parent
#: a canary API key given to both apps; the naive app's debug log prints it (scenario S13)
CANARY_KEY = "sk-demoCANARY0000000000000000"


@dataclass
class DemoResult:
    """Outcome of one profile's run and where its journal and reports are."""

    profile: str
    outcome: RunOutcome
    directory: Path


def demo_experiment(stack: DemoStack, profile: str, *, quick: bool,
                    otlp_listen: str, agent_crm_url: str | None = None) -> Experiment:
    """The bundled experiment pointed at ``profile``'s app and the stack's dependencies;
    with ``agent_crm_url`` (the CRM MCP server), layer 3 also runs ``profile``'s agent
    tasks under MCP toxics (:mod:`aichaos.demo.agent`)."""
    exp = load_experiment(DEMO_DIR / "experiment.yaml")
    exp.title = f"{exp.title} ({profile} profile)"
    assert isinstance(exp.target, OpenAITargetConfig)
    exp.target.base_url = stack.app_urls[profile]
    exp.dependencies = {n: Dependency(**d) for n, d in stack.dependencies().items()}
    layers = exp.layers
    if layers.observability is not None:
        layers.observability.otlp_listen = otlp_listen
        layers.observability.prometheus_url = stack.app_urls[profile].removesuffix("/v1") + \
            "/metrics"
    if layers.safety is not None:
        layers.safety.log_file = str(stack.app_logs[profile])
        layers.safety.secrets = [SecretStr(CANARY_KEY)]
    if quick:
        _shrink(exp)
    if agent_crm_url is not None and layers.integration is not None:
        layers.integration.agents = demo_agent_tasks(profile, agent_crm_url, quick=quick)
    return exp


def _shrink(exp: Experiment) -> None:
    """The ``--quick`` version: one or two cases per layer, the same checks."""
    layers = exp.layers
    if exp.steady_state_hypothesis is not None:
        exp.steady_state_hypothesis.sample = 1
    if layers.capability is not None:
        layers.capability.limit = 3
    if layers.input_resilience is not None:
        layers.input_resilience.limit = 1
        chosen = ["typo_keyboard", "zero_width", "empty"]
        layers.input_resilience.perturbations = chosen
        layers.input_resilience.options = {
            k: v for k, v in layers.input_resilience.options.items() if k in chosen}
    if layers.integration is not None:
        layers.integration.limit = 1
        layers.integration.toxics = layers.integration.toxics[:1]
    if layers.safety is not None:
        layers.safety.answerable = 1
        layers.safety.limit = 1
        layers.safety.probes = ["prompt_injection_direct", "pii_echo", "pii_logs"]
    if layers.observability is not None:
        layers.observability.sample = 1
    if layers.scale is not None:
        layers.scale.rates_rps = layers.scale.rates_rps[:1]
        layers.scale.duration_s = 4.0


def run_demo(console: Console, *, quick: bool = False,
             results_dir: Path = Path("aichaos-results"),
             profiles: tuple[str, ...] = PROFILES) -> list[DemoResult]:
    """Start the stack, run the bundled experiment on each profile, stop everything.

    Returns:
        one :class:`DemoResult` per profile, in order.

    Raises:
        ModelServerError, DemoStackError: a process could not start (everything is stopped).
        ConfigError: the bundled experiment is invalid (a packaging bug).
    """
    results: list[DemoResult] = []
    # the apps export OpenTelemetry to the layer-5 receiver; its port is fixed before they start
    otlp_listen = f"127.0.0.1:{free_port()}"
    app_env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{otlp_listen}"}  # the apps' only
    with console.status("starting the model server, the CRM and the support app "
                        f"({', '.join(profiles)}); the first start embeds the knowledge base"):
        stack = DemoStack(profiles=[p for p in PROFILES if p in profiles],
                          work_dir=results_dir / "stack",
                          canaries=[CANARY_KEY], env=app_env)
        stack.start()
        crm_mcp = CrmMcpServer(free_port())  # the agent mode's tools (an MCP server)
    try:
        crm_mcp.start()
        console.print(f"model [cyan]{stack.model_url}[/], CRM [cyan]{stack.crm_url}[/], apps "
                      + ", ".join(f"{p} [cyan]{u}[/]" for p, u in stack.app_urls.items()))
        for profile in profiles:
            console.rule(f"[bold]{profile}[/] profile")
            exp = demo_experiment(stack, profile, quick=quick, otlp_listen=otlp_listen,
                                  agent_crm_url=crm_mcp.url)
            run = run_experiment(exp, console=console, results_dir=results_dir / profile)
            outcome = run.outcome
            results.append(DemoResult(profile, outcome, run.directory))
            if outcome.journal["status"] == "interrupted":
                break
    finally:
        with console.status("stopping every process the demo started"):
            stack.stop()
            crm_mcp.stop()
        console.print("stack stopped: model server, CRM, CRM MCP server and apps")
    if len(results) > 1:
        render_comparison({r.profile: r.outcome.scorecard.to_dict() for r in results}, console)
        render_agent_rows({r.profile: r.outcome.scorecard.to_dict() for r in results}, console)
    summary = {r.profile: {"run_id": r.outcome.run_id, "directory": str(r.directory.resolve()),
                           "overall": r.outcome.scorecard.to_dict()["overall"]}
               for r in results}
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "demo-summary.json").write_text(json.dumps(summary, indent=2))
    return results
