"""``aichaos init`` probes the endpoint and writes what works (issue 11 item 10).

Before, init always wrote ``stream: true``; against a plain-JSON app every layer was then
skipped with "stream ended without finish_reason or [DONE]", which misled.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from aichaos.config import OpenAITargetConfig
from aichaos.targets import OpenAITarget, TargetRequest

ANSWER = {"choices": [{"message": {"role": "assistant", "content": "OK"},
                       "finish_reason": "stop"}]}


def serve(mode: str) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if mode == "sse":
                chunk = {"choices": [{"delta": {"content": "OK"}, "finish_reason": "stop"}]}
                body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
                kind = "text/event-stream"
            elif mode == "json":  # ignores "stream": true
                body, kind = json.dumps(ANSWER).encode(), "application/json"
            elif mode == "nested":  # the answer is nested, an id comes first
                body = json.dumps({"id": "r1", "data": {"choices": [{"reply": "pong"}]}}).encode()
                kind = "application/json"
            elif mode == "422":
                self.send_response(422)
                body = json.dumps({"error": "field 'question' required"}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            else:  # an HTTP JSON app
                body, kind = json.dumps({"id": 7, "answer": "pong"}).encode(), "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(params=["sse", "json", "app", "nested", "422"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    server, url = serve(request.param)
    try:
        yield request.param, url
    finally:
        server.shutdown()
        server.server_close()


def init(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = subprocess.run([sys.executable, "-m", "aichaos", "init", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    return proc, yaml.safe_load((tmp_path / "experiment.yaml").read_text())


def test_init_writes_what_the_endpoint_speaks(endpoint: tuple[str, str], tmp_path: Path) -> None:
    mode, url = endpoint
    if mode == "app":
        proc, exp = init(tmp_path, f"{url}/chat", "--type", "http")
        assert exp["target"]["answer_path"] == "$.answer"
        assert "the text is in $.answer" in proc.stdout
    elif mode == "nested":  # a trial's app: init took $.id, the first string
        proc, exp = init(tmp_path, f"{url}/chat", "--type", "http")
        assert exp["target"]["answer_path"] == "$.data.choices[0].reply"
    elif mode == "422":  # a trial's app: init took $.error from the error body
        proc, exp = init(tmp_path, f"{url}/chat", "--type", "http")
        assert exp["target"]["answer_path"] == "$.output"  # the default, not $.error
        assert "answered HTTP 422" in proc.stdout and "set target.body" in proc.stdout
    else:
        proc, exp = init(tmp_path, f"{url}/v1", "--model", "m")
        assert exp["target"]["stream"] is (mode == "sse")
        assert ("SSE stream" if mode == "sse" else "stream: false") in proc.stdout


def test_init_against_nothing_says_so_and_writes_the_defaults(tmp_path: Path) -> None:
    proc, exp = init(tmp_path, "http://127.0.0.1:9/v1")
    assert "could not reach" in proc.stdout and "wrote the defaults" in proc.stdout
    assert exp["target"]["stream"] is True


def test_plain_json_under_stream_true_says_what_to_set() -> None:
    server, url = serve("json")
    try:
        target = OpenAITarget(OpenAITargetConfig(type="openai", base_url=f"{url}/v1", model="m",
                                                 stream=True))

        async def go() -> str | None:
            try:
                return (await target.send(TargetRequest(input="hi"))).error
            finally:
                await target.aclose()

        error = asyncio.run(go())
    finally:
        server.shutdown()
        server.server_close()
    assert error is not None and "set target.stream: false" in error
