"""Resource growth per request (layer 6, scenario S21): victims flagged for that reason, the
twin passes; by PID (psutil) and from a real prometheus_client process collector."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.errors import ConfigError
from aichaos.results import LayerResult
from aichaos.runner import EventBus, Runner

CASES = [Case(id=f"c{i}", input=f"question {i}", expected=["ok"]) for i in range(3)]
SERIES = {"requests": 80, "warmup_requests": 20, "sample_every": 10, "concurrency": 4}


def run_scale(url: str | None, resources: dict[str, Any]) -> LayerResult:
    target = ({"type": "mock"} if url is None else
              {"type": "openai", "base_url": url + "/v1", "stream": False})
    exp = parse_experiment({
        "title": "resources",
        "target": target,
        "layers": {"capability": {"enabled": False},
                   "scale": {"arrival": "constant", "rates_rps": [5], "duration_s": 0.4,
                             "resources": resources}},
        "runtime": {"seed": 3}})
    outcome = asyncio.run(Runner(exp, EventBus(), cases=CASES).run())
    return outcome.scorecard.layers[6]


def resource_checks(layer: LayerResult) -> dict[str, Any]:
    return {c.name.removeprefix("scale.resources."): c for c in layer.checks
            if c.name.startswith("scale.resources")}


def test_client_per_request_leak_is_flagged_in_memory_and_fds(start_app: Any) -> None:
    app = start_app("leaky_app.py", "client")
    layer = run_scale(app.url, {"pid": app.pid, **SERIES})
    checks = resource_checks(layer)
    for figure in ("rss", "pss", "fds"):
        c = checks[figure]
        assert not c.passed and c.decided, c.message
        assert "grows per request and did not flatten after warm-up" in c.message
        assert c.interval is not None and c.interval.low > c.interval.high * 0.5 > 0
    # two fds per leaked client (both ends of its loopback connection): ~2,000 per 1k
    assert 1500 <= checks["fds"].value <= 2500
    # an SSL context and a pool per request (openai-python #1181): hundreds of KiB each
    assert checks["rss"].value > 200 and layer.metrics["rss_mib_per_1k_requests"] > 200
    assert checks["threads"].passed
    assert layer.details["resources"]["requests"] == 80
    assert layer.details["resources"]["errors"] == 0
    # the headline follows the decided failure (found by a trial: 100/100 with 5 leaks)
    assert layer.score is not None and layer.score <= 50 and "capped at 50" in layer.note


def test_virtual_only_leak_is_flagged_in_vms_not_rss(start_app: Any) -> None:
    app = start_app("leaky_app.py", "vms")
    checks = resource_checks(run_scale(app.url, {"pid": app.pid, **SERIES}))
    vms = checks["vms"]
    assert not vms.passed and vms.decided and "virtual memory size grows" in vms.message
    assert 900 <= vms.value <= 1100  # 1 MiB mapped per request: ~1,024 MiB per 1k
    assert checks["rss"].passed and checks["rss"].value < 8
    assert checks["fds"].passed


def test_fixed_twin_passes_every_figure(start_app: Any) -> None:
    app = start_app("leaky_app.py", "none")
    checks = resource_checks(run_scale(app.url, {"pid": app.pid, **SERIES}))
    assert {"rss", "vms", "pss", "uss", "swap", "fds", "threads"} <= set(checks)
    bad = {k: c.message for k, c in checks.items() if not c.passed}
    assert not bad
    assert checks["rss"].value < 8 and checks["fds"].value == 0


@pytest.mark.parametrize(("leak", "flagged"), [("client", True), ("none", False)])
def test_prometheus_process_collector_path(start_app: Any, leak: str, flagged: bool) -> None:
    app = start_app("leaky_app.py", leak)
    checks = resource_checks(run_scale(app.url, {"metrics_url": app.url + "/metrics",
                                                 **SERIES}))
    # prometheus_client's collector has RSS, VMS and open fds; no threads, PSS or swap
    assert set(checks) == {"rss", "vms", "fds"}
    assert "Prometheus process metrics" in checks["rss"].message
    assert (not checks["rss"].passed) is flagged and (not checks["fds"].passed) is flagged


def test_without_a_source_the_check_is_not_measured() -> None:
    layer = run_scale(None, SERIES)
    (check,) = [c for c in layer.checks if c.name.startswith("scale.resources")]
    assert check.name == "scale.resources" and not check.passed and check.value is None
    assert check.not_measured is not None and "declare layers.scale.resources.pid" in (
        check.not_measured)


def test_a_process_that_is_gone_is_not_measured() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    layer = run_scale(None, {"pid": gone.pid, **SERIES})
    check = next(c for c in layer.checks if c.name == "scale.resources")
    assert not check.passed and f"process {gone.pid} does not exist" in str(check.not_measured)


@pytest.mark.parametrize(("resources", "error"), [
    ({"metrics_url": "ftp://x/metrics"}, "layers.scale.resources.metrics_url"),
    ({"pid": 1, "requests": 40, "warmup_requests": 30}, "fewer than 4 samples after warm-up"),
    ({"pid": 0}, "layers.scale.resources.pid"),
    ({"pids": 3}, "layers.scale.resources.pids"),
])
def test_bad_resource_settings_name_the_field(resources: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_experiment({"title": "x", "target": {"type": "mock"},
                          "layers": {"scale": {"resources": resources}}})
    assert error in str(info.value)


def _series(values: list[float]) -> list[Any]:
    from aichaos.probes._resources import ResourceSample

    return [ResourceSample("during", 10 * i, float(i), {"target": {"rss": v}})
            for i, v in enumerate(values)]


def test_verdicts_tell_a_leak_from_a_warm_up_and_from_noise() -> None:
    from aichaos.probes._resources import fit_growth

    linear = _series([100 + 0.5 * i for i in range(16)])  # 0.5 MiB per 10 requests
    fit = fit_growth(linear, "rss", warmup_requests=30, allowance=8.0)
    assert fit is not None and fit.verdict == "grows" and not fit.passed
    assert fit.per_1k == pytest.approx(50.0) and fit.low_per_1k == pytest.approx(50.0)
    # concave: grows fast, then almost stops (pools filling): slowing, not a leak
    concave = _series([100 + 20 * (1 - 0.7 ** i) for i in range(16)])
    slow = fit_growth(concave, "rss", warmup_requests=30, allowance=8.0)
    assert slow is not None and slow.verdict == "slowing" and slow.passed
    assert slow.tail_per_1k < slow.head_per_1k / 2
    # one allocator step in the last half: not a steady leak, undecided
    step = fit_growth(_series([100.0] * 11 + [103.0] * 5), "rss", warmup_requests=30,
                      allowance=8.0)
    assert step is not None and step.head_per_1k == 0 and step.verdict in ("open", "flat")
    assert step.passed
    flat = fit_growth(_series([100.0] * 16), "rss", warmup_requests=30, allowance=8.0)
    assert flat is not None and flat.verdict == "flat" and flat.per_1k == 0
    assert (flat.low_per_1k, flat.high_per_1k) == (0, 0)
    assert fit_growth(_series([1.0, 2.0, 3.0]), "rss", warmup_requests=0, allowance=1) is None


@pytest.mark.parametrize(("block", "where"), [
    ("scale: {resources: {metrics_url: ftp://x/metrics}}",
     "layers.scale.resources.metrics_url: expected an http(s) URL"),
    ("integration: {toxics: [], stream_budgets: {ttft_s: -1}}",
     "layers.integration.stream_budgets.ttft_s"),
    ("scale: {conversation: {turns: 1}}", "layers.scale.conversation.turns"),
])
def test_cli_validate_names_the_bad_field_in_one_line(tmp_path: Any, block: str,
                                                      where: str) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"title: x\ntarget: {{type: mock}}\nlayers: {{{block}}}\n")
    proc = subprocess.run([sys.executable, "-m", "aichaos", "validate", str(exp)],
                          capture_output=True, text=True, timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert len(lines) == 1 and lines[0].startswith("error: ") and where in lines[0], lines
