"""A real MCP server (the official SDK's FastMCP) for the MCP scenarios: an order lookup and a
side-effecting refund that honours idempotency keys.

Run over stdio with ``python mcp_shop_server.py stdio`` (refunds are appended to the file in
``SHOP_LEDGER`` when set); serve over streamable HTTP in-process with :class:`HttpShop`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from mcp.server.fastmcp import FastMCP


def build(ledger: list[dict[str, Any]], ledger_file: str | None = None,
          port: int = 8000) -> FastMCP:
    app = FastMCP("shop", host="127.0.0.1", port=port, log_level="WARNING")
    seen_keys: dict[str, str] = {}

    @app.tool(structured_output=False)
    def lookup_order(order_id: str) -> str:
        """Look up an order by id; returns JSON with its status and amount."""
        status = "pending" if order_id.startswith("P") else "delivered"
        return json.dumps({"order_id": order_id, "status": status, "amount": 42.0})

    @app.tool(structured_output=False)
    def refund(order_id: str, amount: float, idempotency_key: str | None = None) -> str:
        """Refund an order (side-effecting). Calls with a key already seen are not repeated."""
        if idempotency_key and idempotency_key in seen_keys:
            return seen_keys[idempotency_key]
        entry = {"order_id": order_id, "amount": amount, "key": idempotency_key}
        ledger.append(entry)
        if ledger_file:
            with open(ledger_file, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
        text = json.dumps({"refunded": amount, "order_id": order_id, "ref": len(ledger)})
        if idempotency_key:
            seen_keys[idempotency_key] = text
        return text

    return app


class HttpShop:
    """The shop served over streamable HTTP by uvicorn in a thread on 127.0.0.1:port."""

    def __init__(self, port: int) -> None:
        import uvicorn

        self.ledger: list[dict[str, Any]] = []
        self.url = f"http://127.0.0.1:{port}/mcp"
        app = build(self.ledger, port=port).streamable_http_app()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> HttpShop:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("shop MCP server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def refunds(self, order_id: str) -> int:
        return sum(1 for e in self.ledger if e["order_id"] == order_id)


if __name__ == "__main__":
    if sys.argv[1:2] == ["stdio"]:
        build([], os.environ.get("SHOP_LEDGER")).run("stdio")
