"""Adaptive sampling end to end: ``aichaos run`` against a real OpenAI-compatible server on
loopback. An easy target (it answers every golden case right) is decided with far fewer
requests than the fixed design sends, the estimate is printed before anything is sent, and
the hard cap ``runtime.max_requests`` is never exceeded, counted at the server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests_support import write

CASES = 60


class _Answers(BaseHTTPRequestHandler):
    """Answers "question N" with "the answer N": right on every case."""

    posts: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # /v1/models for the target's health check
        self._send({"object": "list", "data": [{"id": "easy", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        said = body["messages"][-1]["content"]
        type(self).posts.append(said)
        answer = said.replace("question", "the answer")
        self._send({"id": "c1", "object": "chat.completion", "model": "easy",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer}}],
                    "usage": {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}})

    def _send(self, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def easy_url() -> Iterator[str]:
    _Answers.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _experiment(tmp_path: Path, url: str, runtime: str) -> Path:
    write(tmp_path / "data.yaml", "cases:\n" + "".join(
        f"  - {{id: c{i:02d}, input: 'question {i}', expected: ['answer {i}']}}\n"
        for i in range(CASES)))
    return write(tmp_path / f"exp-{abs(hash(runtime))}.yaml", f"""
title: easy target
target: {{type: openai, base_url: "{url}", model: easy, stream: false}}
dataset: data.yaml
steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.99}}}}}}
layers:
  capability: {{scorer: {{type: contains}}}}
runtime: {runtime}
report: {{formats: [json]}}
""")


def _run(tmp_path: Path, exp: Path, results: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = subprocess.run([sys.executable, "-m", "aichaos", "run", str(exp), "--results",
                           str(tmp_path / results)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})
    [report] = (tmp_path / results).glob("2*/report.json")
    return proc, json.loads(report.read_text())


def test_decided_run_sends_fewer_requests_than_fixed_on_an_easy_target(
        tmp_path: Path, easy_url: str) -> None:
    fixed, _ = _run(tmp_path, _experiment(tmp_path, easy_url, "{seed: 3}"), "f")
    fixed_posts = len(_Answers.posts)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed_posts == CASES + 2  # every case, plus the two steady-state checks
    _Answers.posts.clear()
    decided, report = _run(tmp_path, _experiment(
        tmp_path, easy_url, "{seed: 3, confidence: decided, batch_cases: 4}"), "d")
    assert decided.returncode == 0, decided.stderr
    decided_posts = len(_Answers.posts)
    layer = next(lay for lay in report["scorecard"]["layers"] if lay["layer"] == 1)
    check = next(c for c in layer["checks"] if c["name"] == "capability.accuracy")
    assert check["decided"] is True and check["passed"] is True
    assert check["interval"]["low"] >= 0.7 and check["interval"]["n"] == decided_posts - 2
    assert layer["details"]["sampling"]["stopped"] == "decided"
    assert decided_posts - 2 <= CASES / 2  # at most half the fixed design's requests
    # the estimate is printed before the run starts sending (the run line comes after it)
    out = decided.stdout
    assert re.search(r"estimate: at most 62 requests, ~\d+ s, cost: no price declared "
                     r"\(latency [\d.]+ s from (default|run \S+), confidence decided\)", out)
    assert out.index("estimate:") < out.index("aichaos run ")
    assert "layer 1 60 req" in out


def test_hard_cap_is_never_exceeded_at_the_server(tmp_path: Path, easy_url: str) -> None:
    proc, report = _run(tmp_path, _experiment(
        tmp_path, easy_url, "{seed: 3, max_requests: 13, batch_cases: 4}"), "c")
    assert len(_Answers.posts) == 13  # fixed mode, 62 planned: the cap holds at the server
    assert "hard cap runtime.max_requests 13" in proc.stdout
    layer = next(lay for lay in report["scorecard"]["layers"] if lay["layer"] == 1)
    assert layer["details"]["sampling"]["stopped"] == "cap: runtime.max_requests (13) reached"
    assert layer["details"]["sampling"]["cases_sent"] == 12
    assert proc.returncode == 1  # the after-hypothesis was refused: the run is aborted
    assert report["journal_status"] == "aborted"
