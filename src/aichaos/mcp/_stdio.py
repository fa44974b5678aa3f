"""The stdio front of the MCP chaos proxy (MCP spec 2025-06-18, "Transports: stdio").

aichaos spawns the server command and sits on its pipes: newline-delimited JSON-RPC messages
from the client go through :class:`McpEngine`'s toxics to the server's stdin; the server's
stdout lines are paired with the requests they answer, put through the toxics and written to
the client. The server's stderr passes through. A line the server gets wrong is recorded and
delivered as it came.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from aichaos.errors import ProxyError
from aichaos.mcp import _messages as m
from aichaos.mcp._engine import McpEngine, Pending
from aichaos.mcp._toxic import Intercept, McpToxic
from aichaos.mcp._traffic import McpTrafficLog

Writer = Callable[[bytes], Awaitable[None]]
_LINE_MAX = 64 * 1024 * 1024  # bytes per message line (an oversized result is still one line)


def _line(item: m.Message | m.Raw | dict[str, object]) -> bytes:
    if isinstance(item, m.Message):
        return item.encode() + b"\n"
    if isinstance(item, dict):
        return json.dumps(item, separators=(",", ":")).encode() + b"\n"
    return item.rstrip(b"\n") + b"\n"


class McpStdioProxy:
    """An MCP chaos proxy between a stdio client and a server process it spawns.

    Args:
        name: proxy name.
        command: the server command and its arguments.
        seed: run seed for the toxics.
        traffic: a shared traffic log (a new one by default).
        env: extra environment variables for the server.
        engine: share this engine (toxics, traffic) instead of making one; it is not
            stopped with this proxy.

    Attributes:
        engine: toxics, counters and traffic (:class:`aichaos.mcp.McpEngine`).
    """

    def __init__(self, name: str, command: Sequence[str], *, seed: int = 0,
                 traffic: McpTrafficLog | None = None,
                 env: dict[str, str] | None = None, engine: McpEngine | None = None) -> None:
        if not command:
            raise ProxyError("stdio proxy: no server command given")
        self.name = name
        self.command = list(command)
        self.env = env
        self._owns_engine = engine is None
        self.engine = engine or McpEngine(name, transport="stdio", seed=seed, traffic=traffic)
        self.process: asyncio.subprocess.Process | None = None
        self._pending: dict[str | int, Pending] = {}
        self._drop: set[str | int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Spawn the server.

        Raises:
            ProxyError: the command cannot be started.
        """
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=None, limit=_LINE_MAX, env={**os.environ, **(self.env or {})})
        except OSError as exc:
            raise ProxyError(f"stdio proxy: cannot start {self.command[0]!r}: "
                             f"{exc.strerror or exc}") from exc

    async def stop(self) -> None:
        """End holds and stop the server (terminate, then kill after 2 s)."""
        if self._owns_engine:
            self.engine.stop()
        for task in list(self._tasks):
            task.cancel()
        proc, self.process = self.process, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, OSError):
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 2.0)
            except TimeoutError:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 2.0)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def serve(self, client: asyncio.StreamReader, write: Writer) -> int:
        """Relay until the client closes its side or the server exits.

        Args:
            client: the client's messages (newline-delimited JSON-RPC).
            write: sends bytes to the client.

        Returns:
            the server's exit code (None while running counts as 0).
        """
        if self.process is None:
            await self.start()
        proc = self.process
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        up = asyncio.ensure_future(self._client_to_server(client, proc.stdin, write))
        down = asyncio.ensure_future(self._server_to_client(proc.stdout, write))
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        if up.done():  # client closed: let the server finish, then stop it
            with contextlib.suppress(Exception):
                proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(down), 2.0)
        for task in (up, down):
            task.cancel()
        await self.stop()
        return proc.returncode or 0

    async def _client_to_server(self, client: asyncio.StreamReader,
                                stdin: asyncio.StreamWriter, write: Writer) -> None:
        while True:
            line = await client.readline()
            if not line:
                return
            if not line.strip():
                continue
            msg = m.parse(line)
            if isinstance(msg, bytes) or msg.kind != "request" or msg.id is None:
                self.engine.observe(msg, direction="client")
                stdin.write(line)
                await stdin.drain()
                continue
            p = self.engine.begin(msg)
            got = await self.engine.intercept(p)
            if got is not None:
                if got[1].forward:
                    self._drop.add(msg.id)
                    stdin.write(_line(p.call.msg))
                    await stdin.drain()
                    self.engine.mark_forwarded(p)
                self._spawn(self._answer(p, *got, write, stdin))
                continue
            self._pending[msg.id] = p
            stdin.write(_line(p.call.msg))
            await stdin.drain()

    async def _answer(self, p: Pending, toxic: McpToxic, icpt: Intercept, write: Writer,
                      stdin: asyncio.StreamWriter) -> None:
        if icpt.hold_s is None or icpt.hold_s > 0:
            await toxic.hold(p.call, icpt.hold_s)
        if icpt.resume and not self.engine.stopping.is_set() and p.call.msg.id is not None:
            self._pending[p.call.msg.id] = p
            stdin.write(_line(p.call.msg))
            await stdin.drain()
            return
        self.engine.finish(p, icpt.messages, forwarded=icpt.forward)
        for item in icpt.messages:
            await write(_line(item))

    async def _server_to_client(self, stdout: asyncio.StreamReader, write: Writer) -> None:
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # a line longer than the limit: an observation, not a crash
                self.engine.observe(b"<line over 64 MiB dropped>", direction="server")
                continue
            if not line:
                return
            item = m.parse(line)
            rid = item.id if isinstance(item, m.Message) and item.kind in (
                "response", "error") else None
            if rid is not None and rid in self._drop:
                self._drop.discard(rid)
                continue
            p = self._pending.pop(rid, None) if rid is not None else None
            if p is None:
                self.engine.observe(item, direction="server")
                await write(line if line.endswith(b"\n") else line + b"\n")
                continue
            self._spawn(self._deliver(p, item, write))

    async def _deliver(self, p: Pending, item: m.Message | m.Raw, write: Writer) -> None:
        out = await self.engine.respond(p, [item])
        self.engine.finish(p, out, forwarded=True)
        for x in out:
            await write(_line(x))


async def stdio_streams() -> tuple[asyncio.StreamReader, Writer]:
    """This process's stdin as a reader and a writer of bytes to its stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_LINE_MAX)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)

    async def write(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    return reader, write
