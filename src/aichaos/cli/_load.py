"""``aichaos load``: drive load at a URL and print a per-step table (typer sub-app)."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from aichaos.config import Slos, Tolerance
from aichaos.errors import AIChaosError, ConfigError
from aichaos.load import (
    LoadProgress,
    RawHttpTarget,
    RayEngine,
    StepResult,
    StepSpec,
    SweepResult,
    TokenCounter,
    approx_tokens,
    drive_load,
    estimate_step_cost,
    lookup_price,
    probe_target_context,
)

app = typer.Typer(help="Load generation: rates, sweeps, saturation and cost (layer 6).",
                  no_args_is_help=True)
_err = Console(stderr=True)


@app.callback()
def _group() -> None:
    """Load generation: rates, sweeps, saturation and cost (layer 6)."""


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:.1f}"


def _table(steps: list[StepResult]) -> Table:
    t = Table(title="load steps: req/s; latency ms from the scheduled send", box=None)
    for col in ("offered", "achieved", "ok", "err%", "p50", "p95", "p99", "TTFT95", "ITL95",
                "queue99", "goodput", "tok/s", "sat"):
        t.add_column(col, justify="right", no_wrap=True)
    for s in steps:
        t.add_row(
            "closed" if s.offered_rps is None else f"{s.offered_rps:g}",
            f"{s.achieved_rps:.1f}", str(s.ok), f"{100 * s.error_rate:.1f}",
            _ms(s.p("e2e", 50)), _ms(s.p("e2e", 95)), _ms(s.p("e2e", 99)),
            _ms(s.p("ttft", 95)), _ms(s.p("itl", 95)), _ms(s.p("queue_delay", 99)),
            f"{s.goodput_rps:.1f}", f"{s.output_tokens_per_s:.1f}",
            "yes" if s.saturated else "no",
        )
    return t


def _parse_rates(rate: float | None, rates: str | None) -> list[float]:
    if rates:
        try:
            return [float(x) for x in rates.split(",") if x.strip()]
        except ValueError:
            raise ConfigError(f"--rates: expected numbers like 1,2,4, got {rates!r}") from None
    return [rate if rate is not None else 1.0]


@app.command("run")
def run(
    url: Annotated[str, typer.Argument(help="http:// URL (OpenAI-compatible base URL for "
                                            "--mode openai, e.g. http://127.0.0.1:8080/v1)")],
    mode: Annotated[str, typer.Option(help="get, post (JSON {input}) or openai")] = "get",
    model: Annotated[str, typer.Option(help="model name for --mode openai / pricing")] = "default",
    stream: Annotated[bool, typer.Option(help="stream (SSE) in openai mode")] = True,
    max_tokens: Annotated[int, typer.Option(help="completion budget, openai mode")] = 64,
    profile: Annotated[str, typer.Option(help="constant, poisson, bursty or closed")] = "constant",
    rate: Annotated[float | None, typer.Option(help="offered rate, req/s")] = None,
    rates: Annotated[str | None, typer.Option(help="sweep rates, req/s: 1,2,4,8")] = None,
    duration: Annotated[float, typer.Option(help="measured seconds per step (constant and "
                                            "bursty: rounded up to whole arrival periods)")
                        ] = 10.0,
    warmup: Annotated[float, typer.Option(help="unmeasured seconds before each step")] = 0.0,
    concurrency: Annotated[int, typer.Option(help="max in flight (open) / users (closed)")] = 256,
    seed: Annotated[int, typer.Option(help="Poisson seed")] = 42,
    timeout: Annotated[float, typer.Option(help="per-request timeout, s")] = 30.0,
    input_text: Annotated[list[str] | None, typer.Option("--input", help="request text "
                                                         "(repeatable; used cyclically)")] = None,
    slo_latency_p95: Annotated[float | None, typer.Option(help="goodput bound on E2E, s")] = None,
    slo_ttft_p95: Annotated[float | None, typer.Option(help="goodput bound on TTFT, s")] = None,
    requests_per_day: Annotated[float | None, typer.Option(help="traffic level for the cost "
                                                           "projection (needs a priced --model)")
                                ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    estimate_tokens: Annotated[bool, typer.Option(help="when a response has no usage, count "
                                                 "output tokens as chars/4")] = True,
    engine: Annotated[str, typer.Option(help="local (this process; alias asyncio) or ray "
                                             "(Ray actors, histograms merged)")] = "local",
    workers: Annotated[int, typer.Option(help="Ray workers per step (--engine ray)")] = 2,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (host:6379, "
                                                    "ray://host:10001, auto); default: a "
                                                    "local Ray started for this command")
                           ] = None,
) -> None:
    """Send load to URL: one step per rate (a sweep stops once saturated), or closed loop."""
    try:
        if engine not in ("local", "asyncio", "ray"):
            raise ConfigError(f"--engine: expected local, asyncio or ray, got {engine!r}")
        if engine != "ray" and ray_address is not None:
            raise ConfigError("--ray-address: only applies with --engine ray")
        factory = functools.partial(RawHttpTarget, url, mode=mode, model=model, stream=stream,
                                    max_tokens=max_tokens, timeout_s=timeout)
        target = factory()
        runner = (
            RayEngine(factory, workers=workers, address=ray_address) if engine == "ray" else None
        )
        spec = StepSpec(profile=profile, rate_rps=None if profile == "closed" else 1.0,
                        duration_s=duration, warmup_s=warmup, concurrency=concurrency,
                        seed=seed)
        spec.validate()
        slos = None
        if slo_latency_p95 is not None or slo_ttft_p95 is not None:
            slos = Slos(
                success_rate=None,
                answer_score=None,
                latency_p95_s=None if slo_latency_p95 is None else Tolerance(max=slo_latency_p95),
                ttft_p95_s=None if slo_ttft_p95 is None else Tolerance(max=slo_ttft_p95),
            )
        rate_list = _parse_rates(rate, rates)
        price = lookup_price(model) if requests_per_day is not None else None
        counter = approx_tokens if estimate_tokens else None
        sweep = asyncio.run(
            _drive(target, input_text or ["Hello!"], spec, rate_list, slos, counter, runner)
        )
    except AIChaosError as exc:
        _err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console = Console()
    if not console.is_terminal:  # files and pipes get the whole table, not 80 columns
        console.width = 160
    console.print(_table(sweep.steps))
    if runner is not None:
        console.print(_workers_table(runner.describe()))
    for step in sweep.steps:
        if step.saturation_reasons:
            console.print(f"step {step.index + 1} saturated: "
                          + "; ".join(step.saturation_reasons), highlight=False)
        if step.errors:
            console.print(f"step {step.index + 1} errors: {step.errors_by_group}",
                          highlight=False)
    if sweep.knee_rps is not None:
        console.print(f"saturation point: {sweep.knee_rps:g} req/s offered; highest sustained: "
                      f"{sweep.max_sustainable_rps if sweep.max_sustainable_rps else '-'} "
                      f"req/s ({sweep.rule})", highlight=False)
    if sweep.interrupted:
        console.print("interrupted: finished steps kept")
    out = sweep.to_dict()
    if runner is not None:
        out["engine"] = runner.describe()
    if price is not None and sweep.steps and sweep.steps[-1].completed:
        est = estimate_step_cost(sweep.steps[-1], price, requests_per_day=requests_per_day or 0,
                                 model=model)
        out["cost"] = est.to_dict()
        console.print(f"cost: ${est.cost_per_1k_requests_usd:.4f} per 1k requests, "
                      f"${est.monthly_cost_usd:,.2f} per month at {requests_per_day:g} req/day "
                      f"(tokens from {sweep.steps[-1].token_source})", highlight=False)
    if json_out is not None:
        json_out.write_text(json.dumps(out, indent=2))
    if sweep.interrupted:
        raise typer.Exit(130)


@app.command("context")
def context(
    url: Annotated[str, typer.Argument(help="http:// URL (OpenAI-compatible base URL with "
                                            "--mode openai)")],
    window: Annotated[int, typer.Option(help="declared context window, tokens")],
    mode: Annotated[str, typer.Option(help="post (JSON {input}) or openai")] = "openai",
    model: Annotated[str, typer.Option(help="model name for --mode openai")] = "default",
    max_tokens: Annotated[int, typer.Option(help="completion budget, openai mode")] = 32,
    timeout: Annotated[float, typer.Option(help="per-request timeout, s")] = 120.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
) -> None:
    """Probe the context window: inputs at 50/90/100/150% with a needle at the end."""
    try:
        target = RawHttpTarget(url, mode=mode, model=model, max_tokens=max_tokens,
                               timeout_s=timeout)
        res = asyncio.run(probe_target_context(target, window))
    except AIChaosError as exc:
        _err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console = Console()
    t = Table(title=f"context window {window} tokens (lengths {res.token_estimate})", box=None)
    for col in ("fraction", "tokens", "reported", "status", "error", "E2E s", "growth",
                "verdict"):
        t.add_column(col, justify="right", no_wrap=True)
    for c in res.cases:
        growth = res.latency_growth.get(f"{c.fraction:g}")
        t.add_row(f"{c.fraction:g}", str(c.tokens), str(c.input_tokens_reported or "-"),
                  str(c.status or "-"), c.error_class or "-", f"{c.e2e_s:.2f}",
                  "-" if growth is None else f"{growth:.2f}x", c.verdict)
    console.print(t)
    if res.silent_truncation:
        console.print("silent truncation: the answer ignored the end of a long input")
    if json_out is not None:
        json_out.write_text(json.dumps(res.to_dict(), indent=2))


class StepBars:
    """One live rich progress bar per load step, fed by the engine's :class:`LoadProgress`.

    An open-loop step's bar counts completed requests of the step's planned total (warm-up
    included); a closed loop's, which has no planned total, counts seconds of its planned
    length. Each bar's text says elapsed/planned seconds, requests sent and completed.
    """

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[int, TaskID] = {}

    def __call__(self, p: LoadProgress) -> None:
        """Update (or add) the bar of step ``p.step``."""
        by_time = p.planned is None
        if p.step not in self.tasks:
            label = "closed loop" if p.offered_rps is None else f"{p.offered_rps:g} req/s"
            self.tasks[p.step] = self.bar.add_task(
                f"step {p.step + 1}/{p.steps} {label}",
                total=p.planned_s if by_time else max(1, p.planned or 0), info="")
        done = min(p.elapsed_s, p.planned_s) if by_time else p.completed
        of = "" if by_time else f"/{p.planned}"
        self.bar.update(self.tasks[p.step], completed=done,
                        info=f"done {p.completed}{of}, sent {p.sent}, "
                             f"{p.elapsed_s:.0f}/{p.planned_s:.0f} s")


def _workers_table(described: dict[str, Any]) -> Table:
    """Per step and Ray worker: its share, clock offset vs the driver, start lag, p50."""
    t = Table(title="ray workers: clock offset vs the driver (NTP-style ping, ± error), ms",
              box=None)
    for col in ("step", "worker", "host", "offered", "achieved", "ok", "p50", "offset",
                "±", "start lag"):
        t.add_column(col, justify="right", no_wrap=True)
    for step in described["steps"]:
        for w in step["workers"]:
            t.add_row(str(step["step"] + 1), str(w["worker"]), str(w["host"]),
                      "closed" if w["offered_rps"] is None else f"{w['offered_rps']:g}",
                      f"{w['achieved_rps']:.1f}", str(w["ok"]), _ms(w["p50_s"]),
                      f"{w['clock_offset_s'] * 1e3:+.3f}", f"{w['clock_error_s'] * 1e3:.3f}",
                      _ms(w["start_lag_s"]))
    return t


async def _drive(target: RawHttpTarget, inputs: list[str], spec: StepSpec, rates: list[float],
                 slos: Slos | None, counter: TokenCounter | None,
                 engine: RayEngine | None) -> SweepResult:
    # on stderr, so the table and --json output on stdout stay clean
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                  TextColumn("{task.fields[info]}"), console=_err, transient=True) as bar:
        return await drive_load(target, inputs, spec, rates, slos=slos, token_counter=counter,
                                engine=engine, progress=StepBars(bar))
