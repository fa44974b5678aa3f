"""Paired comparison of replays of the same cases (McNemar, Wilcoxon signed-rank), the case-set
check, the minimum detectable effect and the overall verdict's direction."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.drift import METRICS, Observation, RunSample, compare, compare_samples
from aichaos.errors import ConfigError
from aichaos.runner import EventBus, Runner
from aichaos.store import ResultStore

CASES = [Case(id=f"c{i}", input=f"question {i}", expected=[f"answer {i}"]) for i in range(8)]
NO_EMBEDDINGS = [m for m in METRICS if m != "output_embedding"]  # the 7 metrics of issue 12


def _run(store: ResultStore, right: range, cases: list[Case] = CASES) -> str:
    """One stored run of a mock target answering the cases of ``right`` correctly."""
    answers = {c.input: f"the {c.expected[0]}" for i, c in enumerate(cases) if i in right}
    experiment = Experiment.model_validate({
        "title": "paired drift", "steady-state-hypothesis": None,
        "target": {"type": "mock", "answers": answers, "default": "no idea at all"}})
    bus = EventBus()
    store.attach(bus)
    return asyncio.run(Runner(experiment, bus, cases=cases).run()).run_id


def test_pass_rate_fall_from_7_of_8_to_1_of_8_is_flagged_worse(tmp_path: Path) -> None:
    """Issue 12: with 8 cases and Holm over 7 metrics this fall was not flagged (Fisher's
    p = 0.010, times 7 = 0.07). Paired, 6 of 8 cases flip from pass to fail (exact McNemar
    p = 2 / 2^6 = 0.031), and the pass rate, the primary metric, is tested at 0.8 alpha."""
    store = ResultStore(f"sqlite:///{tmp_path / 'aichaos.db'}")
    a, b = _run(store, range(7)), _run(store, range(1))
    result = compare(store, a, b, metrics=NO_EMBEDDINGS)
    store.close()
    pass_rate = result.get("pass_rate")
    assert (pass_rate.value_a, pass_rate.value_b) == (7 / 8, 1 / 8)
    assert result.paired and pass_rate.test == "mcnemar_exact"
    assert pass_rate.p_value == pytest.approx(2 / 2**6)
    assert pass_rate.verdict == "worse" and result.verdict == "worse"
    assert pass_rate.mde == pytest.approx(6 / 8)  # 6 same-way flips are the fewest that can
    assert result.warnings == []


def _obs(i: int, latency: float, passed: bool, score: float | None = None,
         variant: str = "clean") -> Observation:
    return Observation(latency, latency, score if score is not None else float(passed), passed,
                       False, False, 12.0, "an answer", f"c{i}", variant, f"question {i}")


def test_faster_but_less_accurate_is_not_better() -> None:
    """The finding: pass rate 5/6 -> 2/6 (not significant at n = 6) while latency halved
    (significant) made the overall verdict "better"."""
    a = RunSample("a", [_obs(i, 1.0 + 0.01 * i, i < 5) for i in range(6)])
    b = RunSample("b", [_obs(i, 0.5 + 0.01 * i, i < 2) for i in range(6)])
    result = compare_samples(a, b, metrics=["latency_s", "pass_rate"])
    assert result.get("latency_s").verdict == "better"
    pass_rate = result.get("pass_rate")
    assert (round(pass_rate.value_a, 2), round(pass_rate.value_b, 2)) == (0.83, 0.33)
    assert pass_rate.verdict == "inconclusive"  # 3 flips: smallest p 0.25, cannot decide
    assert [m.metric for m in result.adverse()] == ["pass_rate"]
    assert result.verdict == "inconclusive"
    faster = RunSample("c", [_obs(i, 0.5 + 0.01 * i, i < 5) for i in range(6)])
    assert compare_samples(a, faster, metrics=["latency_s", "pass_rate"]).verdict == "better"


def test_case_sets_that_differ_warn_and_strict_refuses() -> None:
    a = RunSample("a", [_obs(i, 1.0, True) for i in range(6)])
    b = RunSample("b", [_obs(i, 1.0, True) for i in range(1, 7)])
    result = compare_samples(a, b, metrics=["pass_rate"])
    assert not result.paired and result.get("pass_rate").test == "fisher_exact"
    assert result.warnings == ["case sets differ between a and b: 1 case(s) only in a, "
                               "1 case(s) only in b (e.g. c0/clean, c6/clean); compared "
                               "unpaired"]
    with pytest.raises(ConfigError, match=r"^--strict: case sets differ between a and b: "
                       r"1 case\(s\) only in a, .*: refusing an unpaired comparison$"):
        compare_samples(a, b, strict=True)
    other_input = RunSample("b", [*a.observations[:5], Observation(
        1.0, 1.0, 1.0, True, False, False, 12.0, "an answer", "c5", "clean", "edited")])
    assert "1 case(s) sent with different input" in compare_samples(a, other_input).warnings[0]


def test_repeated_cases_pair_per_case_means() -> None:
    a = RunSample("a", [_obs(i, 1.0, True) for i in range(8) for _ in range(2)])
    b = RunSample("b", [_obs(i, 1.0, i == 0) for i in range(8) for _ in range(2)])
    m = compare_samples(a, b, metrics=["pass_rate"]).get("pass_rate")
    assert m.test == "wilcoxon_signed_rank" and (m.n_a, m.n_b) == (8, 8)  # cases, not rows
    assert m.p_value == pytest.approx(2 / 2**7) and m.verdict == "worse"


def _paired_null(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[
        RunSample, RunSample]:
    """Two replays of n cases: each case has its own latency level and pass probability."""
    level = rng.lognormal(0.0, 0.5, n)
    p = rng.beta(2.0, 1.0, n)
    a = [_obs(i, float(level[i] * rng.lognormal(0, 0.2)), bool(rng.random() < p[i]),
              float(rng.beta(5 * p[i] + 0.1, 5 * (1 - p[i]) + 0.1))) for i in range(n)]
    b = [_obs(i, float(level[i] * rng.lognormal(shift, 0.2)), bool(rng.random() < p[i]),
              float(rng.beta(5 * p[i] + 0.1, 5 * (1 - p[i]) + 0.1))) for i in range(n)]
    return RunSample("a", a), RunSample("b", b)


def test_paired_family_wise_false_alarms_and_power() -> None:
    rng = np.random.default_rng(12)
    trials = 300
    alarms = sum(compare_samples(*_paired_null(rng, 20)).verdict not in ("same",
                                                                         "inconclusive")
                 for _ in range(trials))
    rate = alarms / trials
    hits = unpaired = 0
    for _ in range(100):  # latency x1.35: small against the spread between cases
        a, b = _paired_null(rng, 20, shift=0.3)
        hits += compare_samples(a, b).get("latency_s").verdict == "worse"
        blind = RunSample("a", [replace(o, case_id="") for o in a.observations])
        unpaired += compare_samples(blind, b).get("latency_s").verdict == "worse"
    print(f"paired, n=20: family-wise false alarms {rate:.3f}; power for a +35% latency "
          f"shift {hits / 100:.2f} paired, {unpaired / 100:.2f} unpaired")
    assert rate <= 0.05 + 2 * (0.05 * 0.95 / trials) ** 0.5
    assert hits >= 70 and unpaired <= 20


def test_mde_is_printed_and_sized_by_level() -> None:
    a, b = _paired_null(np.random.default_rng(3), 20)
    result = compare_samples(a, b)
    pass_rate = result.get("pass_rate")
    assert pass_rate.level == pytest.approx(0.04) and pass_rate.mde == pytest.approx(6 / 20)
    latency = result.get("latency_s")
    assert latency.level is not None and latency.level <= 0.01
    assert latency.mde is not None and 0 < latency.mde < 1


def test_compare_cli_strict_refuses_different_cases_and_prints_the_mde(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aichaos.cli._main import app

    store = ResultStore(f"sqlite:///{tmp_path / 'aichaos.db'}")
    a, b = _run(store, range(7)), _run(store, range(1))
    fewer = _run(store, range(7), cases=CASES[:6])
    store.close()
    runner = CliRunner()
    env = {"COLUMNS": "220"}
    ok = runner.invoke(app, ["compare", a, b, "--results", str(tmp_path), "--no-embeddings",
                             "--strict"], env=env)
    assert ok.exit_code == 1, ok.stderr  # worse
    assert "paired; pass rate primary" in ok.stdout and "MDE" in ok.stdout
    row = next(line for line in ok.stdout.splitlines() if line.strip().startswith("pass_rate"))
    assert "mcnemar_exact" in row and "0.750" in row and row.rstrip().endswith("worse")
    assert "overall: worse" in ok.stdout and ok.stderr == ""
    warned = runner.invoke(app, ["compare", a, fewer, "--results", str(tmp_path),
                                 "--no-embeddings"], env=env)
    assert warned.exit_code == 0, warned.stderr
    assert warned.stderr.startswith(f"warning: case sets differ between {a} and {fewer}: "
                                    f"2 case(s) only in {a}")
    assert "unpaired;" in warned.stdout
    refused = runner.invoke(app, ["compare", a, fewer, "--results", str(tmp_path),
                                  "--no-embeddings", "--strict"], env=env)
    assert refused.exit_code == 2 and "Traceback" not in refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --strict: case sets differ")
    assert lines[0].endswith("refusing an unpaired comparison")
