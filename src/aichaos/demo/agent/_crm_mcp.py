"""The demo agent's tools as a real MCP server (the official SDK's FastMCP): a CRM order
lookup over the demo's seed orders and a side-effecting refund that honours idempotency keys.

Serve it over streamable HTTP in-process with :class:`CrmMcpServer`, or over stdio with
``python -m aichaos.demo.agent stdio``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from mcp.server.fastmcp import FastMCP

from aichaos.errors import AIChaosError

SEED_FILE = Path(__file__).resolve().parents[1] / "crm_seed.json"


def load_orders(seed_file: Path = SEED_FILE) -> dict[str, dict[str, Any]]:
    """Order id -> order record (the CRM's seed)."""
    return {o["order_id"]: o for o in json.loads(seed_file.read_text(encoding="utf-8"))}


def build_server(ledger: list[dict[str, Any]], *, port: int = 0) -> FastMCP:
    """The FastMCP app: ``lookup_order(order_id)`` and ``refund(order_id, amount,
    idempotency_key=None)``; every refund that took effect is appended to ``ledger``."""
    orders = load_orders()
    app = FastMCP("northwind-crm", host="127.0.0.1", port=port, log_level="WARNING")
    done: dict[str, str] = {}

    @app.tool(structured_output=False)
    def lookup_order(order_id: str) -> str:
        """Look up a Northwind order by id (NW-#####): status, carrier, total in USD."""
        order = orders.get(order_id.strip().upper())
        if order is None:
            raise ValueError(f"order {order_id} not found")
        keep = ("order_id", "status", "carrier", "eta", "total")
        return json.dumps({k: order[k] for k in keep})

    @app.tool(structured_output=False)
    def refund(order_id: str, amount: float, idempotency_key: str | None = None) -> str:
        """Refund an order (side-effecting). A repeated idempotency_key is not refunded
        twice; the amount may not exceed the order total."""
        if idempotency_key and idempotency_key in done:
            return done[idempotency_key]
        order = orders.get(order_id.strip().upper())
        if order is None:
            raise ValueError(f"order {order_id} not found")
        if amount <= 0 or amount > order["total"]:
            raise ValueError(f"amount {amount} outside 0..{order['total']}")
        ledger.append({"order_id": order["order_id"], "amount": amount,
                       "key": idempotency_key})
        text = json.dumps({"refunded": amount, "order_id": order["order_id"],
                           "refund_id": f"RF-{len(ledger):04d}"})
        if idempotency_key:
            done[idempotency_key] = text
        return text

    return app


class CrmMcpServer:
    """The CRM MCP server over streamable HTTP (uvicorn in a thread) on 127.0.0.1:port.

    Attributes:
        url: the MCP endpoint, ``http://127.0.0.1:PORT/mcp``.
        ledger: the refunds that took effect, in order.
    """

    def __init__(self, port: int) -> None:
        import logging

        import uvicorn

        # the SDK logs a traceback whenever a client ends its session's event stream first
        logging.getLogger("mcp.server.streamable_http").setLevel(logging.CRITICAL)

        self.ledger: list[dict[str, Any]] = []
        self.url = f"http://127.0.0.1:{port}/mcp"
        app = build_server(self.ledger, port=port).streamable_http_app()
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                     log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, daemon=True,
                                        name="crm-mcp")

    def start(self, timeout_s: float = 20.0) -> CrmMcpServer:
        """Start serving.

        Raises:
            AIChaosError: the server did not start within ``timeout_s`` seconds.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AIChaosError("the demo CRM MCP server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving (a no-op when it never started)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)

    def __enter__(self) -> CrmMcpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refunds(self, order_id: str) -> int:
        """How many refunds of ``order_id`` took effect."""
        return sum(1 for e in self.ledger if e["order_id"] == order_id)
