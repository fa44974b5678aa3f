"""End to end: layer 6 with ``engine: ray`` (a local Ray started for the run, 2 workers) and
with ``engine: local``, each through ``aichaos run`` in a subprocess, against one real
sleep-bound OpenAI-compatible server on loopback. Their figures must agree within their 95 %
intervals (throughput: exact Poisson; p50 latency: order statistics of the merged histogram).

The upstream sleeps 20 ms + Exp(30 ms) per request with room for 64 at once: it spends no
CPU, so on 2 cores the comparison measures the engines, not contention with a CPU-bound model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sleep_upstream import sleep_upstream
from tests_support import ROOT


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with sleep_upstream(base_s=0.02, exp_mean_s=0.03, capacity=64, seed=7) as url:
        yield url


def _assess(upstream: str, tmp: Path, scale: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    experiment = {
        "title": f"engine {scale.get('engine', 'local')}",
        "target": {"type": "openai", "base_url": upstream + "/v1", "model": "sleepy",
                   "max_tokens": 16, "stream": True, "timeout_s": 30},
        "dataset": str(ROOT / "examples" / "datasets" / "support.yaml"),
        "layers": {"capability": {"enabled": False},
                   "scale": {"profile": "sweep", "arrival": "poisson", "rates_rps": [30],
                             "duration_s": 5, "peak_rps": 20, **scale}},
        "runtime": {"seed": 42},
    }
    path = tmp / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "aichaos", "run", str(path), "--results", str(tmp / "res")],
        capture_output=True, text=True, timeout=400,
        env={**os.environ, "COLUMNS": "160",
             "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])},
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    run_dir = next((tmp / "res").glob("2*"))
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "completed"
    layer = journal["aichaos"]["scorecard"]["layers"][5]
    assert layer["key"] == "scale" and layer["measured"] is True, layer["note"]
    return layer, run_dir


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def test_ray_and_local_engines_agree_within_their_intervals(
    upstream: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    local, _ = _assess(upstream, tmp_path_factory.mktemp("local"), {"engine": "local"})
    ray, ray_dir = _assess(upstream, tmp_path_factory.mktemp("ray"),
                           {"engine": "ray", "workers": 2})
    lm, rm = local["metrics"], ray["metrics"]
    figures = {k: (lm[k], rm[k]) for k in ("achieved_rps", "achieved_rps_ci", "latency_p50_s",
                                           "latency_p50_ci_s", "latency_p95_s")}
    print(json.dumps(figures, indent=1))  # the measured figures, for the record

    # the engines: one process here, two Ray actors on a local Ray started for the run
    assert local["details"]["engine"] == {"name": "local", "workers": 1}
    assert lm["load_engine"] == "local"
    engine = ray["details"]["engine"]
    assert engine["name"] == "ray" and engine["workers"] == 2 and engine["started_local"]
    assert rm["load_engine"] == "ray (2 workers, a local Ray)"
    (step,) = engine["steps"]
    workers = step["workers"]
    assert len({w["pid"] for w in workers}) == 2
    assert [w["offered_rps"] for w in workers] == [15, 15]  # each paces half the arrivals
    merged = ray["details"]["load"]["steps"][0]
    assert merged["scheduled"] == sum(w["scheduled"] for w in workers)
    assert merged["latency_s"]["e2e"]["count"] == merged["completed"]
    for w in workers:  # one machine: the true offset, 0, lies within each estimate's bound
        assert abs(w["clock_offset_s"]) <= w["clock_error_s"] + 1e-6
    assert 0 <= rm["worker_clock_offset_max_s"] <= max(w["clock_error_s"] for w in workers)

    # both carried the load without errors ...
    for m in (lm, rm):
        assert m["error_rate"] == 0.0 and m["max_sustainable_rps"] == 30
        lo, hi = m["achieved_rps_ci"]
        assert lo <= m["achieved_rps"] <= hi
        lo, hi = m["latency_p50_ci_s"]
        assert lo <= m["latency_p50_s"] <= hi
        assert lo > 0.02  # every request slept at least 20 ms
    # ... and agree: each figure's 95 % interval overlaps the other engine's
    assert _overlap(lm["achieved_rps_ci"], rm["achieved_rps_ci"]), figures
    assert _overlap(lm["latency_p50_ci_s"], rm["latency_p50_ci_s"]), figures

    # the reports say where the load came from and how far the clocks were apart
    assert "worker clocks vs the driver" in ray["note"]
    assert "worker clocks vs the driver" in (ray_dir / "report.md").read_text()
    assert "worker_clock_offset_max_s" in (ray_dir / "report.html").read_text()
