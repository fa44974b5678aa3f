"""The demo CRM: a small real HTTP service (aiohttp) backed by a SQLite file.

Routes:

* ``GET /orders/{order_id}`` → 200 with the order record as JSON (the shape of one entry of
  ``crm_seed.json``: ``order_id, customer_email, customer_name, status, carrier, tracking,
  eta, items, total``), 404 ``{"error": "order NW-... not found"}`` for an unknown id.
* ``GET /health`` → 200 ``{"status": "ok", "orders": N}``.

The database is created and seeded from ``crm_seed.json`` when the file does not exist yet.
Queries run in a worker thread (``asyncio.to_thread``) so SQLite never blocks the event loop.

Run it alone::

    python -m aichaos.demo._crm --port 9001 --db /tmp/crm.sqlite3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import web

SEED_FILE = Path(__file__).resolve().parent / "crm_seed.json"
_DB_KEY = web.AppKey("db_path", Path)


def seed_database(db_path: Path, seed_file: Path = SEED_FILE) -> int:
    """Create ``db_path`` with the ``orders`` table filled from ``seed_file`` if needed.

    Returns:
        The number of orders in the database.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders "
                     "(order_id TEXT PRIMARY KEY, record TEXT NOT NULL)")
        (count,) = conn.execute("SELECT COUNT(*) FROM orders").fetchone()
        if count == 0:
            records = json.loads(seed_file.read_text(encoding="utf-8"))
            conn.executemany("INSERT INTO orders VALUES (?, ?)",
                             [(r["order_id"], json.dumps(r)) for r in records])
            count = len(records)
    return int(count)


def _query(db_path: Path, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    # a connection per query: cheap for SQLite and safe across worker threads
    conn = sqlite3.connect(db_path)
    try:
        return list(conn.execute(sql, args).fetchall())
    finally:
        conn.close()


async def _order(request: web.Request) -> web.Response:
    order_id = request.match_info["order_id"].upper()
    rows = await asyncio.to_thread(_query, request.app[_DB_KEY],
                                   "SELECT record FROM orders WHERE order_id = ?", (order_id,))
    if not rows:
        return web.json_response({"error": f"order {order_id} not found"}, status=404)
    return web.Response(text=rows[0][0], content_type="application/json")


async def _health(request: web.Request) -> web.Response:
    rows = await asyncio.to_thread(_query, request.app[_DB_KEY],
                                   "SELECT COUNT(*) FROM orders", ())
    return web.json_response({"status": "ok", "orders": rows[0][0]})


def build_crm_app(db_path: Path) -> web.Application:
    """The CRM aiohttp application on ``db_path`` (seeded when new)."""
    seed_database(db_path)
    app = web.Application()
    app[_DB_KEY] = db_path
    app.router.add_get("/orders/{order_id}", _order)
    app.router.add_get("/health", _health)
    return app


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--host``, ``--port``, ``--db``; serves until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m aichaos.demo._crm",
                                     description="Northwind Gadgets demo CRM")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--db", type=Path, default=Path("crm.sqlite3"))
    args = parser.parse_args(argv)
    web.run_app(build_crm_app(args.db), host=args.host, port=args.port, print=None,
                access_log=None, handle_signals=True)


if __name__ == "__main__":
    main()
