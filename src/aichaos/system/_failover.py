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
  primary; fails when it never came back within ``max_return_s``.
"""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise
from typing import Any

from aichaos.config import FailoverCheck, SystemChecks
from aichaos.dataset import Case
from aichaos.results import Check, FailingCase
from aichaos.system._cache import exact, not_measured
from aichaos.system._view import Sent, SuiteView, send_as, variant_target
from aichaos.targets import NO_CACHE, Target

_NAME = "system_failover"


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
    finally:
        await remove()
        await target.aclose()
    return _judge(cfg, base, rows, returned_s, tries)


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
