"""Start and stop the whole demo system on loopback: model, CRM, chaos proxy ports, apps.

Topology (every address on 127.0.0.1, every port free when chosen)::

    client ──> app[naive]    ──┐            ┌──> proxy llm_provider :P1 ──> model server :M
               app[hardened] ──┴─ --llm-url ┤
                                --crm-url   └──> proxy crm :P2          ──> CRM service :C

The apps are started with ``--llm-url http://127.0.0.1:P1/v1`` and
``--crm-url http://127.0.0.1:P2``: they always call through the proxy ports.

Who runs the proxies. By default (``start_proxy=False``) the stack only *reserves* P1 and P2
and exposes :meth:`DemoStack.dependencies`, the experiment's ``dependencies`` block
``{llm_provider: {upstream: http://127.0.0.1:M, listen: 127.0.0.1:P1}, crm: {...}}``. The
runner then starts its in-process ``ChaosProxy`` on exactly those listen addresses for the run
and adds and removes toxics itself (with counters and traffic log in the same process). Until
the runner listens there, app calls to the model fail with "connection refused", which is
fine: nothing calls the apps before the run starts. With ``start_proxy=True`` the stack runs
``aichaos proxy start`` as a subprocess on P1/P2 with its control API on ``control_url`` (a
Toxiproxy-shaped REST API; drive it with ``aichaos.proxy.ProxyClient``), for standalone use and
tests.

Stopping: every process the stack started gets SIGTERM, then SIGKILL after
``stop_timeout_s``, in reverse start order, on normal exit, on an exception and on Ctrl-C
(KeyboardInterrupt) in the block or while starting. When started from the main thread on
Linux, the app, CRM and proxy processes also carry ``PR_SET_PDEATHSIG`` (SIGTERM), so a
``kill -9`` of the parent still takes them down, and SIGTERM to the parent is turned into
``SystemExit`` for the lifetime of the stack so the cleanup runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import httpx

from aichaos._net import free_port
from aichaos.demo._llm import (
    ModelServer,
    last_line,
    pdeathsig,
    start_model_server,
)
from aichaos.demo.app._settings import PROFILES, Profile
from aichaos.errors import AIChaosError

HOST = "127.0.0.1"
LLM_DEPENDENCY = "llm_provider"
CRM_DEPENDENCY = "crm"


#: OpenTelemetry SDK settings for the apps (standard variables; the user's own win): spans
#: leave every 200 ms instead of the SDK's 5 s (OTEL_BSP_SCHEDULE_DELAY, ms), so the layer-5
#: receiver sees them promptly, metrics every 1 s (OTEL_METRIC_EXPORT_INTERVAL, ms), and an
#: export gives up after 2 s (OTEL_EXPORTER_OTLP_TIMEOUT; seconds in opentelemetry-python's
#: OTLP/HTTP exporter) instead of 10 s, so an app whose receiver has stopped still shuts down
#: at once.
APP_OTEL_ENV = {k: os.environ.get(k, v) for k, v in
                {"OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_METRIC_EXPORT_INTERVAL": "1000",
                 "OTEL_EXPORTER_OTLP_TIMEOUT": "2"}.items()}


class DemoStackError(AIChaosError):
    """A process of the demo stack did not start (its log's last line is in the message)."""


class DemoStack:
    """The demo system; a context manager (``with`` or ``async with``).

    Args:
        profiles: app profiles to start, each on its own port.
        llm_url: use this running model server (base URL ending in ``/v1``) instead of starting
            SmolLM2 with :func:`start_model_server`.
        start_proxy: run the chaos proxy as a subprocess (see the module docstring).
        work_dir: logs, the CRM database and app logs (a temporary directory by default).
        seed: the proxy's toxic seed (``start_proxy`` only).
        canaries: secrets passed to the apps (``--canary``) for leak probes.
        startup_timeout_s: per process, seconds until it must answer ``/health``.
        env: extra environment variables for every process the stack starts (e.g.
            ``OTEL_EXPORTER_OTLP_ENDPOINT``); this process's own environment is not changed.

    After start: ``model_url`` (``.../v1``), ``crm_url``, ``proxy_ports``
    ``{"llm_provider": P1, "crm": P2}``, ``app_urls`` ``{profile: "http://127.0.0.1:A/v1"}``,
    ``app_logs`` ``{profile: Path}``, ``control_url`` (``start_proxy`` only) and ``pids``.

    Raises (from start / ``__enter__``):
        DemoStackError: a process exited or did not answer in time; everything is stopped.
        ModelServerError: the model server could not start.
    """

    def __init__(self, *, profiles: Sequence[Profile] = PROFILES, llm_url: str | None = None,
                 start_proxy: bool = False, work_dir: Path | None = None, seed: int = 42,
                 canaries: Sequence[str] = (), startup_timeout_s: float = 180.0,
                 stop_timeout_s: float = 10.0, env: Mapping[str, str] | None = None) -> None:
        self.profiles = tuple(profiles)
        self.env = dict(env or {})
        self._given_llm_url = llm_url
        self.start_proxy = start_proxy
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="aichaos-demo-"))
        self.seed, self.canaries = seed, tuple(canaries)
        self.startup_timeout_s, self.stop_timeout_s = startup_timeout_s, stop_timeout_s
        self.model: ModelServer | None = None
        self.model_url = ""
        self.crm_url = ""
        self.proxy_ports: dict[str, int] = {}
        self.app_urls: dict[str, str] = {}
        self.app_logs: dict[str, Path] = {}
        self.control_url: str | None = None
        self._procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self._old_sigterm: Any = None

    # ---------------------------------------------------------------- public

    @property
    def pids(self) -> dict[str, int]:
        """Process id of every process this stack started, by role."""
        out = {name: p.pid for name, p, _ in self._procs}
        if self.model is not None:
            out["model"] = self.model.process.pid
        return out

    @property
    def ports(self) -> list[int]:
        """Every port the stack bound or reserved (model, CRM, proxies, control, apps)."""
        urls = [self.model_url if self.model else "", self.crm_url, self.control_url or "",
                *self.app_urls.values()]
        found = [httpx.URL(u).port for u in urls if u]
        return [p for p in found if p] + list(self.proxy_ports.values())

    def dependencies(self) -> dict[str, dict[str, str]]:
        """The experiment's ``dependencies`` block matching the apps' configuration."""
        return {
            LLM_DEPENDENCY: {"upstream": self.model_url.removesuffix("/v1"),
                             "listen": f"{HOST}:{self.proxy_ports[LLM_DEPENDENCY]}"},
            CRM_DEPENDENCY: {"upstream": self.crm_url,
                             "listen": f"{HOST}:{self.proxy_ports[CRM_DEPENDENCY]}"},
        }

    def start(self) -> DemoStack:
        """Start everything and wait until each process answers; on any failure (or Ctrl-C)
        stop what was started and re-raise."""
        self._install_sigterm()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process this stack started (SIGTERM, then SIGKILL). Idempotent."""
        try:
            for _, proc, _ in reversed(self._procs):
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + self.stop_timeout_s
            for _, proc, _ in reversed(self._procs):
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if self.model is not None:
                self.model.stop(self.stop_timeout_s)
        finally:
            self._restore_sigterm()

    def __enter__(self) -> DemoStack:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> DemoStack:
        import asyncio

        return await asyncio.to_thread(self.start)

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        import asyncio

        await asyncio.shield(asyncio.to_thread(self.stop))

    # ------------------------------------------------------------- internals

    def _start(self) -> None:
        logs = self.work_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if self._given_llm_url:
            self.model_url = self._given_llm_url.rstrip("/")
        else:
            self.model = start_model_server(log_dir=logs,
                                            startup_timeout_s=self.startup_timeout_s)
            self.model_url = self.model.base_url
        crm_port = free_port(HOST)
        self.crm_url = f"http://{HOST}:{crm_port}"
        crm = self._spawn("crm", ["aichaos.demo._crm", "--port", str(crm_port),
                                  "--db", str(self.work_dir / "crm.sqlite3")], logs)
        self.proxy_ports = {LLM_DEPENDENCY: free_port(HOST), CRM_DEPENDENCY: free_port(HOST)}
        self._wait_http("crm", crm, self.crm_url + "/health")
        if self.start_proxy:
            control = free_port(HOST)
            self.control_url = f"http://{HOST}:{control}"
            deps = self.dependencies()
            args = ["aichaos.cli._proxy", "start", "--control", f"{HOST}:{control}",
                    "--seed", str(self.seed)]
            for name, dep in deps.items():
                args += ["-p", f"{name}={dep['listen']}={dep['upstream']}"]
            proxy = self._spawn("proxy", args, logs)
            self._wait_http("proxy", proxy, self.control_url + "/proxies")
        llm = f"http://{HOST}:{self.proxy_ports[LLM_DEPENDENCY]}/v1"
        crm_via_proxy = f"http://{HOST}:{self.proxy_ports[CRM_DEPENDENCY]}"
        started = []
        for profile in self.profiles:  # start both, then wait: their start-ups overlap
            port = free_port(HOST)
            self.app_logs[profile] = logs / f"app-{profile}.log"
            args = ["aichaos.demo.app", "--profile", profile, "--port", str(port),
                    "--llm-url", llm, "--crm-url", crm_via_proxy,
                    "--log-file", str(self.app_logs[profile])]
            for c in self.canaries:
                args += ["--canary", c]
            started.append((profile, self._spawn(f"app-{profile}", args, logs), port))
        for profile, proc, port in started:
            self._wait_http(f"app-{profile}", proc, f"http://{HOST}:{port}/health")
            self.app_urls[profile] = f"http://{HOST}:{port}/v1"

    def _spawn(self, name: str, module_args: list[str], logs: Path) -> subprocess.Popen[bytes]:
        log_path = logs / f"{name}.out"
        main = threading.current_thread() is threading.main_thread()
        preexec: Callable[[], None] | None = (
            pdeathsig if main and sys.platform.startswith("linux") else None)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               **APP_OTEL_ENV, **self.env}
        with open(log_path, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", *module_args], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, preexec_fn=preexec)
        self._procs.append((name, proc, log_path))
        return proc

    def _wait_http(self, name: str, proc: subprocess.Popen[bytes], url: str) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        log = next(p for n, q, p in self._procs if q is proc)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DemoStackError(f"{name} exited with code {proc.returncode}: "
                                     f"{last_line(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise DemoStackError(f"{name} did not answer {url} within "
                             f"{self.startup_timeout_s:.0f} s: {last_line(log)}")

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(128 + signum)

        self._old_sigterm = signal.signal(signal.SIGTERM, on_sigterm)

    def _restore_sigterm(self) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
