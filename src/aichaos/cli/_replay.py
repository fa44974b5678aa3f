"""``aichaos replay``: re-send one stored case under the same condition and compare."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aichaos.config import Experiment, load_experiment
from aichaos.dataset import Case, load_dataset
from aichaos.errors import ConfigError
from aichaos.perturb import perturbations, to_transport
from aichaos.proxy import ChaosProxy
from aichaos.scoring import Score, build_scorer
from aichaos.store import ResultStore
from aichaos.targets import TargetRequest, TargetResponse, build_target


@dataclass
class Replay:
    """A replayed case: what was sent, what came back now, and what the stored run saw."""

    case: Case
    variant: str
    sent: str
    response: TargetResponse
    score: Score | None
    stored: dict[str, Any]
    #: what the replay re-installed: a layer-3 toxic (``toxic NAME (TYPE) on DEP``) or where a
    #: layer-4 probe's document went (``context``, ``proxy:<dep>``); "" for neither
    planted: str = ""


def _stored_case(store: ResultStore, run_id: str, case_id: str, variant: str) -> dict[str, Any]:
    rows = store.cases(run_id, case_id=case_id, variant=variant)
    if not rows:
        raise ConfigError(f"run {run_id}: no stored case {case_id!r} with variant {variant!r}")
    return rows[-1]


def _experiment_of(store: ResultStore, run_id: str) -> Experiment:
    row = store.run(run_id)
    if row is None:
        raise ConfigError(f"run {run_id}: not found in {store.safe_url}")
    source = json.loads(row["experiment"] or "{}").get("source")
    if not source or not Path(source).is_file():
        raise ConfigError(f"run {run_id}: its experiment file {source!r} is no longer there")
    return load_experiment(source)


async def replay_case(store: ResultStore, run_id: str, case_id: str, variant: str) -> Replay:
    """Re-send ``case_id`` of ``run_id`` under ``variant``.

    The input is rebuilt, not read back from the store (stored prompts may be masked): a
    perturbation is re-applied from its recorded spec and seed; a toxic is re-installed on a
    chaos proxy in front of its dependency (from the experiment's ``dependencies``); a layer-4
    case is rebuilt from the safety probe file with the run's canary, its document planted
    again, and judged by the probe's detectors.

    Raises:
        ConfigError: unknown run, case or variant, or the experiment file is gone.
    """
    run_id = store.resolve(run_id)  # an id, a unique prefix of one, or 'latest'
    experiment = _experiment_of(store, run_id)
    stored = _stored_case(store, run_id, case_id, variant)
    metadata = json.loads(stored["metadata"] or "{}")
    if stored["layer"] == 4 and metadata.get("probe"):
        return await _replay_safety(store, experiment, run_id, stored, metadata, variant)
    if not experiment.dataset:
        raise ConfigError(f"run {run_id}: the experiment has no dataset")
    case = next((c for c in load_dataset(experiment.dataset) if c.id == case_id), None)
    if case is None:
        raise ConfigError(f"{experiment.dataset}: case {case_id!r} is no longer in the dataset")
    text = case.input
    spec = metadata.get("spec")
    if isinstance(spec, list) and len(spec) == 2 and spec[0] in perturbations:
        text = to_transport(perturbations.create(spec[0], **spec[1]).apply(case.input).text)
    proxy = await _start_proxies(experiment, stored["seed"] or experiment.runtime.seed)
    planted = ""
    toxic = _toxic_of(experiment, stored["layer"], variant, metadata)
    if toxic is not None and proxy is not None:
        dependency, spec = toxic
        proxy.add_toxic(dependency, spec)
        planted = f"toxic {spec['name']} ({spec['type']}) on {dependency}"
    target = build_target(experiment.target)
    try:
        response = await target.send(TargetRequest(text, case.context, case.id,
                                                   {"variant": variant, "replay": True}))
    finally:
        await target.aclose()
        if proxy is not None:
            await proxy.stop()
    score = None
    if response.ok and experiment.layers.capability is not None:
        scorer = build_scorer(case.scorer or experiment.layers.capability.scorer)
        score = scorer.score(response.output, case)
    return Replay(case, variant, text, response, score, stored, planted=planted)


async def _start_proxies(experiment: Experiment, seed: int) -> ChaosProxy | None:
    """The experiment's chaos proxies on their ``listen`` addresses (the system under test
    calls those), started for every replay so the system reaches its dependencies as in the
    run; None without dependencies."""
    if not experiment.dependencies:
        return None
    proxy = ChaosProxy(seed=seed)
    for name, dep in experiment.dependencies.items():
        await proxy.add_proxy(name, dep.listen or "127.0.0.1:0", dep.upstream)
    await proxy.start()
    return proxy


def _toxic_of(experiment: Experiment, layer: int, variant: str,
              metadata: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``(dependency, Toxiproxy-shaped spec)`` of the toxic that shaped a layer-3 case: the
    recorded one, else the experiment's toxic of that name (the variant is its name)."""
    recorded = metadata.get("toxic")
    if isinstance(recorded, dict) and experiment.dependencies:
        dependency = str(recorded.get("dependency", next(iter(experiment.dependencies))))
        return dependency, {k: v for k, v in recorded.items() if k != "dependency"}
    integration = experiment.layers.integration
    if layer != 3 or integration is None or not experiment.dependencies:
        return None
    from aichaos.probes._integration import IntegrationSuite

    for spec, name in IntegrationSuite(integration)._named(set(experiment.dependencies)):
        if name == variant:
            return spec.dependency, spec.proxy_spec(name)
    return None


async def _replay_safety(store: ResultStore, experiment: Experiment, run_id: str,
                         stored: dict[str, Any], metadata: dict[str, Any],
                         variant: str) -> Replay:
    """A layer-4 case: rebuilt from the safety probe file, its document planted again."""
    from aichaos.probes import replay_safety_case

    row = store.run(run_id) or {}
    seed = int(stored["seed"] if stored["seed"] is not None else
               row.get("seed") or experiment.runtime.seed)
    golden = load_dataset(experiment.dataset) if experiment.dataset else []
    proxy = await _start_proxies(experiment, seed)
    target = build_target(experiment.target)
    try:
        found = await replay_safety_case(experiment, target, run_id=run_id, seed=seed,
                                         case_id=stored["case_id"],
                                         probe_name=str(metadata["probe"]), golden=golden,
                                         proxy=proxy)
    finally:
        await target.aclose()
        if proxy is not None:
            await proxy.stop()
    return Replay(found.item.case, variant, found.request.input, found.response, found.score,
                  stored, planted=found.planted)


def run_replay(store: ResultStore, run_id: str, case_id: str, variant: str) -> Replay:
    """Synchronous wrapper around :func:`replay_case`."""
    return asyncio.run(replay_case(store, run_id, case_id, variant))
