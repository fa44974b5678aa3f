"""Drift and regression across runs: statistical comparison, pinned baselines, ``watch``."""

from aichaos.drift._baseline import (
    baseline_for,
    baselines,
    list_baselines,
    pin_baseline,
    resolve_run,
)
from aichaos.drift._baseline_file import (
    AcceptedFailure,
    AcceptedFailures,
    load_accepted_failures,
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
from aichaos.drift._markdown import render_pr_comment
from aichaos.drift._pagehinkley import PageHinkley
from aichaos.drift._reports import RunReport, load_pair, read_report_file, read_stored_run
from aichaos.drift._sample import (
    REFUSAL_PREFIXES,
    Observation,
    RunSample,
    is_refusal,
    sample_from_rows,
)
from aichaos.drift._scorecard_diff import (
    CheckChange,
    LayerChange,
    ScorecardDiff,
    compare_reports,
    diff_scorecards,
    experiment_differences,
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
    "AcceptedFailure",
    "AcceptedFailures",
    "Alarm",
    "CheckChange",
    "Comparison",
    "IterationStats",
    "LayerChange",
    "MetricComparison",
    "Observation",
    "PageHinkley",
    "RunReport",
    "RunSample",
    "SampleTest",
    "ScorecardDiff",
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
    "compare_reports",
    "compare_samples",
    "diff_scorecards",
    "experiment_differences",
    "holm",
    "is_refusal",
    "list_baselines",
    "load_accepted_failures",
    "load_pair",
    "pin_baseline",
    "probe_experiment",
    "read_report_file",
    "read_stored_run",
    "render_pr_comment",
    "resolve_run",
    "run_sample",
    "sample_from_rows",
    "watch",
]
