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
from aichaos.drift._calibrate import calibrate_threshold, sidak
from aichaos.drift._compare import (
    METRICS,
    VERDICTS,
    Comparison,
    MetricComparison,
    compare,
    compare_samples,
    run_sample,
)
from aichaos.drift._family import PRIMARY_WEIGHT, FamilyResult, primary_tarone_holm
from aichaos.drift._markdown import render_pr_comment
from aichaos.drift._pagehinkley import PageHinkley
from aichaos.drift._paired import compare_paired_continuous, compare_paired_rates, mcnemar_exact
from aichaos.drift._quality import TRACKED, MetricDetector, bias_disparity, iteration_values
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
from aichaos.drift._watch_report import render_watch_report, write_watch_report

__all__ = [
    "METRICS",
    "PRIMARY_WEIGHT",
    "REFUSAL_PREFIXES",
    "TRACKED",
    "VERDICTS",
    "AcceptedFailure",
    "AcceptedFailures",
    "Alarm",
    "CheckChange",
    "Comparison",
    "FamilyResult",
    "IterationStats",
    "LayerChange",
    "MetricComparison",
    "MetricDetector",
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
    "bias_disparity",
    "calibrate_threshold",
    "cliffs_delta",
    "cohens_h",
    "compare",
    "compare_continuous",
    "compare_embeddings",
    "compare_paired_continuous",
    "compare_paired_rates",
    "compare_rates",
    "compare_reports",
    "compare_samples",
    "diff_scorecards",
    "experiment_differences",
    "holm",
    "is_refusal",
    "iteration_values",
    "list_baselines",
    "load_accepted_failures",
    "load_pair",
    "mcnemar_exact",
    "pin_baseline",
    "primary_tarone_holm",
    "probe_experiment",
    "read_report_file",
    "read_stored_run",
    "render_pr_comment",
    "render_watch_report",
    "resolve_run",
    "run_sample",
    "sample_from_rows",
    "sidak",
    "watch",
    "write_watch_report",
]
