"""``aichaos.pytest``: a pytest plugin to test a client's resilience against real faults.

Installed with aichaos (``pytest11`` entry point ``aichaos``). It adds:

* the ``chaos`` fixture (:class:`Chaos`): a real chaos proxy, optionally in front of a local
  scripted OpenAI-compatible LLM (:class:`ScriptedLLM`), scripted per test
  (``chaos.rate_limit(times=2, retry_after=1)``, ``chaos.stream_cut(after_chunks=3)``,
  ``chaos.stall(...)``, ``chaos.toxic("type", **attributes)``), with
  ``chaos.assert_resilient(result)`` judging the client from what the proxy saw;
* the ``@pytest.mark.aichaos(runs=40, min_pass_rate=0.9)`` marker for repeated stochastic
  checks, decided on the Wilson interval of the pass rate (:func:`decide`,
  :func:`runs_needed`).

See docs/pytest.md.
"""

# the hooks must be attributes of the plugin module for pytest to find them
from aichaos.pytest._plugin import (  # noqa: F401
    chaos,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_pyfunc_call,
    pytest_report_teststatus,
    pytest_terminal_summary,
)
from aichaos.pytest._repeat import RateVerdict, decide, runs_needed


def __getattr__(name: str) -> object:
    """Load the heavier public names (proxy, aiohttp) on first use (PEP 562)."""
    if name == "Chaos":
        from aichaos.pytest._chaos import Chaos

        return Chaos
    if name == "ScriptedLLM":
        from aichaos.pytest._llm import ScriptedLLM

        return ScriptedLLM
    if name in ("Outcome", "Verdict", "Violation", "judge"):
        from aichaos.pytest import _verdict

        return getattr(_verdict, name)
    raise AttributeError(f"module 'aichaos.pytest' has no attribute {name!r}")


__all__ = [
    "Chaos",
    "Outcome",
    "RateVerdict",
    "ScriptedLLM",
    "Verdict",
    "Violation",
    "chaos",
    "decide",
    "judge",
    "runs_needed",
]
