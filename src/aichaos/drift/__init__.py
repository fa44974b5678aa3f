"""Drift and regression across runs: statistical comparison, pinned baselines, ``watch``."""

from aichaos.drift._baseline import (
    baseline_for,
    baselines,
    list_baselines,
    pin_baseline,
    resolve_run,
)
from aichaos.drift._compare import (
    METRICS,
    VERDICTS,
    Comparison,
    MetricComparison,
    compare,
    compare_samples,
    run_sample,
)
from aichaos.drift._pagehinkley import PageHinkley
from aichaos.drift._sample import (
    REFUSAL_PREFIXES,
    Observation,
    RunSample,
    is_refusal,
    sample_from_rows,
)
from aichaos.drift._stats import (
    SampleTest,
    cliffs_delta,
    cohens_h,
    compare_continuous,
    compare_embeddings,
    compare_rates,
    holm,
)
from aichaos.drift._watch import (
    Alarm,
    IterationStats,
    WatchMetrics,
    WatchOutcome,
    probe_experiment,
    watch,
)

__all__ = [
    "METRICS",
    "REFUSAL_PREFIXES",
    "VERDICTS",
    "Alarm",
    "Comparison",
    "IterationStats",
    "MetricComparison",
    "Observation",
    "PageHinkley",
    "RunSample",
    "SampleTest",
    "WatchMetrics",
    "WatchOutcome",
    "baseline_for",
    "baselines",
    "cliffs_delta",
    "cohens_h",
    "compare",
    "compare_continuous",
    "compare_embeddings",
    "compare_rates",
    "compare_samples",
    "holm",
    "is_refusal",
    "list_baselines",
    "pin_baseline",
    "probe_experiment",
    "resolve_run",
    "run_sample",
    "sample_from_rows",
    "watch",
]
