"""Drift end to end: runs of the real SmolLM2 compared from the store.

Three runs of 8 golden cases: a baseline, an identical repeat, and a run whose completion
budget (max_tokens) was cut from 24 to 6 tokens, truncating every answer. With answer length
declared "higher is better" (truncation), the cut run must come out ``worse`` on answer
length and ``better`` on latency (fewer tokens to generate), and ``same`` on errors and
refusals; the identical repeat must be ``same`` on every output metric (temperature 0 makes
SmolLM2 deterministic; latency depends on the machine's load and is reported, not asserted).
The false-alarm rate is measured by re-splitting the pooled identical runs at random
(exchangeable under the null hypothesis) and comparing the halves.

(A system prompt asking the model to ignore the question, and temperatures 1.6 and 2.0, were
tried first: SmolLM2-135M keeps answering from the context, so no metric moved at n = 8.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from aichaos.config import Experiment
from aichaos.dataset import load_dataset
from aichaos.drift import (
    RunSample,
    baseline_for,
    compare,
    compare_samples,
    pin_baseline,
    resolve_run,
    run_sample,
)
from aichaos.runner import EventBus, Runner
from aichaos.scoring import embed
from aichaos.store import ResultStore
from tests_support import ROOT

pytestmark = pytest.mark.e2e
CASES = load_dataset(ROOT / "src" / "aichaos" / "demo" / "datasets" / "support.yaml")[:8]
GOOD = ("You are the customer support assistant of Northwind Gadgets. Answer the customer's "
        "question in one or two sentences using only the facts in the context.")


def _run(store: ResultStore, llm: str, system_prompt: str, **target: object) -> str:
    experiment = Experiment.model_validate({
        "title": "support drift",
        "target": {"type": "openai", "base_url": llm, "model": "smollm2-135m-instruct",
                   "stream": True, "max_tokens": 24, "temperature": 0.0,
                   "system_prompt": system_prompt, "timeout_s": 60, **target},
        "steady-state-hypothesis": None,
        "layers": {"capability": {"scorer": {"type": "semantic", "threshold": 0.35}}},
        "runtime": {"concurrency": 2},
    })
    bus = EventBus()
    store.attach(bus)
    return asyncio.run(Runner(experiment, bus, cases=CASES).run()).run_id


def _split_false_alarms(a: RunSample, b: RunSample, trials: int, seed: int = 7) -> tuple[
        float, dict[str, float]]:
    """Pool two same-configuration runs, split at random into two halves, compare."""
    pooled_obs = a.observations + b.observations
    assert a.embeddings is not None and b.embeddings is not None
    pooled_emb = np.concatenate([a.embeddings, b.embeddings])
    rng = np.random.default_rng(seed)
    n = len(a.observations)
    any_alarm = 0
    per_metric: dict[str, int] = {}
    for t in range(trials):
        idx = rng.permutation(len(pooled_obs))
        left, right = idx[:n], idx[n:]
        sa = RunSample("left", [pooled_obs[i] for i in left], a.length_unit, pooled_emb[left])
        sb = RunSample("right", [pooled_obs[i] for i in right], a.length_unit,
                       pooled_emb[right])
        result = compare_samples(sa, sb, seed=t)
        # an alarm claims a change; "inconclusive" (a material effect this n cannot test,
        # e.g. pass rate 2/8 vs 3/8) claims none
        alarms = [m.metric for m in result.metrics if m.verdict in ("worse", "better",
                                                                     "changed")]
        any_alarm += bool(alarms)
        for m in alarms:
            per_metric[m] = per_metric.get(m, 0) + 1
    return any_alarm / trials, {k: v / trials for k, v in per_metric.items()}


def test_truncated_answers_are_worse_identical_run_is_same(
        llm_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'drift.db'}")
    base = _run(store, llm_server, GOOD)
    repeat = _run(store, llm_server, GOOD)
    changed = _run(store, llm_server, GOOD, max_tokens=6)

    assert pin_baseline(store, base) == "support drift"
    assert baseline_for(store, "support drift") == base
    assert resolve_run(store, "baseline", experiment_of=changed) == base

    directions: dict[str, str | None] = {"output_length": "higher"}
    worse = compare(store, base, changed, directions=directions)
    same = compare(store, base, repeat, directions=directions)
    with capsys.disabled():
        for result in (worse, same):
            print(f"\n{result.run_b} vs {result.run_a}: {result.verdict}")
            for m in result.metrics:
                print(f"  {m.metric:17} {m.test:19} A={m.value_a} B={m.value_b} "
                      f"effect={m.effect} p={m.p_value} p_holm={m.p_adjusted} -> {m.verdict}")

    assert worse.verdict == "worse"
    length = worse.get("output_length")
    assert length.verdict == "worse" and length.value_b == 6.0
    # paired (Wilcoxon on 8 cases): the smallest p is 2 / 2^8 = 0.0078, then the family step
    assert worse.paired and length.p_adjusted is not None and length.p_adjusted < 0.05
    latency = worse.get("latency_s")  # fewer tokens: faster (significance depends on load)
    assert latency.value_b is not None and latency.value_a is not None
    assert latency.value_b < latency.value_a and latency.verdict in ("better", "same",
                                                                     "inconclusive")
    for metric in ("error_rate", "refusal_rate", "pass_rate"):
        assert worse.get(metric).verdict in ("same", "inconclusive"), metric

    for m in same.metrics:
        if m.metric not in ("latency_s", "ttft_s"):
            assert m.verdict == "same" and m.p_value == 1.0, m

    a = run_sample(store, base).embed(embed)
    b = run_sample(store, repeat).embed(embed)
    rate, per_metric = _split_false_alarms(a, b, trials=200)
    with capsys.disabled():
        print(f"\nfalse-alarm rate over 200 random splits of two identical runs: {rate:.3f} "
              f"(per metric: {per_metric})")
    assert rate <= 0.10
    store.close()
