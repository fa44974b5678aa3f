"""The pytest plugin (aichaos.pytest), tested through pytest itself (pytester).

Every fault has a resilient client that must pass and a naive one that must fail for that
fault's reason and no other, with httpx and with the official ``openai`` package, against the
real chaos proxy and scripted LLM on loopback.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx  # noqa: F401  (imported here so pytester's in-process runs reuse them:
import openai  # noqa: F401  numpy, under scipy, cannot be imported twice in one process)
import pytest
import scipy.stats  # noqa: F401

import aichaos.proxy  # noqa: F401
from aichaos.errors import PluginError, ProxyError
from aichaos.pytest import Chaos, decide, runs_needed

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
REASONS = ("not_exercised", "retry_after_ignored", "retried_non_retryable",
           "unbounded_retries", "truncated_accepted", "hang")
FAULTS = {"retry_after": "retry_after_ignored", "truncated_stream": "truncated_accepted",
          "stalled_stream": "hang", "unbounded_retries": "unbounded_retries"}


# the outer session imported aichaos.pytest already: its asserts are plain, which is fine
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")


def plugin_args() -> list[str]:
    """Load the plugin by module (the inner sessions autoload no entry point: see ``quiet``)."""
    return ["-p", "aichaos.pytest"]


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner sessions load only the plugin under test: the venv's other plugins (locust,
    hypothesis, ...) cost seconds per in-process run and are not what is tested here."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def run_inner(pytester: pytest.Pytester, source: str, *args: str) -> pytest.HookRecorder:
    pytester.makepyfile(test_inner=source)
    return pytester.inline_run(*plugin_args(), *QUIET, *args)


def call_reports(rec: pytest.HookRecorder) -> dict[str, pytest.TestReport]:
    return {r.nodeid.split("::")[-1]: r for r in rec.getreports("pytest_runtest_logreport")
            if r.when == "call"}


@pytest.mark.parametrize("library", ["httpx", "openai"])
def test_resilient_clients_pass_and_naive_ones_fail_for_the_right_reason(
        pytester: pytest.Pytester, library: str) -> None:
    rec = run_inner(pytester, (HERE / f"clients_{library}.py").read_text())
    reports = call_reports(rec)
    assert len(reports) == 2 * len(FAULTS), sorted(reports)
    for fault, reason in FAULTS.items():
        good, bad = reports[f"test_{fault}_resilient"], reports[f"test_{fault}_naive"]
        assert good.passed, f"{library} resilient client, {fault}:\n{good.longreprtext}"
        assert bad.failed, f"{library} naive client, {fault}: passed"
        text = bad.longreprtext
        assert f"- {reason}: " in text, f"{library} {fault}: want {reason}:\n{text}"
        others = [r for r in REASONS if r != reason and f"- {r}: " in text]
        assert not others, f"{library} {fault}: extra reasons {others}:\n{text}"
    # the sentences say what the proxy saw
    assert "after a 429 with Retry-After: 1 s" in reports["test_retry_after_naive"].longreprtext
    assert ("over its deadline of 1 s while the proxy held the request (stream_stall"
            in reports["test_stalled_stream_naive"].longreprtext)
    assert ("7 requests reached the proxy for one call; at most 3 allowed"
            in reports["test_unbounded_retries_naive"].longreprtext)
    assert "faulted by stream_cut" in reports["test_truncated_stream_naive"].longreprtext


CALLS_AND_NOT_EXERCISED = """
import httpx

def test_records(chaos):
    url = chaos.llm(reply="one two three")
    chaos.toxic("latency", latency=50)
    r = httpx.post(url + "/chat/completions", json={"model": "m", "messages": []})
    assert r.json()["choices"][0]["message"]["content"] == "one two three"
    [call] = chaos.calls
    assert (call.status, call.toxics, call.upstream) == (200, ["latency"], True)
    assert call.duration_s >= 0.05
    assert chaos.fired("latency") == 1
    chaos.assert_resilient(r.json())

def test_nothing_sent(chaos):
    chaos.llm()
    chaos.rate_limit(times=1)
    chaos.assert_resilient("an answer from somewhere else")

def test_async_openai_client(chaos):
    import openai

    client = openai.AsyncOpenAI(base_url=chaos.llm(), api_key="test", max_retries=1)
    chaos.http_error(503, times=1)

    async def ask():
        r = await client.chat.completions.create(model="m", messages=[])
        return r.choices[0].message.content

    outcome = chaos.call(ask)  # a coroutine function, run to completion
    assert outcome.value == chaos.scripted.reply, outcome
    verdict = chaos.assert_resilient(outcome)
    assert verdict.attempts == 2

def test_non_retryable(chaos):
    url = chaos.llm()
    chaos.toxic("quota", times=1)
    for _ in range(2):
        r = httpx.post(url + "/chat/completions", json={"model": "m", "messages": []})
    chaos.assert_resilient(r.text)
"""


def test_calls_records_and_exercise_checks(pytester: pytest.Pytester) -> None:
    reports = call_reports(run_inner(pytester, CALLS_AND_NOT_EXERCISED))
    assert reports["test_records"].passed, reports["test_records"].longreprtext
    assert reports["test_async_openai_client"].passed, \
        reports["test_async_openai_client"].longreprtext
    text = reports["test_nothing_sent"].longreprtext
    assert "- not_exercised: no request reached the chaos proxy" in text
    text = reports["test_non_retryable"].longreprtext
    assert "- retried_non_retryable: request dependency-2 retried after quota" in text


# ----------------------------------------------------------------- the marker

MARKED = """
import itertools
import httpx
import pytest

counter = itertools.count()
http = httpx.Client(timeout=5)

@pytest.mark.aichaos(runs=20, min_pass_rate=0.8)
def test_always_passes():
    assert True

@pytest.mark.aichaos(runs=10, min_pass_rate=0.9)
def test_always_fails():
    assert 1 + 1 == 3, "arithmetic broke"

@pytest.mark.aichaos(runs=10, min_pass_rate=0.9)
def test_eight_of_ten():
    assert next(counter) % 5 != 0

@pytest.mark.aichaos(runs=30, min_pass_rate=0.8)
def test_flaky_provider_without_retries(chaos):
    url = chaos.llm()
    chaos.http_error(503, times=None, toxicity=0.5)
    r = http.post(url + "/chat/completions", json={"model": "m", "messages": []})
    r.raise_for_status()
    chaos.assert_resilient(r.text)

@pytest.mark.aichaos(runs=30, min_pass_rate=0.8)
def test_flaky_provider_with_retries(chaos):
    url = chaos.llm()
    chaos.http_error(503, times=None, toxicity=0.5)
    for _ in range(6):
        r = http.post(url + "/chat/completions", json={"model": "m", "messages": []})
        if r.status_code == 200:
            break
    r.raise_for_status()
    chaos.assert_resilient(r.text, max_attempts=6)
"""


def test_marker_passes_fails_and_reports_inconclusive(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=MARKED)
    result = pytester.runpytest_inprocess(*plugin_args(), *QUIET, "-rA")
    outcomes = result.parseoutcomes()
    assert outcomes == {"passed": 2, "failed": 2, "inconclusive": 1}, outcomes
    out = result.stdout.str()
    assert "aichaos pass rates" in out
    assert ("test_always_passes: 20/20 runs passed, pass rate 1.00 [95% CI 0.84, 1.00] vs "
            "min_pass_rate 0.8: pass") in out
    assert "test_always_fails: 0/10 runs passed" in out
    assert "first failing run (#1): arithmetic broke" in out
    assert ("test_eight_of_ten: 8/10 runs passed, pass rate 0.80 [95% CI 0.49, 0.94] vs "
            "min_pass_rate 0.9: inconclusive") in out
    assert "test_flaky_provider_with_retries: 30/30 runs passed" in out
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    flaky = [ln for ln in out.splitlines()
             if ln.startswith("test_inner.py::test_flaky_provider_without_retries: ")]
    assert flaky and flaky[0].endswith(": fail"), flaky


def test_inconclusive_can_be_made_to_fail(pytester: pytest.Pytester) -> None:
    source = MARKED.split("@pytest.mark.aichaos(runs=30")[0]
    pytester.makepyfile(test_inner=source)
    result = pytester.runpytest_inprocess(*plugin_args(), *QUIET,
                                          "--aichaos-inconclusive=fail", "-k", "eight")
    assert result.parseoutcomes() == {"failed": 1, "deselected": 2}
    result.stdout.fnmatch_lines(["*8/10 runs passed*inconclusive (--aichaos-inconclusive=fail)*"])
    pytester.makeini("[pytest]\naichaos_inconclusive = fail\n")
    result = pytester.runpytest_inprocess(*plugin_args(), *QUIET, "-k", "eight")
    assert result.parseoutcomes() == {"failed": 1, "deselected": 2}


@pytest.mark.parametrize(("marker", "message"), [
    ("runs=0", "@pytest.mark.aichaos(runs=0): runs must be an integer >= 1"),
    ("runs=-3, min_pass_rate=0.5", "@pytest.mark.aichaos(runs=-3): runs must be an integer >= 1"),
    ("runs=2.5", "@pytest.mark.aichaos(runs=2.5): runs must be an integer >= 1"),
    ("runs=5, min_pass_rate=1.5",
     "@pytest.mark.aichaos(min_pass_rate=1.5): min_pass_rate must be a number in [0, 1]"),
    ("runs=5, min_rate=0.5",
     "@pytest.mark.aichaos: unknown argument(s) min_rate; expected runs, min_pass_rate"),
    ("5", "@pytest.mark.aichaos: takes keyword arguments only (runs=..., min_pass_rate=...), "
          "got (5,)"),
])
def test_bad_marker_is_a_usage_error(pytester: pytest.Pytester, marker: str,
                                     message: str) -> None:
    pytester.makepyfile(test_inner=f"""
import pytest

@pytest.mark.aichaos({marker})
def test_x():
    pass
""")
    result = pytester.runpytest_inprocess(*plugin_args(), *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert f"test_inner.py::test_x: {message}" in err, err
    assert "passed" not in result.stdout.str()


def test_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naichaos_deadline = soon\n")
    pytester.makepyfile(test_inner="def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess(*plugin_args(), *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ini option aichaos_deadline: expected a number >= 0, got 'soon'" in \
        result.stderr.str()


# ------------------------------------------------------- units and packaging


def test_decisions_follow_the_wilson_interval() -> None:
    assert decide(20, 20, 0.8).decision == "pass"          # low end 0.84
    assert decide(19, 20, 0.9).decision == "inconclusive"  # [0.76, 0.99]
    assert decide(10, 20, 0.8).decision == "fail"          # high end 0.70
    with pytest.raises(ValueError, match="n >= 1"):
        decide(0, 0, 0.9)


def test_runs_needed_is_where_the_decision_first_comes() -> None:
    n = runs_needed(0.99, 0.9)
    assert n is not None
    assert decide(round(0.99 * n), n, 0.9).decision == "pass"
    assert decide(round(0.99 * (n - 1)), n - 1, 0.9).decision == "inconclusive"
    assert runs_needed(0.9, 0.9) is None
    likely = runs_needed(0.99, 0.9, power=0.8)
    assert likely is not None and likely >= n


def test_chaos_object_errors_name_what_was_wrong() -> None:
    c = Chaos()
    with pytest.raises(ProxyError, match=r"not started: call chaos.proxy\(upstream_url\) or "
                                         r"chaos.llm\(\) first"):
        c.rate_limit()
    c.llm()
    try:
        with pytest.raises(PluginError, match="unknown toxic 'no_such_fault'"):
            c.toxic("no_such_fault")
        with pytest.raises(PluginError, match="attribute retry_after_s: expected <= 86400"):
            c.rate_limit(retry_after=10**6)
        with pytest.raises(ProxyError, match="already started"):
            c.proxy("http://127.0.0.1:9")
        with pytest.raises(ValueError, match=r"seconds: expected > 0 \(a finite hold\), got 0"):
            c.stall(seconds=0)
        with pytest.raises(PluginError, match=r"attribute retry_after_s: expected an integer s, "
                                              r"got 1\.5"):
            c.rate_limit(retry_after=1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="times: expected >= 1 or None, got 0"):
            c.http_error(times=0)
    finally:
        c.close()


def test_pytest_autoloads_the_plugin_from_the_declared_entry_point(tmp_path: Path) -> None:
    """A distribution declaring pyproject's pytest11 entry point (and nothing else) makes a
    plain ``pytest`` run load the plugin: no -p, no conftest."""
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = doc["project"]["entry-points"]["pytest11"]["aichaos"]
    assert target == "aichaos.pytest"
    site = tmp_path / "site"
    info = site / "aichaos_entry_point_check-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aichaos-entry-point-check\n"
                                   "Version: 0\n")
    (info / "entry_points.txt").write_text(f"[pytest11]\naichaos = {target}\n")
    (tmp_path / "test_uses_fixture.py").write_text(
        "def test_fixture(chaos):\n"
        "    assert chaos.llm().endswith('/v1')\n")
    src = Path(importlib.import_module("aichaos").__file__ or "").resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(src)])}
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    # the venv's other plugins stay out (locust's alone costs seconds); aichaos's must load
    others = [arg for name in ("locust", "hypothesispytest", "faker", "anyio", "asyncio")
              for arg in ("-p", f"no:{name}")]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *others, "--aichaos-inconclusive=fail", "test_uses_fixture.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_the_documented_examples_pass(pytester: pytest.Pytester) -> None:
    """Every python block of docs/pytest.md, joined into one test file, passes as written."""
    doc = (ROOT / "docs" / "pytest.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```python\n")[1:]]
    result = run_inner(pytester, "\n\n".join(blocks))
    reports = call_reports(result)
    assert len(reports) == 7, sorted(reports)
    failed = {name: r.longreprtext for name, r in reports.items() if not r.passed}
    assert not failed, failed
