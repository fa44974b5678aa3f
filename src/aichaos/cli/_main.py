"""The ``aichaos`` command: a thin layer over the library."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from aichaos._version import __version__
from aichaos.cli import _templates
from aichaos.config import Experiment, load_experiment
from aichaos.errors import AIChaosError, ConfigError
from aichaos.results import LAYERS, evaluate_gates, parse_bar, parse_layers
from aichaos.runner import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from aichaos.session import control_address, run_experiment
from aichaos.targets import probe_http, probe_openai

app = typer.Typer(
    name="aichaos",
    help="Chaos engineering and production-readiness scoring for AI systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="The local LLM (SmolLM2-135M-Instruct via llama-cpp-python).",
                        no_args_is_help=True)
app.add_typer(model_app, name="model")

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one clean error line per problem in ``message`` and return the Exit to raise."""
    for line in message.splitlines() or [""]:
        err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False,
                          soft_wrap=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"aichaos {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Chaos engineering and production-readiness scoring for AI systems."""


@app.command()
def run(
    experiment_file: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    results: Annotated[Path | None, typer.Option(help="Results directory "
                                                 "(default: the file's report.dir).")] = None,
    seed: Annotated[int | None, typer.Option(help="Override runtime.seed.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N golden cases.")
                     ] = None,
    no_mask_pii: Annotated[bool, typer.Option("--no-mask-pii", help="Store prompts and "
                                              "outputs unmasked (secrets stay masked).")] = False,
    fail_under: Annotated[str | None, typer.Option(help="Also exit 1 when a measured layer's "
                                                   "grade (its range's low end) is below this "
                                                   "letter (A-F), or no layer was measured.")
                          ] = None,
    require: Annotated[str | None, typer.Option(help="Exit 1 unless these layers were "
                                                "measured, comma separated (names or numbers; "
                                                "'none'). Default: every layer the run "
                                                "enables.")] = None,
    hypothesis_exit: Annotated[bool, typer.Option(
        "--hypothesis-exit", help="Chaos Toolkit's exit code: only the steady-state "
        "hypothesis, deviation and rollbacks decide, not failed checks or unmeasured layers "
        "(--fail-under and --require still apply when given).")] = False,
    layer: Annotated[str | None, typer.Option(help="Run only these layers, comma separated "
                                              "(names or numbers: capability,3).")] = None,
    resume: Annotated[str | None, typer.Option(help="Continue the interrupted run RUN_ID: "
                                               "cases it stored are not sent again.",
                                               metavar="RUN_ID")] = None,
    proxy_control: Annotated[str | None, typer.Option(
        help="Serve the chaos proxies' control API on this loopback HOST:PORT during the run "
             "and print it (for aichaos proxy traffic / toxic list).")] = None,
    watch_traffic: Annotated[bool, typer.Option(
        "--watch-traffic", help="Print every request the chaos proxies see while the run "
        "works (serves the control API, on a free port unless --proxy-control).")] = False,
) -> None:
    """Run an experiment: steady state, layer probes, steady state, rollbacks, reports.

    Exit codes: 0 ok; 1 the run failed or deviated, a check failed, a required layer was not
    measured, or a grade is below --fail-under; 2 bad input; 130 interrupted (docs/ci.md).
    """
    try:
        bar = None if fail_under is None else parse_bar(fail_under)
    except ValueError as exc:
        raise fail(f"--fail-under: {exc}") from None
    try:
        experiment = load_experiment(experiment_file)
        if seed is not None:
            experiment.runtime.seed = seed
        if no_mask_pii:
            experiment.store.mask_pii = False
        if limit is not None:
            _apply_limit(experiment, limit)
        layers = None if layer is None else [n for n in layer.split(",") if n.strip()]
        required = _required_layers(experiment, require, layers)
        control = control_address(proxy_control, watch_traffic)
        if control is not None and not experiment.dependencies:
            err_console.print("warning: the experiment has no dependencies, so no chaos proxy "
                              "to watch (--proxy-control/--watch-traffic do nothing)")
        done = run_experiment(experiment, console=console, results_dir=results, layers=layers,
                              resume=resume, proxy_control=control,
                              watch_traffic=watch_traffic)
    except AIChaosError as exc:
        raise fail(str(exc)) from None
    outcome = done.outcome
    if resume is not None:
        console.print(f"resumed {resume}: {done.resumed} stored cases reused, not sent again")
    console.print(f"journal and reports: [cyan]{done.directory}[/]")
    if outcome.journal.get("status") == "interrupted":  # 130: gates do not apply
        raise typer.Exit(outcome.exit_code)
    for reason in _run_failures(outcome.journal):
        err_console.print(f"gate: {reason}", highlight=False, soft_wrap=True)
    gates = evaluate_gates(
        outcome.scorecard, outcome.exit_code, fail_under=bar,
        required=required if (not hypothesis_exit or require is not None) else (),
        hypothesis_only=hypothesis_exit)
    for reason in gates.reasons:
        err_console.print(f"gate: {reason}", highlight=False, soft_wrap=True)
    raise typer.Exit(gates.code)


def _run_failures(journal: dict[str, Any]) -> list[str]:
    """Why the run itself failed (Chaos Toolkit's exit 1), one line each: it was aborted or
    failed, or its steady-state hypothesis deviated."""
    status = journal.get("status")
    out = []
    if status not in ("completed", None):
        why = next((str(r["exception"][0]) for r in reversed(journal.get("run") or [])
                    if isinstance(r, dict) and r.get("exception")), "")
        out.append(f"the run {status}" + (f": {why}" if why else ""))
    if journal.get("deviated"):
        out.append("the steady-state hypothesis deviated (its SLOs were not met before or "
                   "after the method; see the journal's steady_states)")
    return out


def _required_layers(experiment: Experiment, require: str | None,
                     selected: list[str] | None) -> list[int]:
    """The layer numbers that must be measured: ``--require``, else every layer the run
    enables (the ``--layer`` selection when given).

    Raises:
        ConfigError: an unknown layer, or a required layer the run does not enable.
    """
    enabled = {number for number, (key, _) in LAYERS.items()
               if (cfg := getattr(experiment.layers, key)) is not None
               and getattr(cfg, "enabled", True)}
    try:
        chosen = None if selected is None else set(parse_layers(selected))
    except ValueError:
        chosen = None  # run_experiment reports a bad --layer with its own message
    runs = enabled if chosen is None else enabled & chosen
    if require is None:
        return sorted(runs)
    if require.strip().lower() == "none":
        return []
    try:
        wanted = parse_layers(require.split(","))
    except ValueError as exc:
        raise ConfigError(f"--require: {exc}") from None
    for number in wanted:
        key = LAYERS[number][0]
        if number not in enabled:
            raise ConfigError(f"--require: {key} is not enabled in "
                              f"{experiment.source or 'the experiment'}, so it cannot be measured")
        if number not in runs:
            raise ConfigError(f"--require: {key} is not in the --layer selection, so it cannot "
                              "be measured")
    return wanted


def _apply_limit(experiment: Experiment, limit: int) -> None:
    for key in ("capability", "input_resilience", "integration", "safety"):
        layer = getattr(experiment.layers, key)
        if layer is not None and hasattr(layer, "limit"):
            layer.limit = limit


@app.command()
def validate(
    experiment_file: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    expect: Annotated[float, typer.Option(
        help="Pass rate you expect (0.5-1; bad-event rates at 1 minus it) for the "
        "cases-needed lines.")] = 0.95,
) -> None:
    """Check an experiment file (and its dataset) without sending anything, and say how many
    independent cases a decided check or a firm grade would need at an expected rate."""
    from aichaos.cli._plan import plan_lines
    from aichaos.dataset import load_dataset
    from aichaos.runner import validate_suites

    if not 0.5 <= expect <= 1.0:
        raise fail(f"--expect: expected a rate between 0.5 and 1, got {expect:g}")

    try:  # sends nothing, so an unset API key variable is a warning, not an error
        experiment = load_experiment(experiment_file, require_secrets=False)
        for field_name, variable in experiment.unset_secrets:
            err_console.print(f"warning: {field_name}: environment variable {variable} is not "
                              "set; `aichaos run` will need it", highlight=False)
        if not experiment.dataset:  # as `aichaos run` would refuse it
            raise ConfigError(f"{experiment_file}: dataset: required field is missing (a "
                              "golden dataset path)")
        cases = load_dataset(experiment.dataset)
        validate_suites(experiment, cases)
    except AIChaosError as exc:
        raise fail(str(exc)) from None
    layers = [k for k, v in experiment.layers if v is not None and getattr(v, "enabled", True)]
    console.print(f"[green]valid[/]: {experiment_file} - {experiment.title!r}, target "
                  f"{experiment.target.type}, {len(cases)} cases, layers: {', '.join(layers)}")
    for line in plan_lines(experiment, cases, expect):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def schema() -> None:
    """Print the experiment file's JSON Schema (for editor completion and validation)."""
    sys.stdout.write(json.dumps(Experiment.model_json_schema(by_alias=True), indent=2) + "\n")


@app.command()
def init(
    url: Annotated[str, typer.Argument(help="Target URL, e.g. http://127.0.0.1:8080/v1")],
    kind: Annotated[str, typer.Option("--type", help="openai or http")] = "openai",
    model: Annotated[str, typer.Option(help="Model name (openai targets).")] = "default",
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")] = Path(
        "experiment.yaml"),
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
    probe: Annotated[bool, typer.Option(help="Send one request to find out what the endpoint "
                                        "speaks (streaming, answer field).")] = True,
    gateway: Annotated[str | None, typer.Option(
        help="Gateway preset (litellm): URL is then the gateway's config file; writes the "
        "experiment and a config whose api_bases go through chaos proxies.")] = None,
    gateway_url: Annotated[str, typer.Option(
        help="Where the gateway listens (with --gateway).")] = "http://127.0.0.1:4000",
) -> None:
    """Write a starter experiment (and a starter dataset) for a target URL.

    By default one request is sent first: for ``--type openai`` a short streamed chat
    completion (``stream: true`` is written only when the answer is an SSE stream), for
    ``--type http`` a ``{"input": "ping"}`` POST whose answer gives ``answer_path``.
    With ``--gateway litellm`` URL is a LiteLLM proxy config and nothing is sent.
    """
    if gateway is not None:
        from aichaos.cli._gateway import write_gateway_preset

        try:
            preset, proxied = write_gateway_preset(gateway, Path(url), output, force=force,
                                                   gateway_url=gateway_url)
        except AIChaosError as exc:
            raise fail(str(exc)) from None
        console.print(f"wrote [cyan]{output}[/] and [cyan]{proxied}[/] ("
                      f"{len(preset.deployments)} deployments behind chaos proxies); next: "
                      f"litellm --config {proxied}, then aichaos run {output}")
        return
    if kind not in {"openai", "http"}:
        raise fail(f"--type: expected openai or http, got {kind!r}")
    if not url.startswith(("http://", "https://")):
        raise fail(f"URL: expected an http(s) URL, got {url!r}")
    if output.exists() and not force:
        raise fail(f"{output}: already exists (use --force to overwrite)")
    dataset = output.with_name(output.stem + ".dataset.yaml")
    found = None
    if probe:
        found = (probe_openai(url, model, api_key=os.environ.get("OPENAI_API_KEY", ""))
                 if kind == "openai" else probe_http(url))
        console.print(f"probed {url}: {escape(found.note)}"
                      + ("" if found.reachable else "; wrote the defaults, check them"),
                      highlight=False)
    stream = "false" if found is not None and found.stream is False else "true"
    answer_path = found.answer_path if found is not None and found.answer_path else "$.output"
    target = (_templates.OPENAI_TARGET if kind == "openai" else _templates.HTTP_TARGET).format(
        url=url, model=model, stream=stream, answer_path=answer_path)
    output.write_text(_templates.EXPERIMENT.format(
        title=f"Readiness of {url}", filename=output.name, target=target, dataset=dataset.name),
        encoding="utf-8")
    if not dataset.exists() or force:
        dataset.write_text(_templates.DATASET, encoding="utf-8")
    console.print(f"wrote [cyan]{output}[/] and [cyan]{dataset}[/]; next: "
                  f"aichaos validate {output}")


@app.command()
def demo(
    quick: Annotated[bool, typer.Option(help="A ~1-minute version (fewer cases).")] = False,
    results: Annotated[Path, typer.Option(help="Results directory.")] = Path("aichaos-results"),
    profile: Annotated[list[str] | None, typer.Option(
        help="Profile(s) to assess: naive, hardened (default: both).")] = None,
) -> None:
    """Start a real AI system on loopback (local LLM, CRM, support app behind the chaos
    proxy), assess the naive and the hardened profile, and report side by side.

    Exit codes: 0 every profile completed and hardened scores at least naive on every layer
    naive measured; 1 otherwise; 130 interrupted. (Naive failing its checks is the point.)
    """
    from aichaos.demo import PROFILES, demo_verdict, run_demo

    chosen = tuple(profile or PROFILES)
    unknown = [p for p in chosen if p not in PROFILES]
    if unknown:
        raise fail(f"--profile: expected one of {', '.join(PROFILES)}, got {unknown[0]!r}")
    try:
        runs = run_demo(console, quick=quick, results_dir=results, profiles=chosen)
    except KeyboardInterrupt:  # during start-up or stop: the stack stops itself
        console.print("interrupted: every process the demo started was stopped")
        raise typer.Exit(130) from None
    except AIChaosError as exc:
        raise fail(str(exc)) from None
    for r in runs:
        console.print(f"{r.profile}: journal and reports in [cyan]{r.directory}[/] "
                      "(open report.html in a browser)")
    verdict = demo_verdict(runs, chosen)
    for reason in verdict.reasons:
        err_console.print(f"demo: {reason}", highlight=False, soft_wrap=True)
    raise typer.Exit(verdict.code)


@app.command()
def replay(
    run_id: Annotated[str, typer.Argument(help="Run id (see the report or journal).")],
    case: Annotated[str, typer.Option(help="Golden case id.")],
    variant: Annotated[str, typer.Option(help="Condition: clean, a perturbation "
                                         "name@severity, or a toxic name.")] = "clean",
    results: Annotated[Path, typer.Option(help="Results directory holding aichaos.db.")] = Path(
        "aichaos-results"),
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the results store "
                                           "(default: <results>/aichaos.db).")] = None,
) -> None:
    """Re-send one stored case under the same condition and show old and new answers."""
    from aichaos.cli._replay import run_replay
    from aichaos.store import ResultStore

    if db is None:
        if results.is_file():  # the database file itself
            results = results.parent
        # the run's own database: <results>/aichaos.db, or a demo profile's one level down
        found = [p for p in [results / "aichaos.db", *sorted(results.glob("*/aichaos.db"))]
                 if p.is_file() and _has_run(p, run_id)]
        if not found:
            raise fail(f"{results}: no results database holds run {run_id} "
                       "(use --results DIR or --db URL)")
        db = f"sqlite:///{found[0].resolve()}"
    url = db
    try:
        store = ResultStore(url, readonly=True)
        try:
            result = run_replay(store, run_id, case, variant)
        finally:
            store.close()
    except AIChaosError as exc:
        raise fail(str(exc)) from None
    r = result.response
    console.print(f"[bold]{run_id}[/] case [cyan]{case}[/] variant [cyan]{variant}[/]")
    console.print(f"  sent:    {result.sent!r}", highlight=False)
    if result.planted.startswith("toxic "):
        console.print(f"  fault:   {result.planted} (installed for this replay, then removed)",
                      highlight=False)
    elif result.planted:
        console.print(f"  planted: the probe's document, via {result.planted}", highlight=False)
    console.print(f"  stored:  {result.stored['output']!r} "
                  f"(error {result.stored['error_class']}, score {result.stored['score']})",
                  highlight=False)
    verdict = f"score {result.score.value:.2f} ({result.score.explanation})" if result.score else (
        f"error {r.error_class}: {r.error}")
    console.print(f"  now:     {r.output!r} ({verdict}, {r.e2e_s:.2f} s)", highlight=False)
    if r.error_class in ("connection", "timeout"):
        err_console.print("the target did not answer: is the system under test running?")
    raise typer.Exit(0 if r.ok else 1)


def _has_run(path: Path, run_id: str) -> bool:
    from aichaos.store import ResultStore

    try:  # read-only: looking must not create or migrate anything
        with ResultStore(f"sqlite:///{path.resolve()}", readonly=True) as store:
            store.resolve(run_id)
            return True
    except AIChaosError:
        return False


@model_app.command("serve")
def model_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free port).")] = 8080,
    n_ctx: Annotated[int, typer.Option(help="Context window, tokens.")] = 2048,
) -> None:
    """Serve SmolLM2-135M-Instruct on an OpenAI-compatible endpoint until Ctrl-C."""
    import signal
    import time

    from aichaos.demo import start_model_server

    try:
        server = start_model_server(port=port, n_ctx=n_ctx)
    except AIChaosError as exc:
        raise fail(str(exc)) from None
    console.print(f"model server: [cyan]{server.base_url}[/] (model smollm2-135m-instruct); "
                  "Ctrl-C to stop")

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # stop the server below, as Ctrl-C does

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        while server.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _mount_components() -> None:
    """Mount the command groups that live in their own modules: ``aichaos proxy ...``,
    ``aichaos load ...``, ``aichaos ci ...``, ``aichaos mcp ...``, and ``compare`` /
    ``watch`` / ``ui`` at the top level."""
    from aichaos.cli import _ci, _drift, _load, _mcp, _proxy, _ui

    app.add_typer(_proxy.app, name="proxy")
    app.add_typer(_load.app, name="load")
    app.add_typer(_ci.app, name="ci")
    app.add_typer(_mcp.app, name="mcp")
    for command in [*_drift.commands, *_ui.commands]:
        app.command()(command)


_mount_components()


class _PipeSafe:
    """Standard output that goes quiet once its reader has gone (``aichaos run ... | head``):
    the run goes on, its results stored and its report files written, instead of dying of
    ``BrokenPipeError`` on the next progress line."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._closed = True
                self._silence()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed = True
                self._silence()

    def _silence(self) -> None:
        # point fd 1 at /dev/null so the interpreter's own flush at exit stays quiet too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main() -> None:
    """Console-script entry point.

    A terminal cannot show a lone surrogate (an input that is not valid Unicode text, kept as
    it was sent): standard output and error escape it (``\\ud800``) instead of crashing the run
    after its results were measured.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.stdout = _PipeSafe(sys.stdout)
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
