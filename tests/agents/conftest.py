"""Fixtures for the agent tests: the demo's CRM MCP server (FastMCP over streamable HTTP on
127.0.0.1) and an experiment writer."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aichaos.demo import free_port
from aichaos.demo.agent import CrmMcpServer

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scenarios" / "mcp"))
sys.path.insert(0, str(HERE.parent / "mcp_proxy"))


@pytest.fixture
def crm() -> Iterator[CrmMcpServer]:
    with CrmMcpServer(free_port()) as server:
        yield server


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write an agent-only experiment (python target for the golden cases, one case, no
    steady state, only layer 3) with ``agents`` as its ``layers.integration.agents``."""
    (tmp_path / "cases.yaml").write_text(yaml.safe_dump(
        [{"id": "ship", "input": "When do orders ship?", "expected": "two days"}]))

    def write(agents: dict[str, Any], **top: Any) -> Path:
        doc = {"title": "shop agent under MCP trouble",
               "target": {"type": "python", "function": "bot:answer", "path": str(HERE)},
               "dataset": str(tmp_path / "cases.yaml"),
               "steady-state-hypothesis": {"sample": 1},
               "layers": {"capability": None, "integration": {"agents": agents}},
               "report": {"dir": str(tmp_path / "results"), "formats": ["json"]}, **top}
        path = tmp_path / "experiment.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return write
