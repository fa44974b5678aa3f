"""The Chaos Toolkit extension, run by the real ``chaos`` CLI on an experiment file.

The experiment checks a steady state (a tiny loopback service answers; an aichaos experiment
run in-process scores layer 1), then starts a chaos proxy in front of the service, probes
through it, adds a 503 toxic, probes again, counts the toxic's firings; its rollbacks remove
the toxic and stop the proxy. The test reads the journal.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import aichaos
from aichaos.chaostoolkit import _control, actions, probes
from aichaos.demo import free_port

SRC = Path(aichaos.__file__).resolve().parents[1]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chaostoolkit"

class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    """A tiny real HTTP service on loopback: ``GET /health`` -> 200 ``{"status": "ok"}``."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def chaos_cli() -> str:
    found = Path(sys.executable).with_name("chaos")
    assert found.exists() or shutil.which("chaos"), "chaostoolkit is not installed (dev extra)"
    return str(found) if found.exists() else str(shutil.which("chaos"))


def accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_chaos(tmp_path: Path, env: dict[str, str], journal_path: Path, service: str,
              listen_port: int, control_port: int) -> subprocess.CompletedProcess[str]:
    """``chaos run`` on the example, its configuration set for this test's ports."""
    return subprocess.run(
        [chaos_cli(), "--no-version-check", "--no-log-file", "--settings",
         str(tmp_path / "settings.yaml"), "run", "--journal-path", str(journal_path),
         "--rollback-strategy", "always",
         "--var", f"service_url={service}",
         "--var", f"proxy_listen=127.0.0.1:{listen_port}",
         "--var", f"proxy_url=http://127.0.0.1:{listen_port}",
         "--var", f"aichaos_control_url=http://127.0.0.1:{control_port}",
         "--var", f"control_listen=127.0.0.1:{control_port}",
         "--var", f"aichaos_state_file={tmp_path / 'proxy-state.json'}",
         "experiment.json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)


def test_chaos_run_uses_the_extension_and_journals_it(tmp_path: Path, service: str) -> None:
    for name in ("experiment.json", "aichaos-experiment.yaml", "data.yaml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)  # the documented example, as shipped
    listen_port, control_port = free_port(), free_port()
    journal_path = tmp_path / "journal.json"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    try:
        proc = run_chaos(tmp_path, env, journal_path, service, listen_port, control_port)
    finally:  # whatever happened, leave no proxy behind
        leftover = actions.stop_proxy(state_file=str(tmp_path / "proxy-state.json"))
    assert journal_path.exists(), proc.stdout + proc.stderr
    journal = json.loads(journal_path.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert journal["status"] == "completed" and journal["deviated"] is False

    before = journal["steady_states"]["before"]
    assert before["steady_state_met"] is True
    outputs = {p["activity"]["name"]: p["output"] for p in before["probes"]}
    assert outputs["service-answers"]["status"] == 200
    assert outputs["capability-score"] == 100.0
    assert journal["steady_states"]["after"]["steady_state_met"] is True

    run = {a["activity"]["name"]: a for a in journal["run"]}
    assert all(a["status"] == "succeeded" for a in journal["run"]), journal["run"]
    started = run["start-chaos-proxy"]["output"]
    assert started["proxies"] == {"service": f"127.0.0.1:{listen_port}"}
    assert started["control_url"] == f"http://127.0.0.1:{control_port}"
    assert run["call-through-proxy"]["output"]["status"] == 200
    assert run["call-through-proxy"]["output"]["body"] == {"status": "ok"}
    assert run["add-503-toxic"]["output"]["type"] == "http_error"
    faulted = run["call-through-proxy-under-fault"]["output"]
    assert faulted["status"] == 503
    assert faulted["body"]["error"]["type"] == "server_error"
    assert run["503-toxic-fired"]["output"] == 1
    assert run["upstream-calls"]["output"] == 1  # the faulted call never reached the service

    rollbacks = {a["activity"]["name"]: a for a in journal["rollbacks"]}
    assert [a["activity"]["name"] for a in journal["rollbacks"]] == ["remove-503-toxic",
                                                                     "stop-chaos-proxy"]
    assert all(a["status"] == "succeeded" for a in journal["rollbacks"])
    assert rollbacks["remove-503-toxic"]["output"] == {
        "proxy": "service", "removed": "service-503", "toxics_left": []}
    stopped = rollbacks["stop-chaos-proxy"]["output"]
    assert stopped["stopped"] is True and stopped["toxics_left"] == {"service": []}
    assert not _control.pid_alive(started["pid"])
    assert not accepts(listen_port) and not accepts(control_port)
    assert leftover["stopped"] is False  # the rollback had stopped it already


def test_actions_fail_with_one_line_naming_what_was_wrong(tmp_path: Path,
                                                          service: str) -> None:
    from chaoslib.exceptions import ActivityFailed

    state = str(tmp_path / "state.json")
    with pytest.raises(ActivityFailed, match="start_proxy: give name and upstream, or proxies"):
        actions.start_proxy(state_file=state)
    with pytest.raises(ActivityFailed, match=r"did not start: .*upstream http://127\.0\.0\.1:9 "
                                             r"unreachable"):
        actions.start_proxy("svc", "http://127.0.0.1:9", control="127.0.0.1:0",
                            state_file=state)
    started = actions.start_proxy("svc", service, control="127.0.0.1:0", state_file=state)
    try:
        conf = {"aichaos_state_file": state}
        with pytest.raises(ActivityFailed, match="already running"):
            actions.start_proxy("svc", service, control="127.0.0.1:0", state_file=state)
        with pytest.raises(ActivityFailed, match="unknown toxic 'nope'"):
            actions.add_toxic("svc", "nope", configuration=conf)
        with pytest.raises(ActivityFailed, match="attribute status: expected >= 400"):
            actions.add_toxic("svc", "http_error", {"status": 200}, configuration=conf)
        with pytest.raises(ActivityFailed, match="unknown proxy 'other'"):
            actions.add_toxic("other", "latency", configuration=conf)
        actions.add_toxic("svc", "latency", {"latency": 10}, name="slow", configuration=conf)
        assert [t["name"] for t in probes.list_toxics("svc", configuration=conf)] == ["slow"]
        assert actions.reset_toxics(configuration=conf) == {"reset": True,
                                                            "toxics_left": {"svc": []}}
        assert actions.remove_toxic("svc", "slow", missing_ok=True, configuration=conf)[
            "removed"] is False
        with pytest.raises(ActivityFailed, match="unknown toxic 'slow'"):
            actions.remove_toxic("svc", "slow", configuration=conf)
    finally:
        stopped = actions.stop_proxy(state_file=state)
    assert stopped["stopped"] is True and not _control.pid_alive(started["pid"])
    assert actions.stop_proxy(state_file=state)["stopped"] is False  # a repeated rollback


def test_report_probes_read_scores_and_checks(tmp_path: Path) -> None:
    from chaoslib.exceptions import ActivityFailed

    report = {"scorecard": {"overall": {"score": 40.0}, "layers": [
        {"layer": 1, "key": "capability", "score": 87.5, "checks": [
            {"name": "capability.accuracy", "passed": True, "value": 0.875}]},
        {"layer": 3, "key": "integration", "score": 40.0, "checks": [
            {"name": "integration.retry_after_honoured", "passed": False, "value": 0.25}]},
        {"layer": 6, "key": "scale", "score": None, "checks": []}]}}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert probes.layer_score(str(path), "capability") == 87.5
    assert probes.layer_score(str(path), 3) == 40.0
    assert probes.layer_score(str(path), "scale") is None
    assert probes.overall_score(str(path)) == 40.0
    assert probes.check_value(str(path), "integration.retry_after_honoured") == 0.25
    assert probes.check_passed(str(path), "capability.accuracy") is True
    with pytest.raises(ActivityFailed, match="unknown layer 'safety'; known: capability, "
                                             "integration, scale"):
        probes.layer_score(str(path), "safety")
    with pytest.raises(ActivityFailed, match=r"unknown check 'nope'; in the report: "
                                             r"capability\.accuracy, integration\.retry"):
        probes.check_value(str(path), "nope")
    with pytest.raises(ActivityFailed, match=r"missing\.json: cannot read an aichaos report"):
        probes.layer_score(str(tmp_path / "missing.json"), 1)
    (tmp_path / "other.json").write_text('{"title": "not a report"}')
    with pytest.raises(ActivityFailed, match="not an aichaos report"):
        probes.layer_score(str(tmp_path / "other.json"), 1)
