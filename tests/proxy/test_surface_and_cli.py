"""Public surface of aichaos.proxy / aichaos.faults, and the `aichaos proxy` CLI."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner
from upstream import Upstream

import aichaos.faults
import aichaos.proxy
from aichaos.cli._proxy import app
from aichaos.proxy import ChaosProxy


def test_public_names_are_sorted_and_exported() -> None:
    def isort_key(name: str) -> tuple[int, str]:  # ruff RUF022: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    for mod in (aichaos.proxy, aichaos.faults):
        assert mod.__all__ == sorted(mod.__all__, key=isort_key)
        assert all(hasattr(mod, name) for name in mod.__all__)
    assert aichaos.proxy.__all__ == ["ChaosProxy", "Proxy", "ProxyClient", "TrafficFollower",
                                     "TrafficLog", "TrafficRecord", "bind_listener", "build_app",
                                     "parse_listen", "traffic_line"]


@pytest.fixture
def running() -> Iterator[tuple[ChaosProxy, str]]:
    """A ChaosProxy with its control API, served from a background thread's event loop."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        up = Upstream()
        await up.start()
        cp = ChaosProxy(control="127.0.0.1:0")
        await cp.add_proxy("llm", "127.0.0.1:0", up.url)
        await cp.start()
        box["cp"], box["up"] = cp, up
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(main(), loop).result(5)
    ready.wait(5)
    cp = box["cp"]
    assert isinstance(cp, ChaosProxy) and cp.control_url
    yield cp, cp.control_url

    async def stop() -> None:
        await cp.stop()
        up = box["up"]
        assert isinstance(up, Upstream)
        await up.stop()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_cli_toxic_add_list_remove_reset(running: tuple[ChaosProxy, str]) -> None:
    cp, url = running
    cli = CliRunner()
    out = cli.invoke(app, ["toxic", "add", "llm", "rate_limit", "--name", "rl", "--toxicity",
                           "0.5", "-a", "retry_after_s=3", "--control", url])
    assert out.exit_code == 0, out.output
    assert out.output == "added rl (rate_limit, downstream, toxicity 0.5) to llm\n"
    assert cp.toxics("llm")[0].attributes["retry_after_s"] == 3
    listed = cli.invoke(app, ["toxic", "list", "llm", "--control", url])
    assert listed.output == "rl\trate_limit\tdownstream\ttoxicity=0.5\tfired=0\n"
    bad = cli.invoke(app, ["toxic", "add", "llm", "latency", "-a", "latency=-5",
                           "--control", url])
    assert bad.exit_code == 2
    assert bad.output.strip() == ("error: toxic 'latency': attribute latency: expected >= 0 "
                                  "ms, got -5")
    gone = cli.invoke(app, ["toxic", "remove", "llm", "nope", "--control", url])
    assert gone.exit_code == 1 and "unknown toxic 'nope'" in gone.output
    assert cli.invoke(app, ["reset", "--control", url]).output == "reset: no toxic active\n"
    assert cp.toxics("llm") == []
    traffic = cli.invoke(app, ["traffic", "--control", url])
    assert traffic.output.endswith("0 request(s)\n")


def test_cli_unreachable_control_api_is_one_line() -> None:
    out = CliRunner().invoke(app, ["reset", "--control", "http://127.0.0.1:9"])
    assert out.exit_code == 1
    assert out.output == "error: control API at http://127.0.0.1:9 unreachable: ConnectError\n"


def test_cli_types_and_bad_proxy_flag() -> None:
    types = CliRunner().invoke(app, ["toxic", "types"])
    assert types.output.count("\n") == len(aichaos.faults.TOXICS)
    assert "latency: delay the request" in types.output
    bad = CliRunner().invoke(app, ["start", "--proxy", "llm=oops"])
    assert bad.exit_code == 2
    assert "expected NAME=LISTEN=UPSTREAM" in bad.output
