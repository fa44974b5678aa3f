"""Fixtures of the resource/stream/context scenarios: real loopback apps in their own process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from aichaos.demo import free_port

HERE = Path(__file__).parent


class App:
    """A scenario app started as its own process (PID known, so psutil can sample it)."""

    def __init__(self, script: str, *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, str(HERE / script), str(self.port),
                                         *args])
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.url}/health", timeout=1)
                break
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{script} {args} did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_app() -> Iterator[Callable[..., App]]:
    """``start_app(script, *args)`` starts an app; every app is stopped after the test."""
    apps: list[App] = []

    def start(script: str, *args: str) -> App:
        app = App(script, *args)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()
