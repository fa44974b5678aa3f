from mcp_fixtures import connect, proxy, shop  # noqa: F401  (fixtures)
