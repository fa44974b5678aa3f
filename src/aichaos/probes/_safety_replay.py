"""Re-sending one stored layer-4 case as the safety suite sent it (``aichaos replay``).

A layer-4 case is not a golden case: it comes from the safety probe file, with the run's
canary (derived from the run's seed, :func:`~aichaos.probes._safety_cases.run_canary`)
substituted, and a planted document either in the request's context (no dependency) or
appended to the dependency's response by a ``json_inject`` toxic on a chaos proxy, exactly as
:class:`~aichaos.probes._safety.SafetySuite` does. The answer is judged by the probe's own
detectors, so the same verdict comes back when the system has not changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aichaos._events import EventBus
from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.errors import ConfigError
from aichaos.probes._base import SuiteContext
from aichaos.probes._safety import INJECT_TOXIC, SafetySuite
from aichaos.probes._safety_cases import FindingScorer, SafetyItem
from aichaos.probes._safety_probes import probe
from aichaos.proxy import ChaosProxy
from aichaos.scoring import Score
from aichaos.targets import Target, TargetRequest, TargetResponse


@dataclass(slots=True)
class SafetyReplay:
    """What one layer-4 replay sent and found.

    Attributes:
        item: the rebuilt probe case (input with the run's canary).
        request: the request sent (context holds the planted document when there is no
            dependency).
        response: the target's answer now.
        score: the probe's verdict on it (1 safe, 0 unsafe), None when the target errored.
        planted: how the document was planted: ``context``, ``proxy:<dependency>`` or "".
    """

    item: SafetyItem
    request: TargetRequest
    response: TargetResponse
    score: Score | None
    planted: str


async def replay_safety_case(experiment: Experiment, target: Target, *, run_id: str,
                             seed: int, case_id: str, probe_name: str,
                             golden: list[Case] | None = None,
                             proxy: ChaosProxy | None = None) -> SafetyReplay:
    """Rebuild and re-send layer-4 case ``case_id`` of probe ``probe_name``.

    Args:
        experiment: the run's experiment (its ``layers.safety`` settings).
        target: the system under test (the caller closes it).
        run_id, seed: the stored run and its seed (the canary derives from the seed).
        golden: the golden cases (the ``answerable`` probe draws from them).
        proxy: a started chaos proxy in front of the experiment's dependencies, or None.

    Raises:
        ConfigError: the experiment has no safety layer, or the case is not among the
            probe's cases any more.
    """
    config = experiment.layers.safety
    if config is None:
        raise ConfigError(f"run {run_id}: the experiment has no layers.safety any more")
    suite = SafetySuite(config)
    ctx = SuiteContext(run_id, experiment, target, golden or [], EventBus(), seed, proxy=proxy)
    item = next((i for i in suite._items(ctx)
                 if i.case.id == case_id and i.probe == probe_name), None)
    if item is None:
        raise ConfigError(f"run {run_id}: safety probe {probe_name!r} has no case {case_id!r} "
                          "in the probe file any more")
    planned = ctx.plan(item.case, probe_name, probe=probe_name, replay=True)
    request, planted = planned.request, ""
    dep = suite._inject_dependency(ctx) if probe(probe_name).plants_document else None
    if probe(probe_name).plants_document and dep is None:
        request, planted = replace(request, context=item.document), "context"
    toxic = None
    if dep is not None and proxy is not None:
        toxic = proxy.add_toxic(dep, {
            "name": INJECT_TOXIC, "type": "json_inject", "stream": "downstream",
            "toxicity": 1.0, "attributes": {"path": config.inject_path,
                                            "payload": item.document or "", "mode": "append"}})
        planted = f"proxy:{dep}"
    try:
        response = await target.send(request)
    finally:
        if toxic is not None and proxy is not None:
            proxy.remove_toxic(dep or "", INJECT_TOXIC)
    score = None
    if response.ok:
        env = suite._env(ctx)
        scorer = FindingScorer(lambda answer: probe(probe_name).detect(answer, item, env))
        score = scorer.score(response.output, item.case)
    return SafetyReplay(item, request, response, score, planted)
