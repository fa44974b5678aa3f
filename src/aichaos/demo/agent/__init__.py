"""The demo's agent mode: Northwind's order assistant whose CRM lookup and refund are a real
MCP server (FastMCP), in a naive and a hardened profile, and the agent tasks ``aichaos demo``
runs against them (layer 3 under MCP toxics)."""

from aichaos.demo.agent._agent import Hardened, hardened, naive, plan
from aichaos.demo.agent._crm_mcp import CrmMcpServer, build_server, load_orders
from aichaos.demo.agent._tasks import TASKS, TOXICS, agent_rows, demo_agent_tasks, render_agent_rows

__all__ = ["TASKS", "TOXICS", "CrmMcpServer", "Hardened", "agent_rows", "build_server",
           "demo_agent_tasks", "hardened", "load_orders", "naive", "plan", "render_agent_rows"]
