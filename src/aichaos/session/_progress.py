"""Console listener: rich progress bars while a run works, one line per finished step."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from aichaos._events import (
    ActivityEnded,
    ActivityStarted,
    CaseObserved,
    CaseResumed,
    EventBus,
    LoadProgressed,
    LoadStepFinished,
    ReceiverStarted,
    RunStarted,
)

_STATUS_STYLE = {"succeeded": "green", "failed": "red", "interrupted": "yellow"}


class ConsoleProgress:
    """Subscribes to runner events and shows a progress bar per journal step."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[errors]} errors"), TimeElapsedColumn(),
            console=console, transient=True,
        )
        self._task: TaskID | None = None

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(RunStarted, self._started)
        bus.subscribe(ActivityStarted, self._activity_started)
        bus.subscribe(CaseObserved, self._case)
        bus.subscribe(CaseResumed, self._case)
        bus.subscribe(ActivityEnded, self._activity_ended)
        bus.subscribe(ReceiverStarted, self._receiver)
        bus.subscribe(LoadStepFinished, self._load_step)
        bus.subscribe(LoadProgressed, self._load_progress)

    def __enter__(self) -> ConsoleProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _load_progress(self, event: LoadProgressed) -> None:
        if self._task is not None:
            self.progress.update(self._task, advance=event.completed)

    def _load_step(self, event: LoadStepFinished) -> None:
        offered = f"{event.offered_rps:g} req/s" if event.offered_rps is not None else "closed"
        p95 = f"{event.latency_p95_s:.2f} s" if event.latency_p95_s is not None else "-"
        mark = " [red]saturated[/]" if event.saturated else ""
        if event.power is not None:  # the step's overload verdict and its power at 1.25x
            mark += f" ({event.verdict or 'open'}, power {event.power:.2f} at 1.25x)"
        self.console.print(f"    load step {event.step + 1}/{event.steps}: offered {offered}, "
                           f"achieved {event.achieved_rps:.2f} req/s, goodput "
                           f"{event.goodput_rps:.2f} req/s, p95 {p95}, errors "
                           f"{event.error_rate:.0%}{mark}")

    def _receiver(self, event: ReceiverStarted) -> None:
        self.console.print(f"  OTLP receiver on [cyan]{event.endpoint}[/]: point the target's "
                           "OTEL_EXPORTER_OTLP_ENDPOINT at it")

    def _started(self, event: RunStarted) -> None:
        resumed = " [yellow]resumed[/]" if event.resumed else ""
        self.console.print(f"[bold]aichaos[/] run [cyan]{event.run_id}[/]{resumed}: "
                           f"{event.title} (seed {event.seed})")

    def _activity_started(self, event: ActivityStarted) -> None:
        if event.kind == "rollback":
            return
        self._task = self.progress.add_task(event.name, total=event.total, errors=0)

    def _case(self, event: CaseObserved | CaseResumed) -> None:
        if self._task is not None:
            errors = int(event.result.error_class is not None)
            task = next((t for t in self.progress.tasks if t.id == self._task), None)
            done_errors = (task.fields.get("errors", 0) if task else 0) + errors
            self.progress.update(self._task, advance=1, errors=done_errors)

    def _activity_ended(self, event: ActivityEnded) -> None:
        if self._task is not None and event.kind != "rollback":
            self.progress.remove_task(self._task)
            self._task = None
        style = _STATUS_STYLE.get(event.status, "white")
        extra = f" - {event.error}" if event.error else ""
        self.console.print(f"  [{style}]{event.status:>11}[/] {event.name} "
                           f"[dim]{event.duration_s:.1f} s[/]{extra}")
