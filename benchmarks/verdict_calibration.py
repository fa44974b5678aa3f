"""How sure are aichaos's verdicts? Simulated targets of known true rates, measured in one run.

Model (issue 12, item 3): a layer's true rate ``p`` is drawn uniformly from [0.5, 1.0]; each
case has its own pass probability ``p_i ~ Beta(p (1-rho)/rho, (1-p) (1-rho)/rho)`` (a
beta-binomial with intra-case correlation ``rho = 0.3``); each case is sent ``r = 3`` times and
its score is the mean of its requests. The estimand is ``p``, the system's rate on the
population of cases the dataset samples.

Printed, each beside its target:
  (a) coverage of the 95 % betting intervals at a fixed n, and at the adaptive stopping time;
  (b) wrongly decided checks (``rate >= 0.8`` decided pass while p < 0.8, or fail while
      p >= 0.8) and wrong firm grades (firm, but not the band of 100 p);
  (c) requests to decide the check adaptively vs the fixed-n design with the same error
      (adaptive = the stopping rule of aichaos.probes._adaptive, the one `runtime.confidence:
      decided` runs: look after every batch of ``runtime.batch_cases`` cases, bets tuned for
      min(pool, PLANNED_CASES_MAX) cases, stop at the first look where the check is decided,
      the pool being 2 x the fixed-n design):
      n sized by the usual power formula n = (z_0.975 + z_0.95)^2 sigma^2 / delta^2 for errors
      <= 5 % both ways at |p - 0.8| >= delta = 0.05, sigma^2 the case-score variance at p = 0.8
      (design effect of clustering included).

  (d) layer 6's knee test per step at the step length its power rule picks: flagged share
      at 0.8x, 1.0x, 1.25x and 2x overload (power at 1.25x and 2x), beside the old
      "shortfall > 3 sqrt N" rule at the old default 10 s steps.

Usage: python benchmarks/verdict_calibration.py [--sims 2000] [--seed 1] [--knee-only]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats

from aichaos.config import Runtime
from aichaos.load import Sample, StepResult, judge_step, size_step
from aichaos.probes._adaptive import PLANNED_CASES_MAX
from aichaos.scoring import rate_verdict
from aichaos.stats import (
    BettingCS,
    SequentialCheck,
    betting_interval,
    grade_range,
)

RHO, REPEATS, THRESHOLD, DELTA = 0.3, 3, 0.8, 0.05
FLOORS = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"))


def case_scores(rng: np.random.Generator, p: float, n: int) -> np.ndarray:
    """n case scores of a target with true rate p (beta-binomial, ICC RHO, REPEATS each)."""
    k = (1 - RHO) / RHO
    p_i = rng.beta(max(p * k, 1e-9), max((1 - p) * k, 1e-9), size=n)
    return np.asarray(rng.binomial(REPEATS, p_i) / REPEATS, dtype=float)


def fixed_n_design() -> int:
    """Cases for the fixed-n design (module docstring, item c)."""
    p = THRESHOLD
    var = p * (1 - p) * (1 + (REPEATS - 1) * RHO) / REPEATS
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.95)
    return math.ceil(z * z * var / DELTA**2)


def letter(p: float) -> str:
    return grade_range(100 * p, 100 * p, FLOORS)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fixed-cases", type=int, default=40,
                    help="n for the fixed-n coverage figure (a)")
    ap.add_argument("--knee-only", action="store_true", help="run part (d) only")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.knee_only:
        knee(rng)
        return
    n_fixed = fixed_n_design()
    budget = 2 * n_fixed
    batch = Runtime().batch_cases
    planned = min(budget, PLANNED_CASES_MAX)
    t0 = time.perf_counter()

    cover_fixed = cover_stop = wrong_decided = decided = 0
    firm = wrong_firm = 0
    requests_adaptive: list[int] = []
    checked = False
    for _ in range(args.sims):
        p = float(rng.uniform(0.5, 1.0))
        xs = case_scores(rng, p, budget)
        iv = betting_interval(xs[: args.fixed_cases])
        cover_fixed += iv.low <= p <= iv.high
        # incremental, and identical to the loop's rate_verdict(scores, planned=planned) on
        # the cases sent so far (checked on the first target below)
        check = SequentialCheck(THRESHOLD, planned=planned)
        grade_cs = BettingCS(planned=planned)
        used = 0
        for x in xs:
            used += 1
            d = check.update(float(x))
            grade_cs.update(float(x))
            if used % batch == 0 and d.decided:
                break
        if not checked:
            same = rate_verdict(xs[:used], THRESHOLD, planned=planned).interval
            assert (same.low, same.high) == (d.interval.low, d.interval.high), "loop rule"
            checked = True
        requests_adaptive.append(used * REPEATS)
        cover_stop += d.interval.low <= p <= d.interval.high
        if d.decided:
            decided += 1
            wrong_decided += (d.state == "pass") != (p >= THRESHOLD)
        g = grade_cs.interval
        best, worst = grade_range(100 * g.low, 100 * g.high, FLOORS)
        if best == worst:
            firm += 1
            wrong_firm += best != letter(p)

    sims = args.sims
    mean_adaptive = float(np.mean(requests_adaptive))
    fixed_requests = n_fixed * REPEATS
    print(f"verdict calibration: {sims} simulated targets, p ~ U[0.5, 1], ICC {RHO}, "
          f"{REPEATS} requests per case, check rate >= {THRESHOLD}, looks every {batch} "
          f"cases, bets tuned for {planned} "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"(a) coverage of 95% intervals at n={args.fixed_cases} cases: "
          f"{cover_fixed / sims:.3f}  (target 0.93-0.97)")
    print(f"    coverage at the adaptive stopping time: {cover_stop / sims:.3f}  "
          "(target 0.93-0.97)")
    print(f"(b) wrongly decided checks: {wrong_decided}/{decided} decided = "
          f"{wrong_decided / max(decided, 1):.3f}  (target <= 0.05); "
          f"decided {decided / sims:.3f} of checks within {budget} cases")
    print(f"    wrong firm grades: {wrong_firm}/{firm} firm = {wrong_firm / max(firm, 1):.3f}  "
          f"(target <= 0.05); firm {firm / sims:.3f} of grades after the check's cases")
    print(f"(c) requests to decide: adaptive mean {mean_adaptive:.0f} vs fixed-n "
          f"{fixed_requests} ({n_fixed} cases): ratio {mean_adaptive / fixed_requests:.2f}  "
          "(target <= 0.50)")
    knee(rng)
    drift(rng)


def queue(rng: np.random.Generator, rate: float, load: float, duration: float,
          servers: int) -> tuple[np.ndarray, np.ndarray]:
    """An M/G/c FIFO queue event by event (independent of aichaos's own simulator)."""
    n = rng.poisson(rate * duration)
    t = np.sort(rng.uniform(0, duration, n))
    s = rng.gamma(1 / 0.09, load * servers / rate * 0.09, n)
    free = np.zeros(servers)
    lat = np.empty(n)
    for i in range(n):
        j = int(np.argmin(free))
        free[j] = max(t[i], free[j]) + s[i]
        lat[i] = free[j] - t[i]
    return t, lat


def _step(t: np.ndarray, lat: np.ndarray, rate: float, duration: float) -> StepResult:
    """A measured step as layer 6 sees it: per-request samples, window counts."""
    done = int(((t + lat) < duration).sum())
    step = StepResult(index=0, profile="poisson", offered_rps=rate, users=256, warmup_s=0.0,
                      duration_s=duration, scheduled=int(t.size), window_completed=done,
                      window_ok=done)
    step.samples = [Sample(float(a), float(b), 200, None, None)
                    for a, b in zip(t, lat, strict=True)]
    return step


def _old_rule(step: StepResult) -> bool:
    """The knee rule layer 6 used before: achieved < 0.9 x scheduled and shortfall > 3 sqrt N."""
    short = step.scheduled - step.window_completed
    return (step.achieved_rps < 0.9 * step.scheduled_rps
            and short > 3 * math.sqrt(step.scheduled))


def knee(rng: np.random.Generator, trials: int = 100) -> None:
    """Layer 6's per-step overload test (aichaos.load.judge_step: exact Poisson throughput
    test + calibrated latency trend) at the step length its power rule picks
    (aichaos.load.size_step, cap 600 s), flagged share at loads 0.8, 1.0, 1.25 and 2.0; and
    the old rule (shortfall > 3 sqrt N) at the old default 10 s steps."""
    base = [float(x) for x in rng.gamma(1 / 0.09, 0.09, 30)]  # service times, ~1 s, CV 0.3
    print("(d) knee test per step (M/G/2 queue, service ~1 s, CV 0.3): share flagged "
          "overloaded; target >= 0.90 at 1.25x, <= 0.05 at <= 1.0x (union of both tests: "
          "<= 0.06 by Bonferroni)")
    for rate in (1.0, 4.0):
        sizing = size_step(rate, base, min_s=10.0, max_s=600.0)
        flagged, sustained, old = {}, {}, {}
        for load in (0.8, 1.0, 1.25, 2.0):
            hits = ok = old_hits = 0
            for _ in range(trials):
                t, lat = queue(rng, rate, load, sizing.duration_s, servers=2)
                verdict = judge_step(_step(t, lat, rate, sizing.duration_s), base).verdict
                hits += verdict == "overloaded"
                ok += verdict == "sustained"
                t10, lat10 = queue(rng, rate, load, 10.0, servers=2)
                old_hits += _old_rule(_step(t10, lat10, rate, 10.0))
            flagged[load], sustained[load], old[load] = (hits / trials, ok / trials,
                                                         old_hits / trials)
        print(f"    {rate:g} req/s, power rule picks {sizing.duration_s:g} s "
              f"({rate * sizing.duration_s:.0f} requests, simulated power "
              f"{sizing.power:.2f}): flagged "
              + ", ".join(f"{k:g}x {v:.2f}" for k, v in flagged.items())
              + f"; sustained at 0.8x {sustained[0.8]:.2f}")
        print(f"        knee power at 1.25x {flagged[1.25]:.2f} (target >= 0.90), at 2x "
              f"{flagged[2.0]:.2f}; false alarms at 1.0x {flagged[1.0]:.2f} (target <= 0.06)")
        print("        old rule at 10 s steps: flagged "
              + ", ".join(f"{k:g}x {v:.2f}" for k, v in old.items())
              + f" (1.25x called sustainable {1 - old[1.25]:.2f} of the time)")


def _watch_iteration(rng: np.random.Generator, case: dict[str, np.ndarray], i: int,
                     broken: bool) -> dict[str, dict[str, float]]:
    """One simulated watch iteration of 4 replayed cases (case-level values per metric)."""
    out: dict[str, dict[str, float]] = {m: {} for m in
                                        ("latency_s", "pass_rate", "error_rate", "refusal_rate",
                                         "hallucination_rate", "score", "output_length")}
    for j in range(len(case["p"])):
        key = f"c{j}"
        p = case["p"][j] * (0.6 if broken else 1.0)
        errored = rng.random() < case["e"][j]
        out["error_rate"][key] = float(errored)
        if errored:
            continue
        passed = rng.random() < p
        out["pass_rate"][key] = float(passed)
        out["score"][key] = float(rng.beta(1 + 8 * p, 1 + 8 * (1 - p)))
        out["latency_s"][key] = float(case["lat"][j] * rng.lognormal(0, 0.25)
                                      * (1.5 if broken else 1.0))
        out["refusal_rate"][key] = float(rng.random() < case["r"][j])
        out["hallucination_rate"][key] = float(rng.random() < case["h"][j])
        out["output_length"][key] = float(rng.poisson(20 * case["lat"][j]))
    return {m: v for m, v in out.items() if v}


def drift(rng: np.random.Generator, trials: int = 200, warmup: int = 10, horizon: int = 50
          ) -> None:
    """``watch``'s calibrated detectors on simulated replays of 4 cases per iteration.

    Each trial draws 4 cases (pass probability Beta(8, 1), refusal Beta(0.5, 20),
    hallucination Beta(0.5, 10), error Beta(0.3, 30), latency level lognormal(0, 0.3) with
    within-case noise lognormal(0, 0.25), score Beta around the pass probability, output
    length Poisson(20 x level)), runs a warm-up of 10 iterations and 50 more: under the null
    nothing changes; for power, after 10 of them every case's pass probability falls to 0.6x
    and latency rises 1.5x. Printed: the family-wise false-alarm rate over 50 iterations
    across the 7 watched metrics (target <= 0.05) beside the old design's (Page-Hinkley at a
    fixed 8 sigmas on 3 metrics, uncorrected), and the share of changes found within the 40
    iterations after them with the median delay.
    """
    from aichaos.drift import MetricDetector, PageHinkley, sidak

    t0 = time.perf_counter()
    family, old_family, found, delays = 0, 0, {"pass_rate": 0, "latency_s": 0}, []
    for trial in range(trials):
        case = {"p": rng.beta(8, 1, 4), "r": rng.beta(0.5, 20, 4), "h": rng.beta(0.5, 10, 4),
                "e": rng.beta(0.3, 30, 4), "lat": rng.lognormal(0, 0.3, 4)}
        for broken_from in (None, warmup + 11):
            first = _watch_iteration(rng, case, 1, False)
            per = sidak(0.05, len(first))
            dets = {m: MetricDetector(m, warmup, per, horizon, seed=trial) for m in first}
            old = {m: PageHinkley(d, warmup=warmup, threshold=8.0, sigma_floor=f)
                   for m, d, f in (("latency_s", "up", 0.02), ("pass_rate", "down", 0.05),
                                   ("error_rate", "up", 0.05))}
            alarmed, old_alarmed, hit_at = False, False, {}
            for i in range(1, warmup + horizon + 1):
                broken = broken_from is not None and i >= broken_from
                values = first if i == 1 else _watch_iteration(rng, case, i, broken)
                for m, v in values.items():
                    if m in dets and dets[m].update(i, v) is not None:
                        alarmed = True
                        if broken and m not in hit_at:
                            hit_at[m] = i - broken_from + 1
                    if broken_from is None and m in old and old[m].update(
                            sum(v.values()) / len(v)):
                        old_alarmed = True
            if broken_from is None:
                family += alarmed
                old_family += old_alarmed
            else:
                for m in found:
                    found[m] += m in hit_at
                delays.extend(hit_at[m] for m in found if m in hit_at)
    print(f"(e) watch drift detectors, {trials} simulated watches of 4 replayed cases, "
          f"warm-up {warmup}, {horizon} iterations, 7 metrics ({time.perf_counter() - t0:.1f} s)")
    print(f"    family-wise false-alarm rate over {horizon} iterations: {family / trials:.3f}  "
          f"(target <= 0.05); old fixed-threshold design on 3 metrics: "
          f"{old_family / trials:.3f}")
    print(f"    power within 40 iterations: pass rate x0.6 found {found['pass_rate'] / trials:.2f}"
          f", latency x1.5 found {found['latency_s'] / trials:.2f}; median delay "
          f"{float(np.median(delays)) if delays else float('nan'):.0f} iterations")


if __name__ == "__main__":
    main()
