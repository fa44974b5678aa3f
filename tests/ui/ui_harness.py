"""Run the real ``aichaos ui`` in a subprocess and drive it in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from aichaos.demo import free_port

SRC = Path(__file__).resolve().parents[2] / "src"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@dataclass
class UIProcess:
    """A running ``aichaos ui``: its base URL, the lines it printed, the process."""

    base: str
    proc: subprocess.Popen[str]
    lines: list[str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_ui(url: str, *args: str, host: str = "127.0.0.1", timeout_s: float = 90.0
             ) -> UIProcess:
    """Start ``python -m aichaos ui --store URL`` and wait until its first line is printed
    and it answers (``/healthz``; any status, since a token may be required)."""
    port = free_port(host)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get(
        "PYTHONPATH", "")]), COLUMNS="300")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aichaos", "ui", "--store", url, "--host", host,
         "--port", str(port), "--no-embeddings", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        for line in iter(stdout.readline, ""):
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    ui = UIProcess(f"http://{host}:{port}", proc, lines)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"aichaos ui exited {proc.returncode}: {''.join(lines)}")
        try:
            httpx.get(f"{ui.base}/healthz", timeout=2)
            if lines:
                return ui
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    ui.stop()
    raise AssertionError(f"aichaos ui did not answer within {timeout_s} s: {''.join(lines)}")


@dataclass
class Tab:
    """A browser page and every console error or page error it reported."""

    page: Any
    problems: list[str]
