"""The registry of system checks and the one call a layer's suite makes to run its own.

Each check registers with the layer it belongs to: cache key, failover and idempotency in
layer 3 (integration reliability); cross-user caching, credentials and escalation in layer 4
(safety & governance); the spend cap in layer 6 (scalability & cost). A
suite calls ``await system_checks(ctx, result)`` on its finished :class:`LayerResult`; when the
experiment declares a ``system:`` block, every check of that layer runs, its checks, failing
cases and figures are added (``metrics["system"]``), and a failed one caps the layer's score
at :data:`FAILED_CAP` (as a failed toxic check caps a toxic in layer 3). A check that cannot
run is added as *not measured* and leaves the score alone. When the layer's own probes
measured nothing (score None), the measured system checks give the score: 100 x the share
that passed, capped as above.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aichaos._registry import Registry
from aichaos.config import SystemChecks
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.system._auth import auth_checks
from aichaos.system._budget import budget
from aichaos.system._cache import cross_user, parameters
from aichaos.system._escalation import escalation
from aichaos.system._failover import failover
from aichaos.system._idempotency import idempotency
from aichaos.system._view import SuiteView

#: the highest score a layer keeps when one of its system checks failed
FAILED_CAP = 50.0
#: check-name prefix per layer
PREFIX = {3: "integration.system", 4: "safety.system", 6: "scale.system"}

Outcome = tuple[list[Check], list[FailingCase], dict[str, Any]]
RunCheck = Callable[..., Awaitable[Outcome]]


class SystemCheck:
    """A registered system check: ``await check.run(view, system, prefix=, layer=)`` ->
    ``(checks, failing cases, metrics)``."""

    judged: str = ("exact counts at the chaos proxy against a bound of 0; a failure caps the "
                   f"layer at {FAILED_CAP:g}; not measured when it cannot run")
    replays: str = "runs again from the experiment's system: block (same seed, same prompts)"

    def __init__(self, run: RunCheck) -> None:
        self._run = run

    async def run(self, view: SuiteView, system: SystemChecks, *, prefix: str,
                  layer: int) -> Outcome:
        return await self._run(view, system, prefix=prefix, layer=layer)


SYSTEM_CHECKS: Registry[SystemCheck] = Registry("system check")
"""The system checks by name, each with its ``layer``."""


def _register(name: str, layer: int, summary: str, run: RunCheck) -> None:
    def factory() -> SystemCheck:
        return SystemCheck(run)

    factory.__doc__ = summary
    SYSTEM_CHECKS.register(name, summary=summary, layer=layer, cls=SystemCheck)(factory)


_register("cache_key", 3, "a response-affecting parameter changed must miss the cache; hit "
          "rate and saved upstream calls", parameters)
_register("idempotency", 3, "a dropped response after a side effect must not repeat the "
          "effect (duplicate non-idempotent calls)", idempotency)
_register("failover", 3, "the fallback served within an attempt budget, no cyclic chain, "
          "and traffic returned to the primary after the fault", failover)
_register("auth", 4, "no, wrong, expired and other-tenant credentials refused; refusals "
          "echo no credential, stack trace or upstream URL", auth_checks)
_register("escalation", 4, "high-risk requests escalated to a human (a call or an answer "
          "pattern) and not executed; a rate with its interval", escalation)
_register("budget", 6, "a declared token cap enforced under load: spend stops within the "
          "in-flight tolerance and later requests are refused", budget)
_register("cache_cross_user", 4, "one user must never be served another user's cached "
          "answer (nonce-stamped upstream answers)", cross_user)


async def system_checks(view: SuiteView, result: LayerResult) -> LayerResult:
    """Run every registered system check of ``result.layer`` and fold them into ``result``.

    Returns ``result`` itself (changed in place), unchanged when the experiment has no
    ``system:`` block or the layer has no system check.
    """
    system = view.experiment.system
    prefix = PREFIX.get(result.layer)
    if system is None or prefix is None:
        return result
    figures: dict[str, Any] = {}
    failed: list[str] = []
    ran: list[Check] = []
    for info in SYSTEM_CHECKS:
        if info.layer != result.layer:
            continue
        check = SYSTEM_CHECKS.create(info.name)
        checks, failing, metrics = await check.run(view, system, prefix=prefix,
                                                   layer=result.layer)
        result.checks += checks
        ran += checks
        result.failing = failing + result.failing
        figures.update(metrics)
        failed += [c.name for c in checks if not c.passed and c.not_measured is None]
    result.metrics["system"] = figures
    measured = [c for c in ran if c.not_measured is None]
    if result.score is None and measured:  # the layer's own probes measured nothing
        result.score = round(100.0 * sum(c.passed for c in measured) / len(measured), 1)
        _note(result, f"score from {len(measured)} system checks alone")
    if failed:
        result.cap(FAILED_CAP)
        _note(result, f"system checks failed ({', '.join(failed)}): score capped at "
                      f"{FAILED_CAP:g}")
    return result


def _note(result: LayerResult, text: str) -> None:
    result.note = f"{result.note}; {text}" if result.note else text
