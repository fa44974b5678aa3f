"""Adaptive sampling: draw cases until every rate check is decided or the budget is spent.

With ``runtime.confidence: decided`` a layer hands its planned requests, grouped by case, to
:func:`sample_until_decided` (through :meth:`SuiteContext.send_until_decided`). The groups are
drawn in a seeded order (a shuffle seeded by ``runtime.seed``, the layer and the suite), a
few cases (``runtime.batch_cases``) at a time; after each batch every :class:`RateCheck` gets
its verdict from :func:`aichaos.scoring.rate_verdict`, the betting confidence sequence over
per-case scores (Waudby-Smith & Ramdas 2023). Sampling stops as soon as every check is
decided (its interval excludes its threshold), when the cases run out, or when the layer's
:class:`~aichaos.config.Budget` (requests, seconds, tokens, USD) or the run's hard cap
``runtime.max_requests`` is reached; a check still open then stays open and says why.

Peeking after every batch keeps the error rate at alpha because the sequence is valid at
every sample size at once; the bets are tuned for ``planned`` cases, fixed before the first
score (the check's pool, at most :data:`PLANNED_CASES_MAX`, or fewer when the request budget
allows fewer), and the final
interval is computed with the same ``planned``, so the reported verdict is the one the
stopping rule saw. With ``confidence: fixed`` every group is sent in the dataset's order
(one batch unless a budget or the cap applies) and the interval is the fixed-n one.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aichaos._events import CaseResult
from aichaos.config import Budget, Experiment
from aichaos.errors import ConfigError
from aichaos.scoring import Verdict, case_scores, rate_verdict
from aichaos.stats._sequential import Direction

#: the most cases the bets are tuned for (``n*`` of :mod:`aichaos.stats._confseq`): the
#: sequence is tightest near ``n*``, and a check that can be decided is decided long before a
#: large pool runs out (benchmarks/verdict_calibration.py: requests to decide vs fixed-n,
#: 0.39 at n* = 150 against 0.51 at n* = the whole 888-case pool)
PLANNED_CASES_MAX = 200

#: a planned request (``aichaos.probes.PlannedCase``; typed loosely so this module stays
#: below ``_base``, which imports it)
PlannedCase = Any
Pair = tuple[PlannedCase, CaseResult]
Sender = Callable[[list[PlannedCase]], Awaitable[list[CaseResult]]]
ScoresOf = Callable[[Sequence[Pair]], Mapping[str, float]]


class SuiteContext(Protocol):
    """What sampling reads from ``aichaos.probes.SuiteContext``."""

    experiment: Experiment
    seed: int
    total_sent: int


def default_scores(pairs: Sequence[Pair]) -> Mapping[str, float]:
    """Per-case scores of the sent requests (:func:`aichaos.scoring.case_scores`)."""
    return case_scores(r for _, r in pairs)


@dataclass(frozen=True)
class RateCheck:
    """A check on a rate over cases that sampling tries to decide.

    Attributes:
        name: the check's name (``capability.accuracy``).
        threshold: its bound on the mean per-case score, in [0, 1].
        direction: ``at_least`` (pass rate) or ``at_most`` (bad-event rate).
        scores: the check's per-case scores from the pairs sent so far (a case id absent
            from the mapping did not inform the check).
        groups: the group keys (case ids) that can inform it; None: every group.
    """

    name: str
    threshold: float
    direction: Direction = "at_least"
    scores: ScoresOf = default_scores
    groups: frozenset[str] | None = None

    def informed_by(self, key: str) -> bool:
        return self.groups is None or key in self.groups


@dataclass(slots=True)
class Spend:
    """What a layer spent while sampling: requests, wall seconds, tokens and USD."""

    requests: int = 0
    seconds: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass(slots=True)
class Sampled:
    """What :func:`sample_until_decided` sent and where its checks stand.

    Attributes:
        pairs: every request sent, with its plan, in send order.
        verdicts: check name -> verdict on the cases sent (absent: nothing informed it).
        planned: check name -> the ``planned`` the bets used (None: fixed-n).
        stopped: why sampling ended: ``decided``, ``all cases sent``, ``budget: ...`` or
            ``cap: runtime.max_requests``.
        spent: what the sampling spent.
        cases_sent, cases_planned: groups sent and groups available.
        mode: ``decided`` or ``fixed``.
    """

    pairs: list[Pair] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    planned: dict[str, int | None] = field(default_factory=dict)
    stopped: str = "all cases sent"
    spent: Spend = field(default_factory=Spend)
    cases_sent: int = 0
    cases_planned: int = 0
    mode: str = "fixed"

    @property
    def results(self) -> list[CaseResult]:
        return [r for _, r in self.pairs]

    @property
    def budget_hit(self) -> bool:
        return self.stopped.startswith(("budget", "cap"))

    def summary(self) -> dict[str, object]:
        """The sampling record for ``LayerResult.details['sampling']``."""
        return {"mode": self.mode, "stopped": self.stopped, "cases_sent": self.cases_sent,
                "cases_planned": self.cases_planned, "requests": self.spent.requests,
                "seconds": round(self.spent.seconds, 3), "tokens": self.spent.tokens,
                "cost_usd": self.spent.cost_usd,
                "open": sorted(n for n, v in self.verdicts.items() if not v.decided)}

    def open_note(self) -> str:
        """A caution naming the checks left open by a spent budget ("" otherwise)."""
        still = sorted(n for n, v in self.verdicts.items() if not v.decided)
        if not still or not self.budget_hit:
            return ""
        return (f"sampling stopped ({self.stopped}) after {self.cases_sent}/"
                f"{self.cases_planned} cases with {', '.join(still)} still open")


def request_tokens(result: CaseResult) -> int:
    """Tokens of one request: the reported usage, else characters / 4 (rounded up)."""
    tin = result.input_tokens if result.input_tokens is not None else \
        math.ceil(len(result.input) / 4)
    tout = result.output_tokens if result.output_tokens is not None else \
        math.ceil(len(result.output) / 4)
    return int(tin) + int(tout)


def price_per_token(experiment: Experiment) -> tuple[float, float] | None:
    """USD per input and per output token of the experiment's declared model, or None.

    The model is ``runtime.price_model``, else ``layers.scale.price_model``; its price comes
    from ``layers.scale.pricing`` or the built-in table of :mod:`aichaos.load` (the layer-6
    cost model).

    Raises:
        ConfigError: a model is named that neither table prices.
    """
    from aichaos.load import ModelPrice, lookup_price

    scale = experiment.layers.scale
    model = experiment.runtime.price_model or (scale.price_model if scale else None)
    if model is None:
        return None
    table = None
    if scale is not None and scale.pricing:
        from aichaos.load import DEFAULT_PRICES

        table = {**DEFAULT_PRICES, **{k: ModelPrice(v.input_per_mtok, v.output_per_mtok)
                                      for k, v in scale.pricing.items()}}
    price = lookup_price(model, table)
    return price.input_per_mtok / 1e6, price.output_per_mtok / 1e6


def layer_budget(experiment: Experiment, own: Budget | None) -> Budget:
    """``runtime.budget`` with the layer's own ``budget`` fields laid over it.

    Raises:
        ConfigError: a ``cost_usd`` budget without a priced model.
    """
    budget = experiment.runtime.budget.merged(own)
    if budget.cost_usd is not None and price_per_token(experiment) is None:
        raise ConfigError("budget.cost_usd: needs a priced model (runtime.price_model or "
                          "layers.scale.price_model)")
    return budget


def seeded_order(keys: Sequence[str], seed: int, salt: str) -> list[str]:
    """``keys`` shuffled by a generator seeded with ``seed`` and ``salt`` (reproducible)."""
    out = list(keys)
    random.Random(f"{seed}:{salt}").shuffle(out)
    return out


async def sample_until_decided(
    ctx: SuiteContext,
    planned_by_case: Mapping[str, Sequence[PlannedCase]],
    checks: Sequence[RateCheck],
    budget: Budget,
    *,
    send: Sender,
    salt: str,
) -> Sampled:
    """Send groups of planned requests until the checks are decided or the budget is spent.

    Args:
        ctx: the suite context (mode, seed, batch size, hard cap and counters).
        planned_by_case: case id -> that case's requests, in the dataset's order.
        checks: the rate checks to decide.
        budget: the layer's budget (:func:`layer_budget`).
        send: sends a batch of requests and returns their results in order.
        salt: the seeded order's salt (``layer<N>.<suite>``).

    Returns:
        The :class:`Sampled` record; its verdicts use the same ``planned`` as the stopping
        rule.

    Raises:
        RunAborted: from ``send`` (the abort tolerance).
    """
    runtime = ctx.experiment.runtime
    decided_mode = runtime.confidence == "decided"
    keys = list(planned_by_case)
    order = seeded_order(keys, ctx.seed, salt) if decided_mode else keys
    out = Sampled(cases_planned=len(keys), mode=runtime.confidence)
    price = price_per_token(ctx.experiment) if budget.cost_usd is not None else None
    for check in checks:
        pool = sum(1 for k in keys if check.informed_by(k))
        if decided_mode and pool:
            per_case = max(1, max(len(planned_by_case[k]) for k in keys))
            affordable = budget.requests // per_case if budget.requests else pool
            out.planned[check.name] = max(1, min(pool, affordable, PLANNED_CASES_MAX))
        else:
            out.planned[check.name] = None
    started = time.monotonic()
    bounded = decided_mode or any(v is not None for v in budget.model_dump().values()) or \
        runtime.max_requests is not None
    batch = runtime.batch_cases if bounded else max(1, len(order))
    i = 0
    while i < len(order):
        if decided_mode and out.verdicts and _all_decided(out, checks):
            out.stopped = "decided"
            break
        reason = _budget_spent(out.spent, budget)
        if reason:
            out.stopped = reason
            break
        chosen: list[str] = []
        limit = ""
        room = _room(ctx, out.spent, budget)
        size = batch
        if budget.seconds is not None and out.cases_sent:
            # no more cases than the seconds left hold at the pace so far (at least one)
            pace = (time.monotonic() - started) / out.cases_sent
            size = max(1, min(batch, int((budget.seconds - out.spent.seconds) / pace)))
        while i < len(order) and len(chosen) < size:
            key = order[i]
            if decided_mode and not _wanted(key, out, checks):
                i += 1
                continue
            need = len(planned_by_case[key])
            if room is not None and need > room[0]:
                limit = room[1]
                break
            chosen.append(key)
            if room is not None:
                room = (room[0] - need, room[1])
            i += 1
        if not chosen:
            out.stopped = (_limit_reason(limit, ctx, out.spent, budget) if limit else
                           "decided" if decided_mode and _all_decided(out, checks) else
                           "all cases sent")
            break
        items = [p for k in chosen for p in planned_by_case[k]]
        results = await send(items)
        out.pairs += list(zip(items, results, strict=True))
        out.cases_sent += len(chosen)
        out.spent.requests += len(results)
        tokens = [request_tokens(r) for r in results]
        out.spent.tokens += sum(tokens)
        if price is not None:
            out.spent.cost_usd += sum(
                (r.input_tokens or math.ceil(len(r.input) / 4)) * price[0]
                + (r.output_tokens or math.ceil(len(r.output) / 4)) * price[1]
                for r in results)
        out.spent.seconds = time.monotonic() - started
        _update_verdicts(out, checks)
        if limit:
            out.stopped = _limit_reason(limit, ctx, out.spent, budget)
            break
    else:
        out.stopped = ("decided" if decided_mode and out.verdicts
                       and _all_decided(out, checks) else "all cases sent")
    out.spent.seconds = time.monotonic() - started
    _update_verdicts(out, checks)
    return out


def _update_verdicts(out: Sampled, checks: Sequence[RateCheck]) -> None:
    for check in checks:
        scores = check.scores(out.pairs)
        if not scores:
            continue
        out.verdicts[check.name] = rate_verdict(scores, check.threshold, check.direction,
                                                planned=out.planned.get(check.name))


def _all_decided(out: Sampled, checks: Sequence[RateCheck]) -> bool:
    return all(out.verdicts[c.name].decided if c.name in out.verdicts else False
               for c in checks if out.planned.get(c.name) is not None)


def _wanted(key: str, out: Sampled, checks: Sequence[RateCheck]) -> bool:
    """Whether a case can still inform an open check (an unsent check is open)."""
    return any(c.informed_by(key) and not (c.name in out.verdicts and
                                           out.verdicts[c.name].decided) for c in checks)


def _budget_spent(spent: Spend, budget: Budget) -> str:
    if budget.seconds is not None and spent.seconds >= budget.seconds:
        return f"budget: {spent.seconds:.0f} s of {budget.seconds:g} s spent"
    if budget.tokens is not None and spent.tokens >= budget.tokens:
        return f"budget: {spent.tokens} tokens of {budget.tokens} spent"
    if budget.cost_usd is not None and spent.cost_usd >= budget.cost_usd:
        return f"budget: ${spent.cost_usd:.4f} of ${budget.cost_usd:g} spent"
    if budget.requests is not None and spent.requests >= budget.requests:
        return f"budget: {spent.requests} requests of {budget.requests} spent"
    return ""


def _room(ctx: SuiteContext, spent: Spend, budget: Budget) -> tuple[int, str] | None:
    """Requests that may still be sent, with the limit that bounds them (None: no limit)."""
    limits: list[tuple[int, str]] = []
    if budget.requests is not None:
        limits.append((budget.requests - spent.requests, "budget"))
    cap = ctx.experiment.runtime.max_requests
    if cap is not None:
        limits.append((cap - ctx.total_sent, "cap"))
    return min(limits, key=lambda x: x[0]) if limits else None


def _limit_reason(kind: str, ctx: SuiteContext, spent: Spend, budget: Budget) -> str:
    if kind == "cap":
        return f"cap: runtime.max_requests ({ctx.experiment.runtime.max_requests}) reached"
    return f"budget: {spent.requests} requests of {budget.requests} spent"
