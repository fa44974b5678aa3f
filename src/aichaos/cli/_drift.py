"""``aichaos compare`` and ``aichaos watch`` (mounted at the top level by the main CLI).

Expected errors print one line (``error: ...``) and exit 2. ``compare`` exits 1 when a metric
got worse; ``watch`` exits 1 when the detector raised an alarm.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aichaos.drift import (
    METRICS,
    Comparison,
    IterationStats,
    WatchMetrics,
    compare_reports,
    pin_baseline,
    render_pr_comment,
    resolve_run,
)
from aichaos.drift import compare as compare_runs
from aichaos.drift import watch as watch_loop
from aichaos.drift._reports import looks_like_path
from aichaos.errors import AIChaosError, ConfigError
from aichaos.store import ResultStore, default_url

EXIT_BAD_INPUT = 2
_out = Console()
_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _open_store(results: Path, db: str | None, *, create: bool = False) -> ResultStore:
    if db is None:
        path = results / "aichaos.db"
        if not create and not path.exists():
            raise ConfigError(f"--results: no results database at {path}")
        db = default_url(results)
    return ResultStore(db)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}" if 0 < abs(value) < 10 ** -digits else f"{value:.{digits}f}"


def _mde(value: float | None) -> str:
    if value is None:
        return "-"
    return "none at this n" if value == float("inf") else _fmt(value)


def _table(result: Comparison) -> Table:
    design = "paired" if result.paired else "unpaired"
    t = Table(title=f"{result.run_b} vs reference {result.run_a} (alpha {result.alpha}, "
                    f"{design}; pass rate primary, Tarone-Holm)", box=None)
    for col in ("metric", "A", "B", "n A/B", "test", "effect", "p", "p adj", "MDE",
                "verdict"):
        t.add_column(col, justify="left" if col in ("metric", "test", "verdict") else "right")
    colors = {"worse": "red", "better": "green", "changed": "yellow", "inconclusive": "yellow"}
    for m in result.metrics:
        color = colors.get(m.verdict)
        verdict = f"[{color}]{m.verdict}[/]" if color else m.verdict
        t.add_row(m.metric, _fmt(m.value_a), _fmt(m.value_b), f"{m.n_a}/{m.n_b}", m.test,
                  f"{m.effect_name} {_fmt(m.effect)}", _fmt(m.p_value), _fmt(m.p_adjusted),
                  _mde(m.mde), verdict)
    return t


def compare(
    run_a: Annotated[str, typer.Argument(help="Reference run id, 'baseline' (the pinned "
                                         "baseline of RUN_B's experiment) or 'latest'.")],
    run_b: Annotated[str | None, typer.Argument(help="Candidate run id or 'latest'.")] = None,
    results: Annotated[Path, typer.Option(help="Results directory holding aichaos.db.")] = Path(
        "aichaos-results"),
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the store "
                                           "(overrides --results).")] = None,
    pin: Annotated[bool, typer.Option("--pin", help="Pin RUN_A as its experiment's "
                                      "baseline.")] = False,
    alpha: Annotated[float, typer.Option(help="Family-wise error rate (docs/drift.md).")] = 0.05,
    suite: Annotated[list[str] | None, typer.Option(help="Probe suite(s) whose cases are "
                                                    "compared (default: capability).")] = None,
    metric: Annotated[list[str] | None, typer.Option(help="Metric(s) to compare "
                                                     "(default: all).")] = None,
    direction: Annotated[list[str] | None, typer.Option(help="METRIC=higher|lower: override "
                                                        "a metric's good direction, e.g. "
                                                        "output_length=higher.")] = None,
    embeddings: Annotated[bool, typer.Option(help="Compare output embeddings "
                                             "(needs aichaos[semantic]).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a "
                                          "table.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table (statistical drift of stored "
                                     "runs), json, or markdown (PR comment: grades, new "
                                     "failing checks; runs or report.json files).")] = "table",
    baseline: Annotated[Path | None, typer.Option(help="YAML file of accepted failing "
                                                  "checks (markdown/report comparison).")
                        ] = None,
    fail_on_new: Annotated[bool, typer.Option("--fail-on-new", help="Exit 1 when HEAD has a "
                                              "failing check that BASE did not fail and the "
                                              "baseline file does not accept.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the "
                                                "comparison to this file.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse (exit 2) when the two "
                                         "runs did not replay the same cases.")] = False,
) -> None:
    """Compare two runs: stored runs metric by metric (better / same / worse, with p-values),
    or, with --format markdown or report.json paths, their scorecards as a PR comment.

    Exit codes: 0 nothing got worse, 1 a metric got worse (table/json) or a new failing
    check with --fail-on-new (markdown), 2 bad input.
    """
    if fmt not in ("table", "json", "markdown"):
        raise _fail(f"--format: expected table, json or markdown, got {fmt!r}")
    if run_b is not None and (fmt == "markdown" or baseline is not None or fail_on_new
                              or looks_like_path(run_a) or looks_like_path(run_b)):
        _compare_scorecards(run_a, run_b, results=results, db=db, fmt=fmt, baseline=baseline,
                            fail_on_new=fail_on_new, output=output)
    try:
        store = _open_store(results, db)
        try:
            if run_b is None:
                if not pin:
                    raise ConfigError("RUN_B: missing (give two runs, or --pin to pin RUN_A "
                                      "as a baseline)")
                run_id = resolve_run(store, run_a)
                title = pin_baseline(store, run_id)
                _out.print(f"pinned {run_id} as the baseline of {title!r}")
                return
            b = resolve_run(store, run_b)
            a = resolve_run(store, run_a, experiment_of=b)
            if a == b:
                raise ConfigError(f"RUN_A and RUN_B are the same run ({a})")
            chosen = list(metric) if metric else None
            if not embeddings:
                chosen = [m for m in (chosen or METRICS) if m != "output_embedding"]
            directions: dict[str, str | None] = {}
            for flag in direction or []:
                name, sep, value = flag.partition("=")
                if not sep:
                    raise ConfigError(f"--direction {flag!r}: expected METRIC=higher|lower")
                directions[name] = value
            result = compare_runs(store, a, b, alpha=alpha, suites=suite or None,
                                  metrics=chosen, directions=directions, strict=strict)
            if pin:
                pin_baseline(store, a)
        finally:
            store.close()
    except AIChaosError as exc:
        raise _fail(str(exc)) from None
    for warning in result.warnings:
        _err.print(f"warning: {warning}", highlight=False, soft_wrap=True, markup=False)
    if as_json or fmt == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        _out.print(_table(result))
        adverse = ", ".join(f"{m.metric} {_fmt(m.value_a)} -> {_fmt(m.value_b)}"
                            for m in result.adverse())
        _out.print(f"overall: [bold]{result.verdict}[/]"
                   + (f" (moved the wrong way, undecided at this n: {adverse})"
                      if adverse else ""))
    raise typer.Exit(1 if result.verdict == "worse" else 0)


def _compare_scorecards(run_a: str, run_b: str, *, results: Path, db: str | None, fmt: str,
                        baseline: Path | None, fail_on_new: bool, output: Path | None) -> None:
    """``compare`` on scorecards (PR comment); always ends with ``typer.Exit``."""
    try:
        diff = compare_reports(run_a, run_b, lambda: _open_store(results, db),
                               baseline=baseline)
    except AIChaosError as exc:
        raise _fail(str(exc)) from None
    if diff.differences:
        _err.print("warning: BASE and HEAD are runs of different experiments: "
                   + "; ".join(diff.differences), highlight=False, soft_wrap=True, markup=False)
    text = (json.dumps(diff.to_dict(), indent=2) + "\n" if fmt == "json"
            else render_pr_comment(diff, fail_on_new=fail_on_new))
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"--output {output}: cannot write: {exc.strerror or exc}") from None
    sys.stdout.write(text)
    raise typer.Exit(1 if fail_on_new and diff.new_failures else 0)


def watch(
    experiment_file: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    interval: Annotated[float, typer.Option(help="Seconds between iterations.")] = 60.0,
    iterations: Annotated[int, typer.Option(help="Iterations to run (0 = until "
                                            "Ctrl-C).")] = 0,
    sample: Annotated[int, typer.Option(help="Golden cases per iteration.")] = 4,
    webhook: Annotated[str | None, typer.Option(help="URL that receives a JSON POST per "
                                                "alarm.")] = None,
    metrics_listen: Annotated[str, typer.Option(help="host:port of watch's own /metrics "
                                                "('' = off).")] = "127.0.0.1:9464",
    warmup: Annotated[int, typer.Option(help="Page-Hinkley warm-up, iterations (the "
                                        "thresholds are calibrated on it).")] = 10,
    threshold: Annotated[float | None, typer.Option(help="A fixed Page-Hinkley threshold, "
                                                    "standard deviations (default: "
                                                    "calibrated per metric).")] = None,
    false_alarm_rate: Annotated[float, typer.Option(help="Family-wise false-alarm rate "
                                                    "over --horizon iterations, all "
                                                    "metrics.")] = 0.05,
    horizon: Annotated[int, typer.Option(help="Iterations the false-alarm rate is "
                                         "controlled over.")] = 50,
    report: Annotated[Path | None, typer.Option(help="HTML trend report (default: "
                                                "RESULTS/watch.html).")] = None,
    results: Annotated[Path | None, typer.Option(help="Results directory (default: the "
                                                 "file's report.dir).")] = None,
) -> None:
    """Probe a live system on an interval, store each run, and alarm on degradation.

    Exit codes: 0 no alarm, 1 an alarm was raised, 2 bad input, 130 interrupted.
    """
    from aichaos.config import load_experiment
    from aichaos.runner import secrets_of

    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise _fail(f"--webhook: expected an http(s) URL, got {webhook!r}")

    def show(stats: IterationStats, metrics: WatchMetrics) -> None:
        alarms = f" [bold red]ALARM {', '.join(stats.alarms)}[/]" if stats.alarms else ""
        extra = "".join(f", {name.removesuffix('_rate')} {_fmt(stats.values[name], 2)}"
                        for name in ("refusal_rate", "hallucination_rate", "score",
                                     "output_length", "bias_disparity")
                        if name in stats.values)
        _out.print(f"#{stats.iteration} {stats.run_id}: pass {_fmt(stats.pass_rate, 2)}, "
                   f"errors {_fmt(stats.error_rate, 2)}, latency {_fmt(stats.latency_s)} s"
                   + extra + alarms)

    try:
        experiment = load_experiment(experiment_file)
        out_dir = Path(results or experiment.report.dir)
        report_path = report or out_dir / "watch.html"
        store = ResultStore(experiment.store.url or default_url(out_dir),
                            mask=experiment.store.mask_pii, secrets=secrets_of(experiment))
        try:
            outcome = asyncio.run(watch_loop(
                experiment, store, iterations=iterations, interval_s=interval, sample=sample,
                webhook=webhook, metrics_listen=metrics_listen or None, warmup=warmup,
                threshold=threshold, false_alarm_rate=false_alarm_rate, horizon=horizon,
                report=report_path, on_iteration=show))
        finally:
            store.close()
    except AIChaosError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    for error in outcome.webhook_errors:
        _err.print(f"warning: {error}")
    for alarm in outcome.alarms:
        _out.print(f"alarm: {alarm.metric} {alarm.direction} at iteration {alarm.iteration}, "
                   f"change after iteration {alarm.change_iteration}")
    _out.print(f"{len(outcome.iterations)} iterations, {len(outcome.alarms)} alarm(s); "
               f"trend report {report_path}")
    raise typer.Exit(outcome.exit_code)


#: the top-level commands this module adds to ``aichaos``
commands: list[Callable[..., Any]] = [compare, watch]
