import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "mcp"))

from mcp_fixtures import connect, proxy, shop  # noqa: F401  (fixtures)
