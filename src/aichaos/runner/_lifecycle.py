"""The experiment lifecycle, after Chaos Toolkit:

validate -> steady-state hypothesis (before) -> method (one probe suite per enabled layer)
-> steady-state hypothesis (after) -> rollbacks (always) -> journal -> report.

If the hypothesis does not hold before the method, the method is skipped and the run is
``failed``. If it held before and not after, the run is ``deviated``. A failed rollback fails
the run. Cancellation (Ctrl-C, SIGTERM) marks the run ``interrupted``; rollbacks still run and
everything observed so far has already been published (and stored by the listeners).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from aichaos._events import (
    ActivityEnded,
    ActivityStarted,
    CaseResult,
    EventBus,
    ProxiesStarted,
    RunEnded,
    RunStarted,
    ToxicApplied,
    ToxicRemoved,
)
from aichaos.config import Experiment
from aichaos.dataset import Case, load_dataset
from aichaos.errors import AIChaosError, ConfigError, RollbackError
from aichaos.probes import (
    MIN_FIRM_SAMPLE,
    ProbeSuite,
    RunAborted,
    StoredCases,
    SuiteContext,
    suites,
)
from aichaos.proxy import ChaosProxy
from aichaos.results import LAYERS, LayerResult, Scorecard
from aichaos.runner._hypothesis import check_hypothesis
from aichaos.runner._journal import ActivityRecord, iso, new_journal
from aichaos.runner._masking import mask_failing_cases, secrets_of
from aichaos.targets import Target, build_target

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(slots=True)
class RunOutcome:
    """What a run produced. ``exit_code``: 0 hypothesis held, 1 failed/deviated/aborted,
    130 interrupted."""

    run_id: str
    journal: dict[str, Any]
    scorecard: Scorecard

    @property
    def exit_code(self) -> int:
        status = self.journal["status"]
        if status == "interrupted":
            return EXIT_INTERRUPTED
        if status != "completed" or self.journal["deviated"]:
            return EXIT_FAILED
        return EXIT_OK


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus 6 random hex digits."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def experiment_summary(experiment: Experiment, target: Target) -> dict[str, Any]:
    """Secret-free description of the experiment for journals, events and the store."""
    data = experiment.model_dump(mode="json", by_alias=True, exclude={"target"})
    data["target"] = target.describe()
    data["source"] = experiment.source
    if experiment.store.url:  # the database password never reaches journals or the store
        data["store"]["url"] = _without_password(experiment.store.url)
    return data


def _without_password(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: the store refuses it before anything is written
        return url.split(":", 1)[0] + ":..."


def validate_suites(experiment: Experiment, cases: list[Case],
                    only: Collection[str] | None = None) -> list[ProbeSuite]:
    """Build the enabled layers' suites and run each one's checks; nothing is sent.

    Args:
        experiment: the experiment.
        cases: its golden cases.
        only: layer keys to keep (``capability``, ...); None keeps every enabled layer.

    Raises:
        ConfigError: a layer cannot work as configured; the message starts with the
            experiment file when it is known.
    """
    try:
        run_suites = build_suites(experiment, only)
        for suite in run_suites:
            suite.validate(experiment, cases)
    except ConfigError as exc:
        source = experiment.source
        if source and not str(exc).startswith(source):
            raise type(exc)(f"{source}: {exc}") from exc
        raise
    return run_suites


def build_suites(experiment: Experiment,
                 only: Collection[str] | None = None) -> list[ProbeSuite]:
    """The probe suites of the enabled layers (those in ``only`` when given), in layer order.

    Raises:
        ConfigError: a layer is enabled whose suite is not available in this version.
    """
    out = []
    for number in sorted(LAYERS):
        key = LAYERS[number][0]
        config = getattr(experiment.layers, key)
        if config is None or not getattr(config, "enabled", True):
            continue
        if only is not None and key not in only:
            continue
        if key not in suites:
            raise ConfigError(
                f"layers.{key}: this aichaos version has no {LAYERS[number][1].lower()} suite yet"
            )
        out.append(suites.create(key, config=config))
    return out


class Runner:
    """Runs one experiment against its target, publishing events on ``bus``.

    Args:
        experiment: a validated experiment.
        bus: where events go (store, console, reports subscribe to it).
        target: an already-built target (tests, demo); built from the experiment otherwise.
        cases: golden cases; loaded from ``experiment.dataset`` otherwise.
        run_id: reuse a run id (default: a new one).
        layers: layer keys to run (a subset of the enabled ones); None runs every enabled one.
        resume: observations stored by an interrupted run of ``run_id``: a case of a
            resumable layer found among them is not sent again (see
            :data:`aichaos.probes.RESUMABLE_LAYERS`). The run publishes
            ``RunStarted(resumed=True)``.
        proxy_control: ``host:port`` on which the dependencies' chaos proxies serve their
            control API during the run (port 0 = a free port), so ``aichaos proxy traffic``
            and ``aichaos proxy toxic list`` can watch them; None for no control API. The
            address is published in :class:`aichaos.runner.ProxiesStarted`.
    """

    def __init__(self, experiment: Experiment, bus: EventBus, *, target: Target | None = None,
                 cases: list[Case] | None = None, run_id: str | None = None,
                 layers: Collection[str] | None = None,
                 resume: Iterable[CaseResult] | None = None,
                 proxy_control: str | None = None) -> None:
        self.experiment = experiment
        self.proxy_control = proxy_control
        self.bus = bus
        self.run_id = run_id or new_run_id()
        self._target = target
        self._cases = cases
        self.layers = None if layers is None else frozenset(layers)
        self.stored = None if resume is None else StoredCases(resume)
        self.scorecard = Scorecard()
        self._suite_failed = False  # a suite raised: the run cannot be "completed"

    def prepare(self) -> tuple[Target, list[Case], list[ProbeSuite]]:
        """Validate everything that can be checked before any request is sent.

        Raises:
            ConfigError: no dataset, unreadable dataset, unavailable suite, bad plugin.
        """
        if self._cases is None:
            if not self.experiment.dataset:
                where = f"{self.experiment.source}: " if self.experiment.source else ""
                raise ConfigError(f"{where}dataset: required field is missing (a golden "
                                  "dataset path)")
            self._cases = load_dataset(self.experiment.dataset)
        run_suites = validate_suites(self.experiment, self._cases, self.layers)
        target = self._target or build_target(self.experiment.target)
        return target, self._cases, run_suites

    async def run(self) -> RunOutcome:
        """Run the lifecycle. Never raises for failures of the system under test.

        Raises:
            ConfigError: bad experiment or dataset (nothing was sent).
            TargetUnreachable: nothing answers at the target (nothing was sent).
        """
        target, cases, run_suites = self.prepare()
        proxy = await self._start_proxy()
        try:
            await target.check()
            for suite in run_suites:  # network checks that send no probe (MCP servers)
                await suite.preflight(self.experiment)
            return await self._run(target, cases, run_suites, proxy)
        finally:
            await asyncio.shield(target.aclose())
            if proxy is not None:
                await asyncio.shield(proxy.stop())

    async def _start_proxy(self) -> ChaosProxy | None:
        """Start the chaos proxy in front of every dependency (None when there are none).

        Each dependency's proxy listens on its ``listen`` address (the system under test must
        be configured to call it), or on a free loopback port when none is given.

        Raises:
            ProxyError: a listen port is in use or an upstream does not accept connections.
        """
        deps = self.experiment.dependencies
        if not deps:
            return None
        proxy = ChaosProxy(seed=self.experiment.runtime.seed, control=self.proxy_control)
        proxy.toxic_listeners.append(self._toxic_changed)
        try:
            for name, dep in deps.items():
                await proxy.add_proxy(name, dep.listen or "127.0.0.1:0", dep.upstream)
            await proxy.start()
        except BaseException:
            await proxy.stop()
            raise
        self.bus.publish(ProxiesStarted(self.run_id, proxy.control_url, {
            p.name: {"listen": f"{p.host}:{p.port}", "upstream": p.upstream}
            for p in proxy.proxies.values()}))
        return proxy

    def _toxic_changed(self, dependency: str, name: str, toxic: dict[str, Any] | None) -> None:
        if toxic is None:
            self.bus.publish(ToxicRemoved(self.run_id, dependency, name))
        else:
            self.bus.publish(ToxicApplied(self.run_id, dependency, toxic))

    async def _run(self, target: Target, cases: list[Case], run_suites: list[ProbeSuite],
                   proxy: ChaosProxy | None) -> RunOutcome:
        exp = self.experiment
        summary = experiment_summary(exp, target)
        journal = new_journal(self.run_id, summary)
        ctx = SuiteContext(self.run_id, exp, target, cases, self.bus, exp.runtime.seed,
                           exp.runtime.concurrency, proxy=proxy, stored=self.stored)
        if proxy is not None:
            async def remove_all_toxics() -> None:
                proxy.reset()
                if any(p.toxics for p in proxy.proxies.values()):
                    raise RollbackError("toxics still active after reset")

            ctx.rollbacks.append(("remove every toxic from the chaos proxy", remove_all_toxics))
        self.bus.publish(RunStarted(self.run_id, exp.title, exp.runtime.seed, summary,
                                    resumed=self.stored is not None))
        started = time.time()
        status = "completed"
        try:
            status = await self._steps(ctx, journal, run_suites)
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = "interrupted"
        except RunAborted as exc:
            status = "aborted"
            journal["run"].append({"status": "aborted", "exception": [str(exc)]})
        finally:
            rollback_ok = await asyncio.shield(self._rollbacks(ctx, journal))
            if (not rollback_ok or self._suite_failed) and status == "completed":
                status = "failed"
            journal["status"] = status
            journal["end"] = iso(time.time())
            journal["duration"] = round(time.time() - started, 3)
            mask_failing_cases(self.scorecard, secrets_of(self.experiment),
                               pii=self.experiment.store.mask_pii)
            journal["aichaos"] = {"run_id": self.run_id, "scorecard": self.scorecard.to_dict()}
            self.bus.publish(RunEnded(self.run_id, status, journal["deviated"], journal,
                                      journal["aichaos"]["scorecard"]))
        return RunOutcome(self.run_id, journal, self.scorecard)

    async def _steps(self, ctx: SuiteContext, journal: dict[str, Any],
                     run_suites: list[ProbeSuite]) -> str:
        hypothesis = self.experiment.steady_state_hypothesis
        if hypothesis is not None:
            before = await self._hypothesis(ctx, "before")
            journal["steady_states"]["before"] = before
            if not before["steady_state_met"]:
                return "failed"
        for suite in run_suites:
            journal["run"].append(await self._suite(ctx, suite))
        if hypothesis is not None:
            after = await self._hypothesis(ctx, "after")
            journal["steady_states"]["after"] = after
            journal["deviated"] = not after["steady_state_met"]
        return "completed"

    async def _hypothesis(self, ctx: SuiteContext, when: str) -> dict[str, Any]:
        hypothesis = self.experiment.steady_state_hypothesis
        assert hypothesis is not None
        name = f"steady-state-hypothesis.{when}"
        self.bus.publish(ActivityStarted(self.run_id, name, "hypothesis",
                                         min(hypothesis.sample, len(ctx.cases))))
        t0 = time.perf_counter()
        result = await check_hypothesis(ctx, hypothesis, when)
        status = "succeeded" if result["steady_state_met"] else "failed"
        self.bus.publish(ActivityEnded(self.run_id, name, "hypothesis", status,
                                       time.perf_counter() - t0, result["reason"]))
        return result

    async def _suite(self, ctx: SuiteContext, suite: ProbeSuite) -> dict[str, Any]:
        record = ActivityRecord("probe", f"layer{suite.layer}.{suite.name}", layer=suite.layer)
        self.bus.publish(ActivityStarted(self.run_id, record.name, "probe",
                                         suite.planned_count(ctx)))
        t0 = time.perf_counter()
        try:
            result = await suite.run(ctx)
        except (asyncio.CancelledError, KeyboardInterrupt, RunAborted) as exc:
            partial = getattr(exc, "partial", None)  # what a suite finished before the stop
            if isinstance(partial, LayerResult):
                self.scorecard.set(partial)
            self.bus.publish(ActivityEnded(self.run_id, record.name, "probe", "interrupted",
                                           time.perf_counter() - t0))
            raise
        except AIChaosError as exc:
            self._suite_failed = True
            self.scorecard.set(LayerResult(suite.layer, note=f"not measured: {exc}"))
            self.bus.publish(ActivityEnded(self.run_id, record.name, "probe", "failed",
                                           time.perf_counter() - t0, str(exc)))
            return record.finish("failed", error=str(exc))
        sent = ctx.sent[suite.layer]
        # layer 6 judges its own sample (load requests bypass send_one; see ScaleSuite)
        # a layer that reports per-case scores counts its independent cases itself
        if result.score is not None and suite.layer != 6 and sent < MIN_FIRM_SAMPLE \
                and result.case_scores is None:
            caution = (f"based on only {sent} requests: the grade is indicative, not a firm "
                       "verdict; raise the layer's limit for one")
            result.note = f"{result.note}; {caution}" if result.note else caution
        self.scorecard.set(result)
        self.bus.publish(ActivityEnded(self.run_id, record.name, "probe", "succeeded",
                                       time.perf_counter() - t0))
        return record.finish("succeeded", output={"score": result.score, "grade": result.grade,
                                                  "metrics": result.metrics})

    async def _rollbacks(self, ctx: SuiteContext, journal: dict[str, Any]) -> bool:
        """Run every registered rollback, newest first; return False if any failed."""
        ok = True
        for name, action in reversed(ctx.rollbacks):
            record = ActivityRecord("action", name)
            self.bus.publish(ActivityStarted(self.run_id, name, "rollback"))
            try:
                await action()
            except Exception as exc:  # a failed rollback fails the run, it never hides
                ok = False
                journal["rollbacks"].append(record.finish("failed", error=repr(exc)))
                self.bus.publish(ActivityEnded(self.run_id, name, "rollback", "failed", 0.0,
                                               repr(exc)))
                continue
            journal["rollbacks"].append(record.finish("succeeded"))
            self.bus.publish(ActivityEnded(self.run_id, name, "rollback", "succeeded", 0.0))
        ctx.rollbacks.clear()
        return ok
