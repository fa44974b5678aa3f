"""The demo's agent mode: Northwind's order assistant whose CRM lookup and refund are a real
MCP server (FastMCP), in a naive and a hardened profile, and the agent tasks ``aichaos demo``
runs against them (layer 3 under MCP toxics)."""

from aichaos.demo.agent._agent import Hardened, hardened, naive, plan
from aichaos.demo.agent._crm_mcp import CrmMcpServer, build_server, load_orders

__all__ = ["CrmMcpServer", "Hardened", "build_server", "hardened", "load_orders", "naive",
           "plan"]
