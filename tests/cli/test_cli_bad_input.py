"""Bad input through the real ``aichaos`` command: one clear line, exit code 2, no traceback."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests_support import write

AICHAOS = [sys.executable, "-m", "aichaos"]


def aichaos(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AICHAOS, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200", **(env or {})})


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_malformed_yaml(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", "title: x\ntarget: {type: openai, base_url: [\n")
    line = one_error_line(aichaos("run", str(f)))
    assert f"{f}: line 3, column 1: invalid YAML" in line


def test_validate_lists_every_error_one_line_each(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", """
title: x
target: {type: openai, base_url: "http://127.0.0.1:9/v1", max_tokens: many}
runtime: {seed: abc, concurency: 2}
""")
    proc = aichaos("validate", str(f))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 3, proc.stderr
    assert all(ln.startswith(f"error: {f}: ") for ln in lines)
    assert {ln.split(": ")[2] for ln in lines} == {"target.max_tokens", "runtime.seed",
                                                     "runtime.concurency"}


def test_unknown_key_names_the_field_path(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", """
title: x
target: {type: mock}
layers: {capability: {scorr: {type: contains}}}
""")
    line = one_error_line(aichaos("validate", str(f)))
    assert f"{f}: layers.capability.scorr: unknown key" in line


def test_wrong_type_says_what_was_expected_and_what_arrived(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", """
title: x
target: {type: openai, base_url: "http://127.0.0.1:9/v1", max_tokens: many}
""")
    line = one_error_line(aichaos("run", str(f)))
    assert f"{f}: target.max_tokens: expected an integer (got 'many')" in line


def test_missing_dataset_file(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", """
title: x
target: {type: mock}
dataset: nowhere.yaml
""")
    line = one_error_line(aichaos("run", str(f)))
    assert f"{tmp_path / 'nowhere.yaml'}: dataset file not found" in line


def test_no_dataset_is_refused_alike_by_validate_and_run(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", "title: x\ntarget: {type: mock}\n")
    expected = f"error: {f}: dataset: required field is missing (a golden dataset path)"
    assert one_error_line(aichaos("validate", str(f))) == expected
    assert one_error_line(aichaos("run", str(f))) == expected


def test_missing_experiment_file(tmp_path: Path) -> None:
    line = one_error_line(aichaos("run", str(tmp_path / "nope.yaml")))
    assert "nope.yaml: experiment file not found" in line


def test_unreachable_target(tmp_path: Path) -> None:
    from aichaos.demo import free_port

    write(tmp_path / "data.yaml", "cases: [{id: a, input: hi, expected: [hello]}]\n")
    f = write(tmp_path / "exp.yaml", f"""
title: x
target: {{type: openai, base_url: "http://127.0.0.1:{free_port()}/v1"}}
dataset: data.yaml
""")
    line = one_error_line(aichaos("run", str(f), "--results", str(tmp_path / "out")))
    assert "connection refused" in line and "127.0.0.1" in line


@pytest.fixture()
def html_server() -> Iterator[str]:
    """A real HTTP server that answers every request with an HTML page (not JSON)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<html><body>Welcome</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _page

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_target_returning_non_json_is_recorded_and_fails_the_hypothesis(
    tmp_path: Path, html_server: str
) -> None:
    """A target answering HTML is an observation (invalid_response), not a crash."""
    write(tmp_path / "data.yaml", "cases: [{id: a, input: hi, expected: [hello]}]\n")
    f = write(tmp_path / "exp.yaml", f"""
title: html target
target: {{type: http, url: "{html_server}/ask", answer_path: $.answer}}
dataset: data.yaml
steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.99}}}}}}
report: {{formats: [json]}}
""")
    proc = aichaos("run", str(f), "--results", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    run_dir = next((tmp_path / "out").glob("2*"))
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "failed"
    assert journal["steady_states"]["before"]["steady_state_met"] is False


def test_unknown_scorer_is_a_plugin_error(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", "cases: [{id: a, input: hi, expected: [hello]}]\n")
    f = write(tmp_path / "exp.yaml", """
title: x
target: {type: mock}
dataset: data.yaml
layers: {capability: {scorer: {type: vibes}}}
""")
    line = one_error_line(aichaos("run", str(f), "--results", str(tmp_path / "out")))
    assert "unknown scorer 'vibes'; known: " in line
    known = line.split("known: ", 1)[1].split(", ")
    assert {"contains", "exact", "json_schema", "regex", "semantic"} <= set(known)
    assert known == sorted(known)


def test_bad_dataset_case_names_index_and_field(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", "cases: [{id: a, input: hi}, {id: b}]\n")
    f = write(tmp_path / "exp.yaml", "title: x\ntarget: {type: mock}\ndataset: data.yaml\n")
    line = one_error_line(aichaos("validate", str(f)))
    assert "data.yaml: cases[1].input: required field is missing" in line


INTEGRATION = """
title: x
target: {{type: mock}}
dataset: data.yaml
dependencies: {{llm_provider: {{upstream: "http://127.0.0.1:9"}}}}
layers: {{integration: {{toxics: [{toxic}]}}}}
"""


@pytest.mark.parametrize(("toxic", "expected"), [
    ("{dependency: llm_provider, type: rate_limitt}",
     "exp.yaml: layers.integration.toxics[0]: unknown toxic 'rate_limitt'; known: "),
    ("{dependency: llm_providr, type: rate_limit}",
     "layers.integration.toxics[0].dependency: unknown dependency 'llm_providr'; "
     "known: llm_provider"),
    ("{dependency: llm_provider, type: latency, attributes: {latency_ms: 5}}",
     "layers.integration.toxics[0]: "),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_toxics_are_caught_before_anything_is_sent(
    tmp_path: Path, toxic: str, expected: str, command: str
) -> None:
    write(tmp_path / "data.yaml", "cases: [{id: a, input: hi, expected: [hello]}]\n")
    f = write(tmp_path / "exp.yaml", INTEGRATION.format(toxic=toxic))
    line = one_error_line(aichaos(command, str(f), *(["--results", str(tmp_path / "o")]
                                                      if command == "run" else [])))
    assert expected in line
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("2*"))


def test_unknown_scorer_fails_validate_too(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", "cases: [{id: a, input: hi, expected: [hello]}]\n")
    f = write(tmp_path / "exp.yaml", """
title: x
target: {type: mock}
dataset: data.yaml
layers: {capability: {scorer: {type: containz}}}
""")
    line = one_error_line(aichaos("validate", str(f)))
    assert f"{f}: layers.capability.scorer: unknown scorer 'containz'" in line
