"""Gates on a finished run: the exit code CI sees, and every reason behind it.

A gate never passes on nothing:

* **failed checks** (:attr:`Check.failed`: did not pass, and was measured) fail the run, as a
  test runner's failed tests do; a *not measured* check (nothing to exercise) is skipped,
  never a failure and never a pass. ``hypothesis_only`` keeps Chaos Toolkit's exit code
  (only the steady-state hypothesis, deviation and rollbacks decide) instead;
* a **required layer** that was not measured fails the run;
* ``fail_under`` (a letter A-F, compared on the ordered scale of :class:`Grade`) fails the
  run when any measured layer's grade, or the low end of its grade range when it has one,
  is below the bar (the overall grade is the weakest layer's, so that is the same as the
  overall range's low end), and when no layer was measured at all.

Exit codes: 0 ok, 1 failed (:data:`EXIT_FAILED`), 130 interrupted (kept as it was).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from aichaos.results._grades import Grade
from aichaos.results._scorecard import LAYERS, LayerResult, Scorecard

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
#: failed check names listed in one reason line before "+N more"
NAMES_SHOWN = 8


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """The exit code of a run after its gates, and one line per reason it failed.

    Attributes:
        code: 0, 1 or 130 (interrupted runs keep 130 whatever the gates say).
        reasons: one human-readable line per gate that failed, in the order checked.
    """

    code: int
    reasons: list[str] = field(default_factory=list)


def parse_bar(text: str) -> Grade:
    """The ``--fail-under`` bar: exactly one letter A-F (case-insensitive).

    Raises:
        ValueError: anything else (``AB``, ``Z``, ``-``, empty), with a one-line message.
    """
    letter = text.strip().upper()
    if len(letter) != 1 or letter not in "ABCDF":
        raise ValueError(f"expected a grade A-F, got {text!r}")
    return Grade(letter)


def parse_layers(names: Iterable[str]) -> list[int]:
    """Layer numbers from keys (``capability``, ``input-resilience``) or numbers (``1``-``6``).

    Returns:
        the layer numbers, sorted, without duplicates.

    Raises:
        ValueError: a name that is not a layer (the message lists the valid ones).
    """
    by_key = {key: number for number, (key, _) in LAYERS.items()}
    chosen: set[int] = set()
    for raw in names:
        name = raw.strip().lower().replace("-", "_")
        if not name:
            continue
        number = int(name) if name.isdigit() and int(name) in LAYERS else by_key.get(name)
        if number is None:
            raise ValueError(f"unknown layer {raw!r} (expected one of {', '.join(by_key)}, "
                             "or 1-6)")
        chosen.add(number)
    return sorted(chosen)


def _low_end(layer: LayerResult) -> Grade:
    """A measured layer's worst plausible grade: its range's low end, else its grade."""
    return layer.grade_range.low if layer.grade_range is not None else Grade.of(layer.score)


def _shown(grade_text: str, layer: LayerResult) -> str:
    if layer.grade_range is not None and not layer.grade_range.firm:
        return f"{layer.grade_range} (low end {layer.grade_range.low.value})"
    return grade_text


def evaluate_gates(scorecard: Scorecard, hypothesis_code: int, *,
                   fail_under: Grade | None = None,
                   required: Collection[int] = (),
                   hypothesis_only: bool = False) -> GateVerdict:
    """Apply the gates (module docstring) to a finished run.

    Args:
        scorecard: the run's scorecard.
        hypothesis_code: the Chaos Toolkit exit code (0 held, 1 failed/deviated/aborted,
            130 interrupted), ``RunOutcome.exit_code``.
        fail_under: the bar, or None for no grade gate.
        required: layer numbers that must have been measured.
        hypothesis_only: do not fail on failed checks (Chaos Toolkit's exit code).

    Returns:
        the exit code and the reasons; ``code`` is ``hypothesis_code`` when no gate failed.
    """
    reasons: list[str] = []
    if not hypothesis_only:
        failed = scorecard.failed_checks()
        if failed:
            names = [c.name for c in failed]
            more = f" +{len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
            reasons.append(f"{len(names)} failed check{'s' * (len(names) != 1)}: "
                           f"{', '.join(names[:NAMES_SHOWN])}{more}")
    for number in sorted(required):
        layer = scorecard.layers.get(number) or LayerResult(number)
        if not layer.measured:
            note = layer.note or "not measured"
            why = note if note.startswith("not measured") else f"not measured: {note}"
            reasons.append(f"required layer {layer.key} was not measured ({why})")
    if fail_under is not None:
        measured = [r for n, r in sorted(scorecard.layers.items()) if r.measured]
        if not measured:
            reasons.append(f"no layer was measured: nothing meets --fail-under "
                           f"{fail_under.value}")
        for layer in measured:
            low = _low_end(layer)
            if not low.meets(fail_under):
                reasons.append(f"layer {layer.key} grade {_shown(layer.grade, layer)} is "
                               f"below --fail-under {fail_under.value}")
    code = hypothesis_code
    if reasons and code == EXIT_OK:
        code = EXIT_FAILED
    return GateVerdict(code, reasons)
