"""Failover verified: the fallback really served, within an attempt budget, without revisiting
a deployment, and traffic came back to the primary once the fault was removed.

The primary's proxy answers ``status`` (an ``http_error`` toxic) while ``cases`` fresh
prompts are sent one at a time with ``Cache-Control: no-cache``. For each request the chaos
proxies' traffic logs give the calls to the primary (every attempt, answered by the toxic)
and to each fallback (calls that reached its upstream), in arrival order. Then the toxic is
removed and a fresh request is sent every ``return_interval_s`` until one is served by the
primary's upstream, or ``max_return_s`` passes.

Checks (``<prefix>.failover.<name>``, exact counts or one measured time):

- ``served``: requests answered (2xx) while a fallback's upstream received their call, out
  of the requests sent; passes when all were;
- ``attempts``: the most upstream calls one request made across primary and fallbacks;
  passes at ``<= max_attempts``;
- ``cyclic``: requests whose chain revisited a deployment after moving on (A, B, A); passes
  at 0;
- ``return_to_primary``: seconds from removing the fault to the first request served by the
  primary; fails when it never came back within ``max_return_s``;
- ``correlated`` (unless ``correlated: false``): with the primary and every fallback broken
  at once (one toxic group), one request must end in a clean error (an HTTP error status
  with a body) or a graceful fallback answer (``layers.integration.fallback_patterns``), not
  a hang (no answer within ``correlated_timeout_s``), a crash or a 2xx passed off as an
  answer.
"""

from __future__ import annotations

import asyncio
import re
import time
from itertools import pairwise
from typing import Any

from aichaos.config import FailoverCheck, IntegrationLayer, SystemChecks
from aichaos.dataset import Case
from aichaos.results import Check, FailingCase
from aichaos.system._cache import exact, not_measured
from aichaos.system._view import Sent, SuiteView, send_as, variant_target
from aichaos.targets import NO_CACHE, DeadlineTarget, Target

_NAME = "system_failover"
_GROUP = "system_failover_group"


def correlated_outcome(result: Any, patterns: list[re.Pattern[str]]) -> str:
    """``clean_error``, ``fallback``, ``hang``, ``crash`` or ``silent_failure`` for the answer
    to a request sent while every deployment was down."""
    if result.error_class == "timeout":
        return "hang"
    if result.error_class in ("connection", "exception", "stream"):
        return "crash"
    if result.error_class is not None:
        return "clean_error" if result.status is not None else "crash"
    if any(p.search(result.output or "") for p in patterns):
        return "fallback"
    return "silent_failure"


def revisits(chain: list[str]) -> bool:
    """True when ``chain`` (dependencies in call order) returns to one it had left."""
    left: set[str] = set()
    for prev, cur in pairwise(chain):
        if cur != prev:
            left.add(prev)
            if cur in left:
                return True
    return False


def _chain(view: SuiteView, cfg: FailoverCheck, sent: Sent) -> list[str]:
    calls = []
    for dep in [cfg.primary, *cfg.fallbacks]:
        calls += [(c.started, dep) for c in view.proxy.traffic.query(
            proxy=dep, since=sent.start, until=sent.end) if dep == cfg.primary or c.upstream]
    return [dep for _, dep in sorted(calls)]


async def _send(view: SuiteView, target: Target, cfg: FailoverCheck, i: int, phase: str,
                layer: int) -> Sent:
    case = view.cases[i % len(view.cases)] if view.cases else Case(id="failover", input="hi")
    text = f"{case.input} (ref {view.run_id[:8]}-fo-{phase}-{i})"
    return await send_as(view, target, case, text, f"system.failover.{phase}", layer=layer,
                         suite="system.failover", dependency=cfg.primary, headers=NO_CACHE)


async def failover(view: SuiteView, system: SystemChecks, *, prefix: str, layer: int
                   ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    """Layer 3: the fallback served, within budget, acyclic, and traffic returned to the
    primary (module docstring). Returns ``(checks, failing cases, metrics)``."""
    base = f"{prefix}.failover"
    cfg = system.failover
    if cfg is None:
        return [not_measured(base, "not measured: no failover declared (system.failover)",
                             "requests")], [], {}
    proxy = view.proxy
    users = system.users
    target = variant_target(view.experiment, next(iter(users.values()), None))
    proxy.add_toxic(cfg.primary, {"name": _NAME, "type": "http_error",
                                  "attributes": {"status": cfg.status}})

    async def remove() -> None:
        if any(t.name == _NAME for t in proxy.toxics(cfg.primary)):
            proxy.remove_toxic(cfg.primary, _NAME)

    view.rollbacks.append((f"remove toxic {_NAME} from dependency {cfg.primary}", remove))
    rows: list[tuple[Sent, list[str]]] = []
    returned_s: float | None = None
    tries = 0
    try:
        for i in range(cfg.cases):
            sent = await _send(view, target, cfg, i, "fault", layer)
            await asyncio.sleep(0.02)  # the last call's record reaches the traffic log
            rows.append((sent, _chain(view, cfg, sent)))
        await remove()
        removed = time.monotonic()
        while time.monotonic() - removed < cfg.max_return_s:
            sent = await _send(view, target, cfg, tries, "return", layer)
            tries += 1
            if sent.calls > 0 and sent.result.error_class is None:
                returned_s = time.monotonic() - removed
                break
            await asyncio.sleep(cfg.return_interval_s)
        correlated = await _correlated(view, cfg, target, layer) if cfg.correlated else None
    finally:
        await remove()
        await target.aclose()
    checks, failing, metrics = _judge(cfg, base, rows, returned_s, tries)
    if correlated is not None:
        check, fail, outcome = _correlated_check(view, cfg, base, correlated)
        checks.append(check)
        failing += fail
        metrics["failover"]["correlated_outcome"] = outcome
    return checks, failing, metrics


async def _correlated(view: SuiteView, cfg: FailoverCheck, target: Target,
                      layer: int) -> Sent:
    deps = [cfg.primary, *cfg.fallbacks]
    names = [f"{_GROUP}_{d}" for d in deps]

    async def remove_group() -> None:
        for dep, name in zip(deps, names, strict=True):
            if any(t.name == name for t in view.proxy.toxics(dep)):
                view.proxy.remove_toxic(dep, name)

    view.rollbacks.append(("remove the correlated failover toxics", remove_group))
    for dep, name in zip(deps, names, strict=True):
        view.proxy.add_toxic(dep, {"name": name, "type": "http_error",
                                   "attributes": {"status": cfg.status}})
    try:
        return await _send(view, DeadlineTarget(target, cfg.correlated_timeout_s), cfg, 0,
                           "correlated", layer)
    finally:
        await remove_group()


def _correlated_check(view: SuiteView, cfg: FailoverCheck, base: str, sent: Sent
                      ) -> tuple[Check, list[FailingCase], str]:
    layer = view.experiment.layers.integration or IntegrationLayer()
    patterns = [re.compile(p, re.IGNORECASE) for p in layer.fallback_patterns]
    outcome = correlated_outcome(sent.result, patterns)
    ok = outcome in ("clean_error", "fallback")
    r = sent.result
    what = {"clean_error": f"clean error (HTTP {r.status})", "fallback": "graceful fallback",
            "hang": f"hang: no answer within {cfg.correlated_timeout_s:g} s",
            "crash": f"crash ({r.error_class}: {r.error})",
            "silent_failure": f"silent failure: 2xx answer {r.output[:60]!r} while every "
                              "deployment was down"}[outcome]
    deps = ", ".join(repr(d) for d in [cfg.primary, *cfg.fallbacks])
    check = Check(f"{base}.correlated", ok, 1.0 if ok else 0.0, "== 1", "requests",
                  f"{what}: {deps} all answered {cfg.status} at once", [] if ok else
                  [r.case_id], interval=exact(1.0 if ok else 0.0), decided=True)
    fail = [] if ok else [FailingCase(r.case_id, r.variant, r.input, r.output,
                                      f"correlated fault: {what}",
                                      f"add toxic http_error (status {cfg.status}) to {deps} "
                                      f"and send {r.input!r}")]
    return check, fail, outcome


def _judge(cfg: FailoverCheck, base: str, rows: list[tuple[Sent, list[str]]],
           returned_s: float | None, tries: int
           ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    n = len(rows)
    served = [s for s, chain in rows if s.result.error_class is None
              and any(d in cfg.fallbacks for d in chain)]
    attempts = [len(chain) for _, chain in rows]
    cyclic = [s for s, chain in rows if revisits(chain)]
    fallback_calls = sum(sum(d in cfg.fallbacks for d in chain) for _, chain in rows)
    metrics = {"primary": cfg.primary, "fallbacks": list(cfg.fallbacks), "requests": n,
               "served_by_fallback": len(served), "fallback_calls": fallback_calls,
               "attempts_max": max(attempts, default=0),
               "attempts_mean": sum(attempts) / n if n else None,
               "chains": [chain for _, chain in rows], "cyclic": len(cyclic),
               "return_to_primary_s": returned_s, "return_requests": tries}
    failing: list[FailingCase] = []

    def fail(sent: Sent, why: str) -> None:
        r = sent.result
        failing.append(FailingCase(r.case_id, r.variant, r.input, r.output, why,
                                   f"add toxic http_error (status {cfg.status}) to "
                                   f"{cfg.primary} and send {r.input!r}"))

    fb = ", ".join(repr(d) for d in cfg.fallbacks)
    for s, chain in rows:
        if s not in served:
            fail(s, "failover not exercised: no fallback served this request" if not any(
                d in cfg.fallbacks for d in chain) else
                f"fallback reached but the request failed ({s.result.error})")
    checks = [Check(f"{base}.served", len(served) == n, len(served), f"== {n}", "requests",
                    f"{len(served)}/{n} requests were served by a fallback ({fb}) while "
                    f"{cfg.primary!r} answered {cfg.status}" if fallback_calls else
                    f"failover not exercised: fallback {fb} saw no traffic while "
                    f"{cfg.primary!r} answered {cfg.status}",
                    [s.result.case_id for s, _ in rows if s not in served],
                    interval=exact(len(served)), decided=True)]
    worst = max(attempts, default=0)
    over = [s for (s, chain) in rows if len(chain) > cfg.max_attempts]
    for s in over:
        fail(s, f"{len(_chain_of(rows, s))} upstream attempts for one request (budget "
                f"{cfg.max_attempts}): {' -> '.join(_chain_of(rows, s))}")
    checks.append(Check(f"{base}.attempts", not over, worst, f"<= {cfg.max_attempts}",
                        "attempts", f"at most {worst} upstream attempts per request across "
                        f"primary and fallbacks (budget {cfg.max_attempts}; "
                        f"{len(over)}/{n} over)", [s.result.case_id for s in over],
                        interval=exact(worst), decided=True))
    for s in cyclic:
        fail(s, f"cyclic fallback: {' -> '.join(_chain_of(rows, s))}")
    checks.append(Check(f"{base}.cyclic", not cyclic, len(cyclic), "== 0", "requests",
                        f"{len(cyclic)}/{n} fallback chains revisited a deployment" if cyclic
                        else f"no fallback chain revisited a deployment ({n} requests)",
                        [s.result.case_id for s in cyclic], interval=exact(len(cyclic)),
                        decided=True))
    back = returned_s is not None
    checks.append(Check(
        f"{base}.return_to_primary", back, returned_s, f"<= {cfg.max_return_s:g}", "s",
        f"traffic back on {cfg.primary!r} {returned_s:.2f} s after the fault was removed"
        if returned_s is not None else
        f"traffic never returned to {cfg.primary!r} within {cfg.max_return_s:g} s of removing "
        f"the fault ({tries} requests, none reached it)",
        interval=exact(returned_s) if returned_s is not None else None,
        decided=True))
    return checks, failing, {"failover": metrics}


def _chain_of(rows: list[tuple[Sent, list[str]]], sent: Sent) -> list[str]:
    return next(chain for s, chain in rows if s is sent)
