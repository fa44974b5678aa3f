"""Budgets: a declared token cap is enforced under load, and upstream spend stops.

A ``usage_meter`` toxic on the provider's proxy records the tokens every upstream response
reports. ``requests`` fresh prompts are sent as the budget's user in waves of
``concurrency`` concurrent requests (each wave after the previous one ended), with
``Cache-Control: no-cache``. From the meter, in the order responses ended: the moment the
cumulative tokens reached ``cap_tokens``, the total spent, and the largest single request.

Checks (layer 6, exact counts):

- ``<prefix>.budget.spend_stopped``: overshoot = total − cap tokens; passes when it is at
  most the tolerance of the requests already in flight, ``concurrency x`` the largest
  request's tokens (stated in the message);
- ``<prefix>.budget.refused``: requests sent after the response that reached the cap had
  ended (so in a later wave: the system had the usage) that were answered 2xx; passes at 0;
  clean refusals (an HTTP 4xx with a body) are counted.

Both are not measured when the requests never spent the cap (send more requests).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aichaos.config import BudgetCheck, SystemChecks
from aichaos.dataset import Case
from aichaos.faults import UsageMeter
from aichaos.results import Check, FailingCase
from aichaos.system._cache import exact, not_measured
from aichaos.system._view import Sent, SuiteView, send_as, variant_target
from aichaos.targets import NO_CACHE


async def budget(view: SuiteView, system: SystemChecks, *, prefix: str, layer: int
                 ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    """Layer 6: the cap is enforced and spend stops (module docstring).
    Returns ``(checks, failing cases, metrics)``."""
    base = f"{prefix}.budget"
    cfg: BudgetCheck | None = system.budget
    if cfg is None:
        return [not_measured(base, "not measured: no spend cap declared (system.budget)",
                             "tokens")], [], {}
    name = "system_usage_meter"
    meter = view.proxy.add_toxic(cfg.dependency, {"name": name, "type": "usage_meter"})
    assert isinstance(meter, UsageMeter)

    async def remove() -> None:
        if any(t.name == name for t in view.proxy.toxics(cfg.dependency)):
            view.proxy.remove_toxic(cfg.dependency, name)

    view.rollbacks.append((f"remove toxic {name} from dependency {cfg.dependency}", remove))
    target = variant_target(view.experiment, system.users[cfg.user])
    case = view.cases[0] if view.cases else Case(id="budget", input="hello")

    async def one(i: int) -> Sent:
        text = f"{case.input} (ref {view.run_id[:8]}-budget-{i})"
        return await send_as(view, target, case, text, "system.budget", layer=layer,
                             suite="system.budget", dependency=cfg.dependency,
                             headers=NO_CACHE)

    sent: list[Sent] = []
    try:
        for wave in range(0, cfg.requests, cfg.concurrency):
            last = min(cfg.requests, wave + cfg.concurrency)
            sent += await asyncio.gather(*(one(i) for i in range(wave, last)))
            await asyncio.sleep(0.01)  # the wave's usage reaches the meter
    finally:
        await remove()
        await target.aclose()
    return _judge(cfg, base, sent, sorted(meter.usage))


def _judge(cfg: BudgetCheck, base: str, sent: list[Sent],
           usage: list[tuple[float, str, int]]
           ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    total = sum(t for _, _, t in usage)
    largest = max((t for _, _, t in usage), default=0)
    tolerance = cfg.concurrency * largest
    reached_at = None
    running = 0
    for at, _, tokens in usage:
        running += tokens
        if running >= cfg.cap_tokens:
            reached_at = at
            break
    after = [s for s in sent if reached_at is not None and s.start > reached_at]
    answered = [s for s in after if s.result.error_class is None]
    clean = [s for s in after if s.result.error_class is not None and s.result.status
             is not None and 400 <= s.result.status < 500]
    metrics = {"budget": {"user": cfg.user, "cap_tokens": cfg.cap_tokens,
                          "spent_tokens": total, "upstream_calls": len(usage),
                          "largest_request_tokens": largest, "tolerance_tokens": tolerance,
                          "requests": len(sent), "after_cap": len(after),
                          "answered_after_cap": len(answered),
                          "refused_cleanly": len(clean)}}
    if reached_at is None:
        why = (f"not measured: {len(sent)} requests spent {total} tokens, under the cap of "
               f"{cfg.cap_tokens}; send more (system.budget.requests)")
        return ([not_measured(f"{base}.spend_stopped", why, "tokens"),
                 not_measured(f"{base}.refused", why, "requests")], [], metrics)
    overshoot = max(0, total - cfg.cap_tokens)
    stopped = overshoot <= tolerance
    checks = [Check(
        f"{base}.spend_stopped", stopped, overshoot, f"<= {tolerance}", "tokens",
        f"{total} tokens spent against a cap of {cfg.cap_tokens}: overshoot {overshoot} "
        f"(tolerance {tolerance} = concurrency {cfg.concurrency} x largest request "
        f"{largest})" + ("" if stopped else "; upstream spend did not stop at the cap"),
        interval=exact(overshoot), decided=True)]
    if not after:
        checks.append(not_measured(f"{base}.refused", "not measured: no request was sent "
                                   "after the cap was reached; send more", "requests"))
    else:
        checks.append(Check(
            f"{base}.refused", not answered, len(answered), "== 0", "requests",
            f"{len(answered)}/{len(after)} requests after the cap were still answered"
            if answered else f"{len(after)}/{len(after)} requests after the cap were refused"
            f" ({len(clean)} with a clean 4xx error)", [s.result.case_id for s in answered],
            interval=exact(len(answered)), decided=True))
    failing = [FailingCase(s.result.case_id, s.result.variant, s.result.input, s.result.output,
                           f"answered after the {cfg.cap_tokens}-token cap was spent",
                           f"send requests as {cfg.user!r} past the cap")
               for s in answered[:5]]
    return checks, failing, metrics
