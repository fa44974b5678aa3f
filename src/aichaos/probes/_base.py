"""Probe suites: one per readiness layer. A suite builds cases, sends them, and scores them.

Suites register by name in :data:`suites` with their layer. The runner gives each suite a
:class:`SuiteContext` that sends planned cases concurrently, scores answers off the event
loop, publishes :class:`~aichaos.runner.CaseSent` / :class:`~aichaos.runner.CaseObserved`
events, and enforces the experiment's abort tolerance.
"""

from __future__ import annotations

import abc
import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from aichaos._events import CaseObserved, CaseResult, CaseResumed, CaseSent, EventBus
from aichaos._registry import Registry
from aichaos.config import Budget, Experiment
from aichaos.dataset import Case
from aichaos.errors import AIChaosError
from aichaos.probes._adaptive import RateCheck, Sampled, Sender, sample_until_decided
from aichaos.probes._resume import StoredCases
from aichaos.proxy import ChaosProxy
from aichaos.results import LayerResult
from aichaos.scoring import Scorer
from aichaos.targets import Target, TargetRequest


class RunAborted(AIChaosError):
    """The run crossed the experiment's abort tolerance (``runtime.abort``)."""


class SpendCapReached(RunAborted):
    """Sending one more request would pass the run's hard cap ``runtime.max_requests``."""


#: below this many independent cases (requests, for a layer without per-case scores) a
#: layer's grade gets a caution note: a 95% interval for a proportion is then wider than
#: +/-25 points at best (Brown, Cai & DasGupta 2001)
MIN_FIRM_SAMPLE = 10


def case_count_note(cases: int, what: str = "") -> str:
    """The small-sample caution, counted in independent cases ("" at or above the floor)."""
    if cases >= MIN_FIRM_SAMPLE:
        return ""
    where = f" for {what}" if what else ""
    return (f"based on only {cases} independent cases{where}: the grade is indicative, not a "
            "firm verdict; add cases (or raise the layer's limit or budget) for one")

@dataclass(slots=True)
class PlannedCase:
    """A case ready to send: the request plus the condition (variant) that shaped it."""

    case: Case
    request: TargetRequest
    variant: str = "clean"
    seed: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    scorer: Scorer | None = None  # overrides the suite's default scorer for this case


Rollback = Callable[[], Awaitable[None]]


@dataclass
class SuiteContext:
    """What a probe suite may use. ``rollbacks`` collects undo actions the runner always runs."""

    run_id: str
    experiment: Experiment
    target: Target
    cases: list[Case]
    bus: EventBus
    seed: int
    concurrency: int = 2
    rollbacks: list[tuple[str, Rollback]] = field(default_factory=list)
    observed: int = 0
    errors: int = 0
    on_progress: Callable[[int], None] | None = None
    #: the chaos proxy in front of the experiment's dependencies (None when it has none)
    proxy: ChaosProxy | None = None
    #: findings one suite leaves for later ones in the same run, e.g.
    #: ``retry_amplification`` (upstream calls per user request under faults, from layer 3)
    #: that the layer-6 cost model multiplies in
    facts: dict[str, Any] = field(default_factory=dict)
    #: requests sent per layer (every send, whatever the abort rule counts)
    sent: Counter[int] = field(default_factory=Counter)
    #: observations of the interrupted run this one resumes (``aichaos run --resume``):
    #: :meth:`send_one` takes a matching one instead of sending the case again
    stored: StoredCases | None = None
    #: requests really sent to the target (resumed ones excluded), for ``runtime.max_requests``
    total_sent: int = 0

    def plan(self, case: Case, variant: str = "clean", text: str | None = None,
             **metadata: Any) -> PlannedCase:
        """A :class:`PlannedCase` for ``case`` (``text`` replaces its input when given)."""
        request = TargetRequest(
            input=case.input if text is None else text,
            context=case.context,
            case_id=case.id,
            metadata={"variant": variant, **metadata},
        )
        return PlannedCase(case, request, variant, self.seed, metadata)

    async def send_all(
        self,
        planned: Sequence[PlannedCase],
        *,
        layer: int,
        suite: str,
        scorer: Scorer | None,
        pass_threshold: float = 0.5,
    ) -> list[CaseResult]:
        """Send every planned case (``concurrency`` at a time) and score the answers.

        Results come back in ``planned`` order. A case whose target call failed gets
        ``passed=False`` and ``score=0.0`` when a scorer is given.

        Raises:
            RunAborted: the share of errored cases so far left ``runtime.abort.error_rate``
                (checked once at least 10 cases were observed).
        """
        sem = asyncio.Semaphore(self.concurrency)
        results: list[CaseResult | None] = [None] * len(planned)

        async def one(i: int, item: PlannedCase) -> None:
            async with sem:
                results[i] = await self.send_one(item, layer=layer, suite=suite, scorer=scorer,
                                                 pass_threshold=pass_threshold)

        try:
            async with anyio.create_task_group() as tg:
                for i, item in enumerate(planned):
                    tg.start_soon(one, i, item)
        except BaseExceptionGroup as group:  # surface the first real error, not the group
            raise _first_leaf(group) from None
        return [r for r in results if r is not None]

    async def send_one(self, item: PlannedCase, *, layer: int, suite: str,
                       scorer: Scorer | None, pass_threshold: float = 0.5,
                       count_errors: bool = True) -> CaseResult:
        """Send one planned case, score it, publish its events, and check the abort rule.

        ``count_errors=False`` keeps the case out of the abort rule's error rate: errors
        under a fault injected on purpose (layer 3) are the measurement, not a reason to stop.
        """
        self._check_abort()
        if self.stored is not None:
            resumed = self.stored.take(layer, suite, item.case.id, item.variant)
            if resumed is not None:
                return self._resumed(resumed, count_errors)
        cap = self.experiment.runtime.max_requests
        if cap is not None and self.total_sent >= cap:
            raise SpendCapReached(f"runtime.max_requests: the run's hard cap of {cap} requests "
                                  "is spent; nothing more is sent")
        self.bus.publish(CaseSent(self.run_id, layer, suite, item.case.id, item.variant))
        self.sent[layer] += 1
        self.total_sent += 1
        resp = await self.target.send(item.request)
        passed: bool | None = None
        value: float | None = None
        scores: dict[str, float] = {}
        explanation = resp.error
        scorer = item.scorer or scorer
        if scorer is not None:
            if resp.ok:
                verdict = await anyio.to_thread.run_sync(scorer.score, resp.output, item.case)
                value, passed = verdict.value, verdict.passed and verdict.value >= pass_threshold
                scores[scorer.name] = verdict.value
                explanation = verdict.explanation
            else:
                value, passed = 0.0, False
        result = CaseResult(
            run_id=self.run_id, layer=layer, suite=suite, case_id=item.case.id,
            variant=item.variant, input=item.request.input, expected=item.case.expected,
            output=resp.output, passed=passed, score=value, scores=scores,
            error_class=resp.error_class, error=resp.error, status=resp.status,
            e2e_s=resp.e2e_s, ttft_s=resp.ttft_s, input_tokens=resp.input_tokens,
            output_tokens=resp.output_tokens, finish_reason=resp.finish_reason,
            seed=item.seed, metadata={**item.metadata, "explanation": explanation,
                                      "itl_s": resp.itl_s,
                                      "token_source": resp.token_source},
        )
        self.bus.publish(CaseObserved(result))
        if count_errors:
            self.observed += 1
            self.errors += 0 if resp.ok else 1
        if self.on_progress is not None:
            self.on_progress(1)
        self._check_abort()
        return result

    async def send_until_decided(
        self,
        planned_by_case: Mapping[str, Sequence[PlannedCase]],
        checks: Sequence[RateCheck],
        budget: Budget,
        *,
        layer: int,
        suite: str,
        scorer: Scorer | None = None,
        pass_threshold: float = 0.5,
        send: Sender | None = None,
    ) -> Sampled:
        """Send cases (grouped by case id) until ``checks`` are decided or ``budget`` is spent.

        ``runtime.confidence: decided`` draws the groups in a seeded order, a few at a time,
        and stops at the first look where every check is decided; ``fixed`` sends them all in
        the given order. Both stop at ``budget`` and at ``runtime.max_requests`` without
        sending past them (see :mod:`aichaos.probes._adaptive`).

        Args:
            planned_by_case: case id -> its planned requests (repeats, variants).
            checks: the layer's rate checks.
            budget: the layer's budget (``aichaos.probes._adaptive.layer_budget``).
            layer, suite, scorer, pass_threshold: as for :meth:`send_all`.
            send: sends one batch instead of :meth:`send_all` (e.g. one at a time).

        Raises:
            RunAborted: the abort tolerance was crossed.
        """
        async def default(items: list[PlannedCase]) -> list[CaseResult]:
            return await self.send_all(items, layer=layer, suite=suite, scorer=scorer,
                                       pass_threshold=pass_threshold)

        return await sample_until_decided(self, planned_by_case, checks, budget,
                                          send=send or default, salt=f"layer{layer}.{suite}")

    def _resumed(self, result: CaseResult, count_errors: bool) -> CaseResult:
        """Count a stored observation as if it had just been made, without sending it."""
        self.sent[result.layer] += 1
        self.bus.publish(CaseResumed(result))
        if count_errors:
            self.observed += 1
            self.errors += 1 if result.error_class else 0
        if self.on_progress is not None:
            self.on_progress(1)
        self._check_abort()
        return result

    def _check_abort(self) -> None:
        tolerance = self.experiment.runtime.abort.error_rate
        if tolerance is None or self.observed < 10:
            return
        rate = self.errors / self.observed
        if not tolerance.holds(rate):
            raise RunAborted(
                f"error rate {rate:.0%} over {self.observed} cases left runtime.abort.error_rate "
                f"({tolerance.describe()})"
            )


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


class ProbeSuite(abc.ABC):
    """A layer's probe suite. Subclasses set ``layer`` and ``name`` and implement :meth:`run`."""

    layer: int = 0
    name: str = ""
    spec: tuple[str, dict[str, Any]] = ("", {})
    judged: str = "its layer's score (0..100) and checks, each with its failing cases"

    def planned_count(self, ctx: SuiteContext) -> int | None:
        """How many cases :meth:`run` will send (for progress bars), when known."""
        return None

    def validate(self, experiment: Experiment, cases: list[Case]) -> None:
        """Check everything that can be checked before any request is sent (plugin names,
        references to dependencies). ``aichaos validate`` and ``aichaos run`` call it.

        Raises:
            ConfigError: the layer's configuration cannot work.
        """

    async def preflight(self, experiment: Experiment) -> None:
        """Checks that need the network but send no probe (e.g. that an MCP server speaks
        MCP); ``aichaos run`` calls it before the steady-state hypothesis.

        Raises:
            ConfigError, TargetError: the layer cannot work against what is running.
        """

    @abc.abstractmethod
    async def run(self, ctx: SuiteContext) -> LayerResult:
        """Run the suite and score the layer. Failures of the target are observations."""


suites: Registry[ProbeSuite] = Registry("probe suite", listed=True)
