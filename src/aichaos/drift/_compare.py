"""Statistical comparison of two stored runs: a verdict per metric with p-values.

Run A is the reference (the baseline), run B the candidate. Each metric gets a test chosen by
its type and sample size (see ``aichaos.drift._stats``), an effect size, a p-value, the
Holm-adjusted p-value across all tested metrics, and a plain verdict:

- ``better`` / ``worse``: adjusted p < ``alpha`` and the effect is beyond the negligible bound,
  in the metric's good / bad direction (latency, error and refusal rates: lower is better;
  score and pass rate: higher is better);
- ``changed``: the same evidence for a metric without a good direction (output length, output
  embeddings), or a change of shape without a shift (Kolmogorov-Smirnov significant, Cliff's
  delta negligible);
- ``same``: no evidence of a change;
- ``n/a``: fewer than 3 values on a side.

The comparison's overall verdict is ``worse`` if any metric is worse, else ``changed`` if any
changed, else ``better`` if any is better, else ``same``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aichaos.drift._sample import RunSample, sample_from_rows
from aichaos.drift._stats import (
    SampleTest,
    compare_continuous,
    compare_embeddings,
    compare_rates,
    holm,
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
VERDICTS = ("better", "same", "worse", "changed", "n/a")


@dataclass(slots=True)
class MetricComparison:
    """One metric compared between run A (reference) and run B.

    Attributes:
        metric: name (``latency_s``, ``pass_rate``, ...).
        kind: ``continuous``, ``rate`` or ``embedding``.
        value_a, value_b: medians (continuous), rates (rate) or None (embedding).
        n_a, n_b: values on each side.
        test, p_value, effect, effect_name: see :class:`aichaos.drift._stats.SampleTest`.
        p_adjusted: Holm-adjusted p-value across the comparison's metrics.
        verdict: one of :data:`VERDICTS`.
        unit: unit of the values (``s``, ``ratio``, ``tokens``/``words``, ``0..1``).
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


@dataclass(slots=True)
class Comparison:
    """The comparison of run B against run A: per-metric results and an overall verdict."""

    run_a: str
    run_b: str
    alpha: float
    metrics: list[MetricComparison] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        got = {m.verdict for m in self.metrics}
        for v in ("worse", "changed", "better"):
            if v in got:
                return v
        return "same"

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
                "verdict": self.verdict, "metrics": [asdict(m) for m in self.metrics]}


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _continuous(name: str, a: Sequence[float], b: Sequence[float], unit: str
                ) -> MetricComparison:
    r = compare_continuous(a, b)
    return _row(name, "continuous", _median(a), _median(b), len(a), len(b), r, unit)


def _rate(name: str, a: Sequence[bool], b: Sequence[bool]) -> MetricComparison:
    r = compare_rates(sum(a), len(a), sum(b), len(b))
    return _row(name, "rate", sum(a) / len(a) if a else None, sum(b) / len(b) if b else None,
                len(a), len(b), r, "ratio")


def _row(name: str, kind: str, va: float | None, vb: float | None, na: int, nb: int,
         r: SampleTest, unit: str) -> MetricComparison:
    return MetricComparison(name, kind, va, vb, na, nb, r.test, r.p_value, r.effect,
                            r.effect_name, unit=unit, material=r.material)


def _verdict(m: MetricComparison, alpha: float, direction: str | None) -> str:
    if m.test == "none":
        return "n/a"
    significant = (m.p_adjusted < alpha) if m.p_adjusted is not None else m.test == "wasserstein"
    if not significant or not m.material:
        shape_only = (m.test == "kolmogorov_smirnov" and m.p_adjusted is not None
                      and m.p_adjusted < alpha)
        return "changed" if shape_only else "same"
    if direction is None or m.effect is None:
        return "changed"
    up = m.effect > 0
    return "better" if up == (direction == "higher") else "worse"


def compare_samples(a: RunSample, b: RunSample, *, alpha: float = 0.05,
                    metrics: Sequence[str] | None = None, seed: int = 0,
                    directions: dict[str, str | None] | None = None) -> Comparison:
    """Compare two run samples (embeddings are compared only when both were embedded).

    ``directions`` overrides a metric's good direction (``higher``, ``lower`` or None), e.g.
    ``{"output_length": "higher"}`` when shorter answers mean truncation.

    Raises:
        ConfigError: an unknown metric name or direction, or ``alpha`` outside (0, 1).
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
    oa, ob = a.observations, b.observations

    def values(obs: Sequence[Any], attr: str) -> list[Any]:
        return [getattr(o, attr) for o in obs if getattr(o, attr) is not None]

    out: list[MetricComparison] = []
    for name in wanted:
        if name in ("latency_s", "ttft_s"):
            attr = "e2e_s" if name == "latency_s" else "ttft_s"
            out.append(_continuous(name, values(oa, attr), values(ob, attr), "s"))
        elif name == "score":
            out.append(_continuous(name, values(oa, "score"), values(ob, "score"), "0..1"))
        elif name == "output_length":
            unit = a.length_unit if a.length_unit == b.length_unit else "words"
            la, lb = values(oa, "length"), values(ob, "length")
            if a.length_unit != b.length_unit:  # compare like with like
                la = [float(len(o.output.split())) for o in oa if o.length is not None]
                lb = [float(len(o.output.split())) for o in ob if o.length is not None]
            out.append(_continuous(name, la, lb, unit))
        elif name == "pass_rate":
            out.append(_rate(name, values(oa, "passed"), values(ob, "passed")))
        elif name == "error_rate":
            out.append(_rate(name, [o.errored for o in oa], [o.errored for o in ob]))
        elif name == "refusal_rate":
            out.append(_rate(name, values(oa, "refused"), values(ob, "refused")))
        else:
            ea, eb = a.output_embeddings(), b.output_embeddings()
            if ea is None or eb is None:
                continue
            r = compare_embeddings(ea, eb, seed=seed)
            out.append(_row(name, "embedding", None, None, len(ea), len(eb), r,
                            "cosine distance"))
    for m, adjusted in zip(out, holm([m.p_value for m in out]), strict=True):
        m.p_adjusted = adjusted
        m.verdict = _verdict(m, alpha, good[m.metric])
    return Comparison(a.run_id, b.run_id, alpha, out)


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
            directions: dict[str, str | None] | None = None) -> Comparison:
    """Compare run B against the reference run A, both read from ``store``.

    Args:
        store: the results store holding both runs.
        run_a, run_b: run ids (A = reference/baseline, B = candidate).
        alpha: family-wise error rate for the Holm-corrected verdicts.
        suites: probe suites whose cases are compared (see :func:`run_sample`).
        metrics: subset of :data:`METRICS` (default: all).
        encoder: ``texts -> embeddings`` for output-embedding drift (default:
            ``aichaos.scoring.embed``; the metric is skipped when the model is missing).
        seed: seed of the permutation test.
        directions: good-direction overrides (see :func:`compare_samples`).

    Raises:
        ConfigError: unknown run, no cases, bad metric, direction or alpha.
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
                           directions=directions)
