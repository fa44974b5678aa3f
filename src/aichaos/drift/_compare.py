"""Statistical comparison of two stored runs: a verdict per metric with p-values.

Run A is the reference (the baseline), run B the candidate. When both runs replayed the same
cases (same case ids, variants and inputs; ``aichaos.drift._pairing``), each metric is
tested pair by pair (McNemar, Wilcoxon signed-rank; ``aichaos.drift._paired``); otherwise
the comparison warns, compares the two samples unpaired (``aichaos.drift._stats``), and
``strict=True`` refuses. Each metric gets an effect size, a p-value, its smallest attainable
p-value, the multiplicity-adjusted p-value (pass rate primary, Tarone-pruned Holm;
``aichaos.drift._family``), the minimum detectable effect at its level, and a verdict:

- ``better`` / ``worse``: rejected at ``alpha`` by the multiplicity step and the effect is
  beyond the negligible bound, in the metric's good / bad direction (latency, error and
  refusal rates: lower is better; score and pass rate: higher is better);
- ``changed``: the same evidence for a metric without a good direction (output length, output
  embeddings), or a change of shape without a shift (Kolmogorov-Smirnov significant, Cliff's
  delta negligible);
- ``inconclusive``: a non-negligible effect that this n cannot test (its smallest attainable
  p-value is above its level), e.g. a score falling 1.0 -> 0.0 on 6 cases;
- ``same``: no evidence of a change;
- ``n/a``: fewer than 3 values on a side.

The comparison's overall verdict is ``worse`` if any metric is worse, else ``changed`` if any
changed, else ``better`` if any is better **and no metric with a good direction moved the
wrong way by a non-negligible effect** (a faster but less accurate run is not "better": that
was the case of a pass rate falling 0.83 -> 0.33 on 6 cases, not significant, while latency
fell significantly; such a mixed move is ``inconclusive``), else ``inconclusive`` if any
metric is, else ``same``. Only ``worse``, ``better`` and ``changed`` claim a change.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aichaos.drift._family import primary_tarone_holm
from aichaos.drift._paired import compare_paired_continuous, compare_paired_rates, mde
from aichaos.drift._pairing import case_set_difference, paired_values, spread
from aichaos.drift._sample import Observation, RunSample, sample_from_rows
from aichaos.drift._stats import (
    COHEN_H_SMALL,
    SampleTest,
    cohens_h,
    compare_continuous,
    compare_embeddings,
    compare_rates,
)
from aichaos.errors import ConfigError
from aichaos.store import ResultStore

#: metric -> (kind, good direction: "lower", "higher" or None)
METRICS: dict[str, tuple[str, str | None]] = {
    "latency_s": ("continuous", "lower"),
    "ttft_s": ("continuous", "lower"),
    "score": ("continuous", "higher"),
    "pass_rate": ("rate", "higher"),
    "error_rate": ("rate", "lower"),
    "refusal_rate": ("rate", "lower"),
    "output_length": ("continuous", None),
    "output_embedding": ("embedding", None),
}
VERDICTS = ("better", "same", "worse", "changed", "inconclusive", "n/a")
#: the metric tested first, with most of alpha (``aichaos.drift._family``)
PRIMARY = "pass_rate"


@dataclass(slots=True)
class MetricComparison:
    """One metric compared between run A (reference) and run B.

    Attributes:
        metric: name (``latency_s``, ``pass_rate``, ...).
        kind: ``continuous``, ``rate`` or ``embedding``.
        value_a, value_b: medians (continuous), rates (rate) or None (embedding).
        n_a, n_b: values on each side.
        test, p_value, effect, effect_name: see :class:`aichaos.drift._stats.SampleTest`.
        p_adjusted: the smallest alpha at which the multiplicity step rejects the metric.
        verdict: one of :data:`VERDICTS`.
        unit: unit of the values (``s``, ``ratio``, ``tokens``/``words``, ``0..1``).
        material: the effect is beyond its negligible bound.
        paired: tested pair by pair (n_a = n_b = cases on both sides).
        min_p: the smallest p-value the test could reach at this n.
        level: the level (share of alpha) the metric was tested at.
        mde: minimum detectable effect at ``level`` in ``unit`` (``inf``: nothing can be
            detected at this n; None: not computed).
    """

    metric: str
    kind: str
    value_a: float | None
    value_b: float | None
    n_a: int
    n_b: int
    test: str
    p_value: float | None
    effect: float | None
    effect_name: str
    p_adjusted: float | None = None
    verdict: str = "n/a"
    unit: str = ""
    material: bool = False
    paired: bool = False
    min_p: float = 0.0
    level: float | None = None
    mde: float | None = None
    spread: float | None = None


@dataclass(slots=True)
class Comparison:
    """The comparison of run B against run A: per-metric results and an overall verdict."""

    run_a: str
    run_b: str
    alpha: float
    metrics: list[MetricComparison] = field(default_factory=list)
    paired: bool = False
    warnings: list[str] = field(default_factory=list)
    directions: dict[str, str | None] = field(default_factory=dict)

    def adverse(self) -> list[MetricComparison]:
        """Metrics with a good direction that moved the wrong way by a non-negligible effect
        without being decided ``worse`` (what keeps the overall verdict from ``better``)."""
        out = []
        for m in self.metrics:
            good = self.directions.get(m.metric, METRICS[m.metric][1])
            if (good is not None and m.effect is not None and m.material
                    and m.verdict in ("same", "inconclusive")
                    and (m.effect < 0) == (good == "higher") and m.effect != 0):
                out.append(m)
        return out

    @property
    def verdict(self) -> str:
        got = {m.verdict for m in self.metrics}
        for v in ("worse", "changed"):
            if v in got:
                return v
        if "better" in got:
            return "inconclusive" if self.adverse() else "better"
        return "inconclusive" if "inconclusive" in got else "same"

    def get(self, metric: str) -> MetricComparison:
        """The result of ``metric``.

        Raises:
            KeyError: the metric was not compared.
        """
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise KeyError(metric)

    def to_dict(self) -> dict[str, Any]:
        return {"run_a": self.run_a, "run_b": self.run_b, "alpha": self.alpha,
                "verdict": self.verdict, "paired": self.paired, "warnings": self.warnings,
                "adverse": [m.metric for m in self.adverse()],
                "metrics": [{k: (None if isinstance(v, float) and math.isinf(v) else v)
                             for k, v in asdict(m).items() if k != "spread"}
                            for m in self.metrics]}


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _continuous(name: str, a: Sequence[float], b: Sequence[float], unit: str, paired: bool
                ) -> MetricComparison:
    if paired:
        r = compare_paired_continuous(a, b)
        sd = spread([y - x for x, y in zip(a, b, strict=True)])
    else:
        r = compare_continuous(a, b)
        sa, sb = spread(a), spread(b)
        sd = None if sa is None or sb is None else math.sqrt((sa * sa + sb * sb) / 2.0)
    m = _row(name, "continuous", _median(a), _median(b), len(a), len(b), r, unit, paired)
    m.spread = sd
    return m


def _rate(name: str, a: Sequence[float], b: Sequence[float], paired: bool, binary: bool
          ) -> MetricComparison:
    va = sum(a) / len(a) if a else None
    vb = sum(b) / len(b) if b else None
    if paired and binary:
        r = compare_paired_rates([bool(x) for x in a], [bool(x) for x in b])
    elif paired:  # repeated cases: each case's own rate, signed-rank
        w = compare_paired_continuous(a, b)
        h = cohens_h(va, vb) if va is not None and vb is not None else None
        r = SampleTest(w.test, w.p_value, h, "cohens_h",
                       h is not None and abs(h) >= COHEN_H_SMALL, w.min_p)
    else:
        r = compare_rates(round(sum(a)), len(a), round(sum(b)), len(b))
    return _row(name, "rate", va, vb, len(a), len(b), r, "ratio", paired and binary)


def _row(name: str, kind: str, va: float | None, vb: float | None, na: int, nb: int,
         r: SampleTest, unit: str, paired: bool = False) -> MetricComparison:
    return MetricComparison(name, kind, va, vb, na, nb, r.test, r.p_value, r.effect,
                            r.effect_name, unit=unit, material=r.material, paired=paired,
                            min_p=r.min_p)


def _verdict(m: MetricComparison, rejected: bool, testable: bool, direction: str | None
             ) -> str:
    if m.test == "none":
        return "n/a"
    significant = rejected if m.p_value is not None else m.test == "wasserstein"
    if not significant or not m.material:
        shape_only = m.test == "kolmogorov_smirnov" and significant
        if shape_only:
            return "changed"
        return "inconclusive" if m.material and not testable else "same"
    if direction is None or not m.effect:
        return "changed"
    up = m.effect > 0
    return "better" if up == (direction == "higher") else "worse"


def _getter(name: str, a: RunSample, b: RunSample) -> tuple[Callable[[Observation], Any], str]:
    """How to read metric ``name`` off an observation, and its unit."""
    if name == "latency_s":
        return (lambda o: o.e2e_s), "s"
    if name == "ttft_s":
        return (lambda o: o.ttft_s), "s"
    if name == "score":
        return (lambda o: o.score), "0..1"
    if name == "pass_rate":
        return (lambda o: o.passed), "ratio"
    if name == "error_rate":
        return (lambda o: o.errored), "ratio"
    if name == "refusal_rate":
        return (lambda o: o.refused), "ratio"
    if a.length_unit == b.length_unit:
        return (lambda o: o.length), a.length_unit
    # compare like with like
    return (lambda o: None if o.length is None else float(len(o.output.split()))), "words"


def compare_samples(a: RunSample, b: RunSample, *, alpha: float = 0.05,
                    metrics: Sequence[str] | None = None, seed: int = 0,
                    directions: dict[str, str | None] | None = None,
                    strict: bool = False) -> Comparison:
    """Compare two run samples (embeddings are compared only when both were embedded).

    Paired tests when both samples replayed the same cases, else unpaired tests and a
    warning in ``Comparison.warnings`` (module docstring). ``directions`` overrides a
    metric's good direction (``higher``, ``lower`` or None), e.g. ``{"output_length":
    "higher"}`` when shorter answers mean truncation.

    Raises:
        ConfigError: an unknown metric name or direction, ``alpha`` outside (0, 1), or
            ``strict`` and the case sets differ.
    """
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha: expected a value in (0, 1), got {alpha}")
    wanted = list(metrics or METRICS)
    unknown = [m for m in wanted if m not in METRICS]
    if unknown:
        raise ConfigError(f"metrics: unknown {', '.join(unknown)}; known: {', '.join(METRICS)}")
    good = {name: spec[1] for name, spec in METRICS.items()}
    for name, direction in (directions or {}).items():
        if name not in METRICS or direction not in ("higher", "lower", None):
            raise ConfigError(f"direction {name}={direction}: expected a metric of "
                              f"{', '.join(METRICS)} and higher or lower")
        good[name] = direction
    difference = case_set_difference(a, b)
    paired = difference is None
    warnings = []
    if difference is not None:
        message = (f"case sets differ between {a.run_id} and {b.run_id}: {difference}; "
                   "compared unpaired")
        if strict:
            raise ConfigError(f"--strict: {message.removesuffix('; compared unpaired')}: "
                              "refusing an unpaired comparison")
        warnings.append(message)

    out: list[MetricComparison] = []
    for name in wanted:
        kind = METRICS[name][0]
        if kind == "embedding":
            ea, eb = a.output_embeddings(), b.output_embeddings()
            if ea is None or eb is None:
                continue
            r = compare_embeddings(ea, eb, seed=seed)
            out.append(_row(name, "embedding", None, None, len(ea), len(eb), r,
                            "cosine distance"))
            continue
        get, unit = _getter(name, a, b)
        if paired:
            xa, xb, binary = paired_values(a, b, get)
        else:
            xa = [float(v) for v in map(get, a.observations) if v is not None]
            xb = [float(v) for v in map(get, b.observations) if v is not None]
            binary = True
        if kind == "rate":
            out.append(_rate(name, xa, xb, paired, binary))
        else:
            out.append(_continuous(name, xa, xb, unit, paired))
    primary = next((i for i, m in enumerate(out) if m.metric == PRIMARY), None)
    family = primary_tarone_holm([m.p_value for m in out], [m.min_p for m in out], primary,
                                 alpha)
    for i, m in enumerate(out):
        m.p_adjusted, m.level = family.adjusted[i], family.level[i]
        m.verdict = _verdict(m, family.rejected[i], family.testable[i], good[m.metric])
        if m.level is not None:
            m.mde = mde(m.kind, paired=m.paired or (paired and m.kind == "continuous"),
                        level=m.level, n_a=m.n_a, n_b=m.n_b, spread=m.spread, rate=m.value_a)
    return Comparison(a.run_id, b.run_id, alpha, out, paired, warnings,
                      {k: v for k, v in good.items() if v != METRICS[k][1]})


def run_sample(store: ResultStore, run_id: str, suites: Sequence[str] | None = None
               ) -> RunSample:
    """The stored cases of ``run_id`` as a :class:`RunSample`.

    ``suites`` selects the probe suites (default: ``capability`` when the run has it, else
    every layer-1..6 case; steady-state checks are never included).

    Raises:
        ConfigError: unknown run, or no cases of the chosen suites.
    """
    if store.run(run_id) is None:
        raise ConfigError(f"run {run_id!r}: not in the results store")
    rows = [r for r in store.cases(run_id) if r["layer"] >= 1]
    if suites is None:
        chosen = [r for r in rows if r["suite"] == "capability"] or rows
    else:
        chosen = [r for r in rows if r["suite"] in suites]
    if not chosen:
        which = ", ".join(suites) if suites else "any layer"
        raise ConfigError(f"run {run_id!r}: no stored cases of {which}")
    return sample_from_rows(run_id, chosen)


def compare(store: ResultStore, run_a: str, run_b: str, *, alpha: float = 0.05,
            suites: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
            encoder: Callable[[list[str]], Any] | None = None, seed: int = 0,
            directions: dict[str, str | None] | None = None,
            strict: bool = False) -> Comparison:
    """Compare run B against the reference run A, both read from ``store``.

    Args:
        store: the results store holding both runs.
        run_a, run_b: run ids (A = reference/baseline, B = candidate).
        alpha: family-wise error rate of the verdicts (``aichaos.drift._family``).
        suites: probe suites whose cases are compared (see :func:`run_sample`).
        metrics: subset of :data:`METRICS` (default: all).
        encoder: ``texts -> embeddings`` for output-embedding drift (default:
            ``aichaos.scoring.embed``; the metric is skipped when the model is missing).
        seed: seed of the permutation test.
        directions: good-direction overrides (see :func:`compare_samples`).
        strict: refuse (ConfigError) when the two runs did not replay the same cases.

    Raises:
        ConfigError: unknown run, no cases, bad metric, direction or alpha; different case
            sets with ``strict``.
    """
    a = run_sample(store, run_a, suites)
    b = run_sample(store, run_b, suites)
    if metrics is None or "output_embedding" in metrics:
        enc = encoder
        if enc is None:
            from aichaos.errors import PluginError
            from aichaos.scoring import embed, embedding_model

            try:
                embedding_model()
                enc = embed
            except PluginError:
                enc = None
        if enc is not None:
            a.embed(enc)
            b.embed(enc)
    return compare_samples(a, b, alpha=alpha, metrics=metrics, seed=seed,
                           directions=directions, strict=strict)
