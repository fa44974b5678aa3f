"""``python -m aichaos.demo.agent stdio``: the demo CRM MCP server over stdio."""

import sys

from aichaos.demo.agent._crm_mcp import build_server

if __name__ == "__main__":
    if sys.argv[1:2] != ["stdio"]:
        sys.exit("usage: python -m aichaos.demo.agent stdio")
    build_server([]).run("stdio")
