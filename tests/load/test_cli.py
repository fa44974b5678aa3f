"""``aichaos load run`` against a loopback server running on its own thread."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aichaos.load._cli import app


class _Ok(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport

    def data_received(self, data: bytes) -> None:
        n = data.count(b"\r\n\r\n")
        self.t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * n)  # type: ignore[attr-defined]


@pytest.fixture
def url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    srv = loop.run_until_complete(loop.create_server(_Ok, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_run_sweep_prints_table_and_writes_json(url: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["run", url, "--rates", "50,100", "--duration", "0.3",
                                   "--profile", "poisson", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "load steps" in res.output
    data = json.loads(out.read_text())
    assert [s["offered_rps"] for s in data["steps"]] == [50, 100]
    assert all(s["errors"] == 0 and s["ok"] > 5 for s in data["steps"])


def test_bad_options_are_one_line(url: str) -> None:
    res = CliRunner().invoke(app, ["run", url, "--profile", "zigzag"])
    assert res.exit_code == 2
    assert "error: load profile: expected closed" in res.output
    res = CliRunner().invoke(app, ["run", "ftp://x"])
    assert res.exit_code == 2 and "load url" in res.output
    res = CliRunner().invoke(app, ["run", url, "--engine", "spark"])
    assert res.exit_code == 2 and "--engine" in res.output


def test_context_probe_command(url: str, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    res = CliRunner().invoke(app, ["context", url, "--window", "256", "--mode", "post",
                                   "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    # the server answers "ok" to everything: it never recalls the needle, so no verdict
    assert [c["verdict"] for c in data["cases"]] == ["inconclusive"] * 4
    assert [c["tokens"] for c in data["cases"]] == [128, 230, 256, 384]
