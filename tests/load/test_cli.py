"""``aichaos load run`` against a loopback server running on its own thread."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.progress import Progress
from typer.testing import CliRunner

from aichaos.cli._load import StepBars, app
from aichaos.load import LoadProgress


class _Ok(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport

    def data_received(self, data: bytes) -> None:
        n = data.count(b"\r\n\r\n")
        self.t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * n)  # type: ignore[attr-defined]


@pytest.fixture
def url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    srv = loop.run_until_complete(loop.create_server(_Ok, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_run_sweep_prints_table_and_writes_json(url: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["run", url, "--rates", "50,100", "--duration", "0.3",
                                   "--profile", "poisson", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "load steps" in res.output
    data = json.loads(out.read_text())
    assert [s["offered_rps"] for s in data["steps"]] == [50, 100]
    assert all(s["errors"] == 0 and s["ok"] > 5 for s in data["steps"])


def test_bad_options_are_one_line(url: str) -> None:
    res = CliRunner().invoke(app, ["run", url, "--profile", "zigzag"])
    assert res.exit_code == 2
    assert "error: load profile: expected closed" in res.output
    res = CliRunner().invoke(app, ["run", "ftp://x"])
    assert res.exit_code == 2 and "load url" in res.output
    res = CliRunner().invoke(app, ["run", url, "--engine", "spark"])
    assert res.exit_code == 2 and "--engine" in res.output


def test_context_probe_command(url: str, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    res = CliRunner().invoke(app, ["context", url, "--window", "256", "--mode", "post",
                                   "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    # the server answers "ok" to everything: it never recalls the needle, so no verdict
    assert [c["verdict"] for c in data["cases"]] == ["inconclusive"] * 4
    assert [c["tokens"] for c in data["cases"]] == [128, 230, 256, 384]


def test_step_bars_count_requests_or_seconds() -> None:
    bars = StepBars(Progress())
    bars(LoadProgress(0, 2, "start", 50.0, 0.0, 1.0, 0, 0, None, 50))
    bars(LoadProgress(0, 2, "running", 50.0, 0.5, 1.0, 26, 25, None, 50))
    task = bars.bar.tasks[0]
    assert task.description == "step 1/2 50 req/s"
    assert task.total == 50 and task.completed == 25
    assert task.fields["info"] == "done 25/50, sent 26, 0/1 s"
    # a closed loop has no planned request count: its bar counts seconds
    bars(LoadProgress(1, 2, "start", None, 0.0, 4.0, 0, 0, None, None))
    bars(LoadProgress(1, 2, "running", None, 1.5, 4.0, 9, 8, None, None))
    closed = bars.bar.tasks[1]
    assert closed.total == 4.0 and closed.completed == 1.5


def test_run_moves_a_bar_during_each_step(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, str, int, int | None, float]] = []
    update = StepBars.__call__

    def spy(self: StepBars, p: LoadProgress) -> None:
        update(self, p)
        task = next(t for t in self.bar.tasks if t.id == self.tasks[p.step])
        seen.append((p.step, p.phase, p.completed, p.planned, task.completed))

    monkeypatch.setattr(StepBars, "__call__", spy)
    res = CliRunner().invoke(app, ["run", url, "--rates", "40,80", "--duration", "1.2"])
    assert res.exit_code == 0, res.output
    assert {step: planned for step, _, _, planned, _ in seen} == {0: 48, 1: 96}
    running = [s for s in seen if s[1] == "running"]
    assert {s[0] for s in running} == {0, 1}  # ticks inside both steps, not only at the end
    # mid-step the bar shows the completions so far: some, not all
    assert any(0 < done < planned and shown == done
               for _, _, done, planned, shown in running if planned)
