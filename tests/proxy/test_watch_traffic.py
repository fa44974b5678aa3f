"""See the chaos while it happens: ``aichaos run --watch-traffic`` prints its proxies' control
API, and ``aichaos proxy toxic list`` / ``proxy traffic`` against it show the running run's
toxic and traffic; ``toxic list`` on a proxy without toxics says so.

Real parts: a CRM-like upstream and a small app calling it through the run's chaos proxy,
both on loopback in this process; the run and every CLI call are subprocesses.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from aichaos.demo import free_port
from tests_support import write

TOXIC = "slow_crm"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def aichaos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aichaos", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd, env=_env())


class Gate:
    """Holds the CRM's answers while the run's toxic is active until the test has looked
    (a CLI start takes seconds on a loaded machine; the fault phase must outlast it)."""

    def __init__(self) -> None:
        self.control: str | None = None
        self.seen = threading.Event()
        self.held = 0


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def app_and_crm(gate: Gate) -> Iterator[tuple[str, int, int]]:
    """``(app URL, proxy port, CRM port)``: the app calls the CRM through the proxy port."""
    proxy_port = free_port()
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []

    async def crm(request: web.Request) -> web.Response:
        if gate.control is not None and not gate.seen.is_set():
            async with httpx.AsyncClient(timeout=5.0) as client:
                toxics = (await client.get(f"{gate.control}/proxies/crm/toxics")).json()
            if toxics:
                gate.held += 1
                await asyncio.get_running_loop().run_in_executor(None, gate.seen.wait, 90)
        return web.json_response({"order": request.match_info["oid"], "status": "shipped"})

    async def ask(request: web.Request) -> web.Response:
        if request.method == "HEAD":
            return web.Response()
        body = await request.json()
        try:
            async with httpx.AsyncClient(timeout=120.0) as client:
                r = await client.get(f"http://127.0.0.1:{proxy_port}/orders/{body['q'][:8]}")
                status = r.json()["status"]
        except (httpx.HTTPError, ValueError, KeyError):
            return web.json_response({"answer": "Sorry, please try again later."})
        return web.json_response({"answer": f"Your order has {status}."})

    async def start(routes: list[tuple[str, str, Handler]]) -> int:
        app = web.Application()
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        runner = web.AppRunner(app, shutdown_timeout=0.2)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return int(runner.addresses[0][1])

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    crm_port = asyncio.run_coroutine_threadsafe(
        start([("GET", "/orders/{oid}", crm)]), loop).result(10)
    app_port = asyncio.run_coroutine_threadsafe(
        start([("POST", "/ask", ask), ("HEAD", "/ask", ask)]), loop).result(10)
    try:
        yield f"http://127.0.0.1:{app_port}/ask", proxy_port, crm_port
    finally:
        for runner in runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    out: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line)
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def test_watch_traffic_shows_the_running_runs_toxic(tmp_path: Path, gate: Gate,
                                                    app_and_crm: tuple[str, int, int]) -> None:
    app_url, proxy_port, crm_port = app_and_crm
    write(tmp_path / "data.yaml", """
        cases:
          - {id: o1, input: "order 1", expected: ["shipped"]}
          - {id: o2, input: "order 2", expected: ["shipped"]}
    """)
    write(tmp_path / "exp.yaml", f"""
        title: watch the chaos
        target: {{type: http, url: "{app_url}", body: {{q: "{{{{ input }}}}"}},
                  answer_path: $.answer}}
        dependencies:
          crm: {{upstream: "http://127.0.0.1:{crm_port}", listen: "127.0.0.1:{proxy_port}"}}
        dataset: data.yaml
        steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.5}}}}}}
        layers:
          capability: {{limit: 1}}
          integration:
            recovery_timeout_s: 2
            timeout_s: 120
            toxics:
              - {{dependency: crm, type: latency, name: {TOXIC}, attributes: {{latency: 200}}}}
        report: {{formats: [json]}}
    """)
    run = subprocess.Popen([sys.executable, "-m", "aichaos", "run", "exp.yaml",
                            "--watch-traffic"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env=_env())
    lines = _lines(run)
    seen: list[str] = []
    try:
        control = None
        deadline = time.monotonic() + 90
        while control is None and time.monotonic() < deadline:
            line = lines.get(timeout=90)
            assert line is not None, "".join(seen)
            seen.append(line)
            if m := re.search(r"chaos proxy control API: (http://127\.0\.0\.1:\d+)", line):
                control = m.group(1)
        assert control is not None, "".join(seen)
        gate.control = control
        listed, errors = "", []
        while TOXIC not in listed and run.poll() is None and time.monotonic() < deadline:
            proc = aichaos("proxy", "toxic", "list", "crm", "--control", control, cwd=tmp_path)
            if proc.returncode == 0:
                listed = proc.stdout
            else:
                errors.append(proc.stderr)
        traffic = aichaos("proxy", "traffic", "--control", control, cwd=tmp_path)
        gate.seen.set()
        if TOXIC not in listed:
            run.wait(timeout=60)
            while (line := lines.get(timeout=10)) is not None:
                seen.append(line)
        assert f"{TOXIC}\tlatency\tdownstream\ttoxicity=1" in listed, "".join(seen + errors)
        assert traffic.returncode == 0, traffic.stderr
        assert re.search(r"crm-\d+\tGET /orders/", traffic.stdout), traffic.stdout
        code = run.wait(timeout=120)
    finally:
        gate.seen.set()
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=30)
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    output = "".join(seen)
    assert code in (0, 1), output
    assert gate.held >= 1  # the toxic was seen while the fault phase was running
    # --watch-traffic printed the proxied requests live, the toxic named on those it hit
    assert re.search(r"traffic crm-\d+\s+GET /orders/\S+\s+200", output), output
    assert re.search(rf"traffic crm-\d+\s+GET /orders/\S+\s+200\s.*{TOXIC}", output), output


def test_toxic_list_on_an_empty_proxy_says_no_toxics(tmp_path: Path) -> None:
    control_port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, "-m", "aichaos", "proxy", "start", "-p",
         f"llm=127.0.0.1:0=http://127.0.0.1:{free_port()}", "--control",
         f"127.0.0.1:{control_port}", "--no-check-upstream"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env=_env())
    lines = _lines(proxy)
    try:
        line = lines.get(timeout=60)
        assert line is not None and line.startswith("control API"), line
        control = f"http://127.0.0.1:{control_port}"
        empty = aichaos("proxy", "toxic", "list", "llm", "--control", control, cwd=tmp_path)
        assert (empty.returncode, empty.stdout.strip()) == (0, "no toxics on llm")
        added = aichaos("proxy", "toxic", "add", "llm", "latency", "--name", "lag",
                        "--control", control, cwd=tmp_path)
        assert added.returncode == 0, added.stderr
        listed = aichaos("proxy", "toxic", "list", "llm", "--control", control, cwd=tmp_path)
        assert listed.stdout.startswith("lag\tlatency") and "no toxics" not in listed.stdout
    finally:
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=30)


@pytest.mark.parametrize(("flag", "message"), [
    ("0.0.0.0:8474", "--proxy-control '0.0.0.0:8474': the control API has no token and binds "
                     "to loopback only"),
    ("nowhere", "--proxy-control 'nowhere': expected HOST:PORT"),
])
def test_proxy_control_refuses_non_loopback_and_bad_addresses(tmp_path: Path, flag: str,
                                                              message: str) -> None:
    from typer.testing import CliRunner

    from aichaos.cli._main import app

    write(tmp_path / "data.yaml", 'cases:\n  - {id: a, input: "hi", expected: ["hi"]}\n')
    write(tmp_path / "exp.yaml", f"""
        title: t
        target: {{type: mock}}
        dependencies: {{crm: {{upstream: "http://127.0.0.1:{free_port()}"}}}}
        dataset: {tmp_path / "data.yaml"}
    """)
    result = CliRunner().invoke(app, ["run", str(tmp_path / "exp.yaml"), "--proxy-control",
                                      flag, "--results", str(tmp_path / "r")],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "r").exists()
