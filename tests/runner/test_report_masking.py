"""Secrets and personal data stay out of the journal and every report, as out of the store.

Victim: a system that echoes the caller's Authorization header and the user's message (with an
e-mail address the dataset planted) back as its answer. The answer fails the scorer, so it is a
failing case shown in every report. Before the fix the key and the address were printed verbatim
in journal.json, report.json, report.md and report.html while the store held ``<BEARER>``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from aichaos.config import load_experiment
from aichaos.session import run_experiment
from tests_support import write

KEY = "sk-TESTSECRET-0123456789abcdef"
EMAIL = "jane.doe@example.com"


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # /v1/models for the target's health check
        self._send({"object": "list", "data": [{"id": "echo", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        said = body["messages"][-1]["content"]
        answer = f"Your header was {self.headers.get('Authorization')}; you said {said}"
        self._send({"id": "c1", "object": "chat.completion", "model": "echo",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer}}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}})

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
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _run(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, *, mask: bool) -> str:
    monkeypatch.setenv("AICHAOS_TEST_ECHO_KEY", KEY)
    write(tmp_path / "data.yaml", f"cases:\n  - {{id: mail, input: 'write to {EMAIL}', "
                                  "expected: ['sent']}\n")
    exp = load_experiment(write(tmp_path / "exp.yaml", f"""
title: echo
target: {{type: openai, base_url: "{url}", model: echo, stream: false,
         api_key: {{type: env, key: AICHAOS_TEST_ECHO_KEY}}}}
dataset: data.yaml
layers:
  capability: {{scorer: {{type: contains}}}}
report: {{formats: [terminal, json, html, junit, markdown]}}
"""))
    exp.store.mask_pii = mask
    console = Console(record=True, width=200)
    done = run_experiment(exp, results_dir=tmp_path / "res", console=console)
    assert done.outcome.scorecard.layers[1].failing, "the echoed answer must fail the scorer"
    texts = [p.read_text(encoding="utf-8") for p in done.directory.iterdir() if p.is_file()]
    return "\n".join([console.export_text(), *texts])


def test_secrets_and_personal_data_never_reach_the_reports(
        tmp_path: Path, echo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = _run(tmp_path, echo_url, monkeypatch, mask=True)
    assert KEY not in everything
    assert EMAIL not in everything
    assert "<BEARER>" in everything or "<SECRET>" in everything  # the case is still shown


def test_without_pii_masking_the_key_is_still_masked(
        tmp_path: Path, echo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = _run(tmp_path, echo_url, monkeypatch, mask=False)
    assert KEY not in everything
    assert "<SECRET>" in everything
    assert EMAIL in everything  # the user opted out of PII masking
