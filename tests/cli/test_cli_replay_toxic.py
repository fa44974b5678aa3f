"""``aichaos replay`` of a layer-3 case re-installs its toxic (found by a new-user trial: the
replay ran without the fault, so a failure looked fixed, and without the experiment's proxies,
so even a clean replay could not reach the dependency)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aichaos._net import free_port
from tests_support import write


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Crm(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "shipped"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def app(crm_url: str) -> type[BaseHTTPRequestHandler]:
    class App(BaseHTTPRequestHandler):
        """Looks the order up in the CRM; a CRM failure becomes a 500 (the defect)."""

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            try:
                with urllib.request.urlopen(crm_url, timeout=5) as r:
                    status, out = 200, f"Your order is {json.loads(r.read())['status']}."
            except (urllib.error.URLError, OSError):
                status, out = 500, "internal error"
            body = json.dumps({"output": out}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return App


@pytest.fixture()
def system() -> Iterator[tuple[str, str, str]]:
    crm = serve(Crm)
    listen = f"127.0.0.1:{free_port()}"
    bot = serve(app(f"http://{listen}/orders/1"))
    try:
        yield (f"http://127.0.0.1:{bot.server_port}/chat",
               f"http://127.0.0.1:{crm.server_port}", listen)
    finally:
        for s in (bot, crm):
            s.shutdown()
            s.server_close()


def aichaos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aichaos", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=180, env={**os.environ, "COLUMNS": "250"})


def test_a_layer3_case_replays_under_its_toxic_and_clean_without_it(
        system: tuple[str, str, str], tmp_path: Path) -> None:
    url, crm, listen = system
    write(tmp_path / "data.yaml", 'cases:\n  - {id: o1, input: "Where is my order?", '
                                  'expected: ["shipped"]}\n')
    write(tmp_path / "exp.yaml", f"""
title: replay layer 3
dataset: data.yaml
target: {{type: http, url: "{url}", answer_path: $.output}}
dependencies:
  crm: {{upstream: "{crm}", listen: "{listen}"}}
steady-state-hypothesis: null
layers:
  capability: null
  integration:
    limit: 1
    recovery_timeout_s: 1
    toxics: [{{dependency: crm, type: http_error, name: crm-503, attributes: {{status: 503}}}}]
report: {{formats: [json]}}
""")
    run = aichaos("run", "exp.yaml", "--results", "res", "--hypothesis-exit", cwd=tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    (run_dir,) = [p for p in (tmp_path / "res").iterdir() if p.is_dir()]
    report = json.loads((run_dir / "report.json").read_text())
    failing = report["scorecard"]["layers"][2]["failing"]
    assert any(f["variant"] == "crm-503" for f in failing), failing
    under = aichaos("replay", run_dir.name, "--case", "o1", "--variant", "crm-503",
                    "--results", "res", cwd=tmp_path)
    assert "fault:   toxic crm-503 (http_error) on crm" in under.stdout, under.stdout
    assert under.returncode == 1 and "HTTP 500" in under.stdout  # the failure, reproduced
    clean = aichaos("replay", run_dir.name, "--case", "o1", "--variant", "control",
                    "--results", "res", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "fault:" not in clean.stdout and "shipped" in clean.stdout
