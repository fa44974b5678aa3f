"""``python -m aichaos.mcp.stdio_proxy [options] -- SERVER COMMAND...``: an MCP chaos proxy
for a stdio server.

The proxy spawns the server and speaks stdio to its own client (point an MCP client's server
command at this module). Options:

``--toxic JSON`` (repeatable) a toxic ``{name, type, toxicity, attributes}``;
``--seed N`` run seed; ``--control HOST:PORT`` serve the control API there;
``--traffic-out FILE`` append every traffic record to FILE as a JSON line;
``--name NAME`` proxy name (default ``mcp``);
``--http HOST:PORT`` expose the server as streamable HTTP at ``http://HOST:PORT/mcp``
(one server process per session) instead of on this process's stdio.

Bad options print one ``error: ...`` line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import IO

from aichaos.errors import AIChaosError, ConfigError
from aichaos.mcp._bridge import McpStdioHttpBridge
from aichaos.mcp._control import start_mcp_control
from aichaos.mcp._stdio import McpStdioProxy, stdio_streams
from aichaos.mcp._traffic import McpRecord, McpTrafficLog


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m aichaos.mcp.stdio_proxy")
    p.add_argument("--toxic", action="append", default=[], help="toxic as JSON (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="mcp")
    p.add_argument("--control", default=None, help="HOST:PORT for the control API")
    p.add_argument("--traffic-out", default=None, help="append traffic records (JSONL)")
    p.add_argument("--http", default=None, help="HOST:PORT: serve streamable HTTP instead")
    p.add_argument("command", nargs=argparse.REMAINDER)
    return p


def parse_toxics(values: list[str]) -> list[dict[str, object]]:
    """``--toxic`` values as mappings.

    Raises:
        ConfigError: a value is not a JSON object.
    """
    out = []
    for i, raw in enumerate(values):
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"--toxic #{i + 1}: not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"--toxic #{i + 1}: expected a JSON object")
        out.append(doc)
    return out


async def run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ConfigError("no server command: use -- SERVER COMMAND...")
    sink_file: IO[str] | None = open(args.traffic_out, "a", encoding="utf-8") \
        if args.traffic_out else None  # noqa: SIM115  (closed in finally)

    def sink(rec: McpRecord) -> None:
        if sink_file is not None:
            sink_file.write(json.dumps(rec.to_dict(), default=str) + "\n")
            sink_file.flush()

    traffic = McpTrafficLog(sink=sink)
    if args.http:
        return await _serve_http(args, command, traffic)
    proxy = McpStdioProxy(args.name, command, seed=args.seed, traffic=traffic)
    runner = None
    try:
        for spec in parse_toxics(args.toxic):
            proxy.engine.add_toxic(spec)
        if args.control:
            runner, port = await start_mcp_control({args.name: proxy.engine}, args.control)
            print(f"aichaos MCP control API on http://127.0.0.1:{port}", file=sys.stderr)
        reader, write = await stdio_streams()
        task = asyncio.current_task()
        if task is not None:  # SIGTERM (an MCP client closing us) still flushes the log
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await proxy.serve(reader, write)
        except asyncio.CancelledError:
            return 0
    finally:
        await proxy.stop()
        if runner is not None:
            await runner.cleanup()
        if sink_file is not None:
            sink_file.close()


async def _serve_http(args: argparse.Namespace, command: list[str],
                      traffic: McpTrafficLog) -> int:
    bridge = McpStdioHttpBridge(args.name, args.http, command, seed=args.seed, traffic=traffic)
    for spec in parse_toxics(args.toxic):
        bridge.engine.add_toxic(spec)
    runner = None
    await bridge.start()
    try:
        if args.control:
            runner, port = await start_mcp_control({args.name: bridge.engine}, args.control)
            print(f"aichaos MCP control API on http://127.0.0.1:{port}", file=sys.stderr)
        print(f"aichaos MCP proxy: {bridge.url} -> stdio {' '.join(command)}", file=sys.stderr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await bridge.stop()
        if runner is not None:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(run(args))
    except AIChaosError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
