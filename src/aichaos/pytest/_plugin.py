"""pytest hooks: the ``chaos`` fixture, the ``aichaos`` marker and their options.

Loaded through the ``pytest11`` entry point ``aichaos = "aichaos.pytest"`` (pytest's plugin
API, https://docs.pytest.org/en/stable/how-to/writing_plugins.html). Importing it costs no
more than pytest itself: the proxy, scipy and aiohttp load when a test uses them.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aichaos.pytest._chaos import Chaos
    from aichaos.pytest._repeat import RateVerdict

MARKER = "aichaos"
_KEY = "aichaos"  # user_properties key of a repeated check's verdict line
_VERDICTS = pytest.StashKey[list[tuple[str, "RateVerdict"]]]()
_SETTINGS = pytest.StashKey[dict[str, Any]]()
_INI: dict[str, tuple[str, str]] = {
    "aichaos_max_attempts": ("3", "most requests one client call may send (first try plus "
                                  "retries) before chaos.assert_resilient fails it"),
    "aichaos_deadline": ("10", "most seconds one client call may take before "
                               "chaos.assert_resilient calls it a hang"),
    "aichaos_hold": ("5", "seconds chaos.stall() and chaos.hang() hold a request by default"),
    "aichaos_seed": ("42", "seed of the toxics' per-request RNG"),
    "aichaos_inconclusive": ("pass", "an inconclusive @pytest.mark.aichaos check: 'pass' "
                                     "(reported as inconclusive) or 'fail'"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aichaos", "aichaos chaos fixture and repeated checks")
    group.addoption("--aichaos-inconclusive", choices=("pass", "fail"), default=None,
                    dest="aichaos_inconclusive",
                    help="what an inconclusive @pytest.mark.aichaos check does (default: the "
                         "aichaos_inconclusive ini value, 'pass')")
    for name, (default, help_) in _INI.items():
        parser.addini(name, help_, default=default)


def _number(config: pytest.Config, name: str, kind: type, low: float) -> Any:
    raw = str(config.getini(name)).strip()
    try:
        value = kind(raw)
        if value < low:
            raise ValueError
    except ValueError:
        unit = "an integer" if kind is int else "a number"
        raise pytest.UsageError(f"ini option {name}: expected {unit} >= {low:g}, "
                                f"got {raw!r}") from None
    return value


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(runs=20, min_pass_rate=0.9): run the test body `runs` times and "
        "pass when the 95% Wilson interval of its pass rate lies at or above min_pass_rate, "
        "fail when it lies below, else report it inconclusive")
    mode = config.getoption("aichaos_inconclusive") or str(
        config.getini("aichaos_inconclusive")).strip()
    if mode not in ("pass", "fail"):
        raise pytest.UsageError(f"ini option aichaos_inconclusive: expected pass or fail, "
                                f"got {mode!r}")
    config.stash[_SETTINGS] = {
        "max_attempts": _number(config, "aichaos_max_attempts", int, 1),
        "deadline_s": _number(config, "aichaos_deadline", float, 0),
        "hold_s": _number(config, "aichaos_hold", float, 0),
        "seed": _number(config, "aichaos_seed", int, 0),
        "inconclusive": mode,
    }
    config.stash[_VERDICTS] = []


@pytest.fixture
def chaos(request: pytest.FixtureRequest) -> Iterator[Chaos]:
    """A real chaos proxy for this test (see :class:`aichaos.pytest.Chaos`): start it with
    ``chaos.llm()`` or ``chaos.proxy(url)``, script faults, call your client through it and
    ``chaos.assert_resilient(result)``. Everything it started stops after the test."""
    from aichaos.pytest._chaos import Chaos

    s = request.config.stash[_SETTINGS]
    fixture = Chaos(seed=s["seed"], max_attempts=s["max_attempts"], deadline_s=s["deadline_s"],
                    hold_s=s["hold_s"])
    try:
        yield fixture
    finally:
        fixture.close()


# ---------------------------------------------------------------- the marker


def marker_args(item: pytest.Item) -> tuple[int, float] | None:
    """``(runs, min_pass_rate)`` of the item's ``aichaos`` marker, or None without one.

    Raises:
        pytest.UsageError: positional or unknown arguments, ``runs`` not an integer >= 1,
            ``min_pass_rate`` not a number in [0, 1]; the message names the test.
    """
    mark = item.get_closest_marker(MARKER)
    if mark is None:
        return None
    where = f"{item.nodeid}: @pytest.mark.{MARKER}"
    if mark.args:
        raise pytest.UsageError(f"{where}: takes keyword arguments only (runs=..., "
                                f"min_pass_rate=...), got {mark.args!r}")
    extra = sorted(set(mark.kwargs) - {"runs", "min_pass_rate"})
    if extra:
        raise pytest.UsageError(f"{where}: unknown argument(s) {', '.join(extra)}; expected "
                                "runs, min_pass_rate")
    runs = mark.kwargs.get("runs", 20)
    rate = mark.kwargs.get("min_pass_rate", 0.9)
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise pytest.UsageError(f"{where}(runs={runs!r}): runs must be an integer >= 1")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise pytest.UsageError(f"{where}(min_pass_rate={rate!r}): min_pass_rate must be a "
                                "number in [0, 1]")
    return runs, float(rate)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker_args(item)  # a bad marker stops the session before any test runs


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a marked test's body ``runs`` times and decide on its pass rate."""
    args = marker_args(pyfuncitem)
    if args is None:
        return None
    from aichaos.pytest._chaos import Chaos
    from aichaos.pytest._repeat import FAIL, INCONCLUSIVE, decide

    runs, min_rate = args
    fn = pyfuncitem.obj
    kwargs = {a: pyfuncitem.funcargs[a] for a in pyfuncitem._fixtureinfo.argnames}
    fixture = kwargs.get("chaos")
    passed, first_failure = 0, ""
    for i in range(runs):
        if i and isinstance(fixture, Chaos):
            fixture.reset()
        try:
            result = fn(**kwargs)
            if inspect.iscoroutine(result):
                asyncio.run(result)
            passed += 1
        except (pytest.fail.Exception, AssertionError, Exception) as exc:
            if not first_failure:
                text = str(exc).strip() or type(exc).__name__
                first_failure = f"first failing run (#{i + 1}): {text}"
    verdict = decide(passed, runs, min_rate)
    line = str(verdict)
    pyfuncitem.user_properties.append((_KEY, line))
    pyfuncitem.config.stash[_VERDICTS].append((pyfuncitem.nodeid, verdict))
    if verdict.decision == FAIL:
        pytest.fail(f"{line}\n{first_failure}", pytrace=False)
    if verdict.decision == INCONCLUSIVE and \
            pyfuncitem.config.stash[_SETTINGS]["inconclusive"] == "fail":
        pytest.fail(f"{line} (--aichaos-inconclusive=fail)\n{first_failure}", pytrace=False)
    return True


def pytest_report_teststatus(report: pytest.TestReport,
                             config: pytest.Config) -> tuple[str, str, str] | None:
    if report.when == "call" and report.passed:
        for key, value in report.user_properties:
            if key == _KEY and str(value).endswith(": inconclusive"):
                return "inconclusive", "?", "INCONCLUSIVE"
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    verdicts = config.stash.get(_VERDICTS, [])
    if not verdicts:
        return
    terminalreporter.section("aichaos pass rates")
    for nodeid, verdict in verdicts:
        terminalreporter.write_line(f"{nodeid}: {verdict}")
