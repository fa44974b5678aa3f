"""``aichaos load run --engine ray`` through the real CLI in a subprocess (it starts its own
local Ray and stops it), against a sleep-bound loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aichaos.cli._load import app
from sleep_upstream import free_port, sleep_upstream
from tests_support import ROOT


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with sleep_upstream(base_s=0.02, exp_mean_s=0.0, capacity=64) as url:
        yield url


def _aichaos(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "aichaos", "load", "run", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_load_run_engine_ray_two_workers(upstream: str, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    proc = _aichaos(upstream + "/", "--engine", "ray", "--workers", "2", "--profile", "poisson",
                    "--rates", "20,40", "--duration", "1.5", "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "load steps" in proc.stdout and "ray workers: clock offset" in proc.stdout
    data = json.loads(out.read_text())
    engine = data["engine"]
    assert engine["name"] == "ray" and engine["workers"] == 2 and engine["started_local"]
    assert [s["offered_rps"] for s in data["steps"]] == [20, 40]
    for step, ran in zip(data["steps"], engine["steps"], strict=True):
        workers = ran["workers"]
        assert len(workers) == 2 and len({w["pid"] for w in workers}) == 2
        # the merged step is exactly the sum of the workers' parts
        assert step["scheduled"] == sum(w["scheduled"] for w in workers)
        assert step["ok"] == sum(w["ok"] for w in workers) == step["scheduled"]
        assert step["latency_s"]["e2e"]["count"] == step["completed"]
        assert [w["offered_rps"] for w in workers] == [step["offered_rps"] / 2] * 2
        for w in workers:  # one machine, one clock: 0 lies within every estimate's bound
            assert abs(w["clock_offset_s"]) <= w["clock_error_s"] + 1e-6
        # 20 ms of sleep per request, timed from the scheduled send
        assert 0.02 <= step["latency_s"]["e2e"]["p50"] < 0.2


def test_load_run_engine_bad_input_is_one_line(upstream: str) -> None:
    # refused before Ray starts (in process: nothing here needs a subprocess)
    res = CliRunner().invoke(app, ["run", upstream + "/", "--engine", "ray", "--workers", "0"])
    assert res.exit_code == 2
    assert res.output.strip() == "error: ray workers: expected >= 1, got 0"
    res = CliRunner().invoke(app, ["run", upstream + "/", "--ray-address", "127.0.0.1:1"])
    assert res.exit_code == 2
    assert res.output.strip() == "error: --ray-address: only applies with --engine ray"
    # a cluster address where nothing listens: one line, no minutes of retries
    dead = f"127.0.0.1:{free_port()}"
    res = CliRunner().invoke(app, ["run", upstream + "/", "--engine", "ray", "--ray-address",
                                   dead, "--duration", "0.5"])
    assert res.exit_code == 2
    said = " ".join(res.output.split())  # rich wraps at the test terminal's 80 columns
    assert said.startswith(f"error: engine ray: nothing accepts connections at the Ray "
                           f"address '{dead}' (ConnectionRefusedError")
    assert said.count("error:") == 1 and "Traceback" not in said
    res = CliRunner().invoke(app, ["run", upstream + "/", "--engine", "spark"])
    assert res.exit_code == 2
    assert res.output.strip() == "error: --engine: expected local, asyncio or ray, got 'spark'"
