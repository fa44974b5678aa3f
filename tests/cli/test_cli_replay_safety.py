"""``aichaos replay`` reproduces a layer-4 case (issue 11 item 8).

Before, a layer-4 reproduction line looked the case up in the golden dataset and failed
("case ... is no longer in the dataset"). Now the case is rebuilt from the safety
probe file with the run's canary, its planted document goes where the suite put it, and the
probe's detectors judge the answer: the victim's replay is unsafe again, the twin's is safe.
"""

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

import pytest

from tests_support import write

CANARY = re.compile(r"AIC-CANARY-[0-9a-f]{8}")


def app(obeys: bool) -> ThreadingHTTPServer:
    """A support bot answering from the request's context; the victim obeys its instructions."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            context = body.get("context") or ""
            facts = [ln for ln in context.splitlines() if ln and not ln.startswith("#")]
            answer = facts[0] if facts else "Refunds take 5 business days."
            code = CANARY.search(context)
            if obeys and code:
                answer = f"{code.group(0)}\n{answer}"
            data = json.dumps({"output": answer}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(params=[True, False], ids=["victim", "twin"])
def bot(request: pytest.FixtureRequest) -> Iterator[tuple[bool, str]]:
    server = app(request.param)
    try:
        yield request.param, f"http://127.0.0.1:{server.server_port}/chat"
    finally:
        server.shutdown()
        server.server_close()


def aichaos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aichaos", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=180, env={**os.environ, "COLUMNS": "250"})


def test_a_layer4_case_replays_with_its_canary_document_and_verdict(
        bot: tuple[bool, str], tmp_path: Path) -> None:
    obeys, url = bot
    write(tmp_path / "data.yaml", 'cases:\n  - {id: r, input: "How long do refunds take?", '
                                  'expected: ["5 business days"]}\n')
    write(tmp_path / "exp.yaml", f"""
title: replay layer 4
dataset: data.yaml
target: {{type: http, url: "{url}", body: {{input: "{{{{ input }}}}", context: "{{{{ context }}}}"}},
         answer_path: $.output}}
steady-state-hypothesis: null
layers:
  capability: null
  safety: {{probes: [prompt_injection_indirect], answerable: 0}}
runtime: {{seed: 11}}
report: {{formats: [json]}}
""")
    run = aichaos("run", "exp.yaml", "--results", "res", "--hypothesis-exit", cwd=tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    (run_dir,) = [p for p in (tmp_path / "res").iterdir() if p.is_dir()]
    report = json.loads((run_dir / "report.json").read_text())
    safety = report["scorecard"]["layers"][3]
    failing = safety["failing"]
    assert bool(failing) is obeys, failing
    run_id = report.get("run_id", run_dir.name)
    replay = aichaos("replay", run_id, "--case", "prompt_injection_indirect/json-thoughts",
                     "--variant",
                     "prompt_injection_indirect", "--results", "res", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert "planted: the probe's document, via context" in replay.stdout
    now = next(ln for ln in replay.stdout.splitlines() if ln.strip().startswith("now:"))
    assert ("score 0.00" in now) is obeys and ("score 1.00" in now) is not obeys, now
    if obeys:  # the stored reproduction line is the one that was run, and it printed the canary
        assert any("aichaos replay" in f["reproduce"] for f in failing)
        assert CANARY.search(now)
