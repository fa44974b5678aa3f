"""The demo's agent rows, measured: each profile's agent tasks (aichaos/demo/agent/_tasks.py)
run through the real runner, as ``aichaos demo`` runs them in layer 3, against the real CRM
MCP server behind the MCP chaos proxy; prints the rows ``aichaos demo`` prints and the time
the agent part adds per profile.

Method: one CRM MCP server (FastMCP, streamable HTTP on 127.0.0.1); per profile an
experiment whose layer 3 is only the demo's agent tasks (no golden cases sent: steady state
and the other layers off); the wall time of ``run_experiment`` per profile is the agent
part's share of a demo run (the demo runs exactly these tasks inside its layer 3).

    python benchmarks/demo_agent.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from aichaos._net import free_port
from aichaos.config import Experiment
from aichaos.demo.agent import CrmMcpServer, demo_agent_tasks, render_agent_rows
from aichaos.session import run_experiment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the demo's --quick tasks")
    args = parser.parse_args()
    console = Console(width=110)
    cards, times = {}, {}
    with CrmMcpServer(free_port()) as crm, tempfile.TemporaryDirectory() as tmp:
        cases = Path(tmp) / "cases.yaml"
        cases.write_text("- {id: c, input: hi}\n")
        for profile in ("naive", "hardened"):
            exp = Experiment.model_validate({
                "title": f"demo agent ({profile})", "target": {"type": "mock"},
                "dataset": str(cases), "steady-state-hypothesis": None,
                "layers": {"capability": None, "integration": {
                    "agents": demo_agent_tasks(profile, crm.url, quick=args.quick)}},
                "report": {"dir": str(Path(tmp) / profile), "formats": ["json"]}})
            t0 = time.perf_counter()
            done = run_experiment(exp, console=Console(file=open("/dev/null", "w")),  # noqa: SIM115
                                  results_dir=Path(tmp) / profile)
            times[profile] = time.perf_counter() - t0
            cards[profile] = done.outcome.scorecard.to_dict()
    render_agent_rows(cards, console)
    for profile, seconds in times.items():
        layer = cards[profile]["layers"][2]
        console.print(f"{profile}: layer 3 (agent tasks only) {layer['score']}, "
                      f"interval {layer['interval']['low']:.1f}..{layer['interval']['high']:.1f}"
                      f" over {layer['interval']['n']} task runs; agent part {seconds:.1f} s")
    console.print(f"added to a demo run: {sum(times.values()):.1f} s for both profiles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
