"""Layer 2 per case: the clean-vs-clean noise floor and each golden case's one score.

Every golden case is sent clean twice (variants ``clean`` and ``clean_resample``, the second
past any response cache). The two clean answers give the case's *noise floor*: whether the
answer changes with no perturbation at all (judged by the same rule as a perturbed answer),
and its *clean accuracy* ``r`` (the share of the two that pass the case's scorer).

A case's score is its *invariance to a correct answer*, judged against that floor:

* answer rows (perturbations that keep a question to answer): the perturbed accuracy ``p`` of
  the case's perturbed answers, as a share of its clean accuracy, ``min(1, p / r)``; 0 when
  neither clean answer was correct (``r = 0``: there is no correct answer for a perturbation
  to keep, so a bot that answers every question wrongly, or apologises for every one, is
  not "invariant"). With a stable target (``r`` 0 or 1) this is the share of perturbed
  answers that are correct; with a noisy one a perturbation counts as breaking the answer
  only beyond the case's own clean-vs-clean failure rate. This is PromptBench's
  ``1 - PDR`` (Zhu et al. 2023, eq. 1) computed per case and clipped at 1.
* clarification rows (empty, blank, gibberish input): the share answered with a
  clarification or polite refusal; no clean answer is involved.

The case score is the row-weighted mean of the two parts, in [0, 1]; the layer's interval is
over these case scores (:mod:`aichaos.probes._verdicts`), so ~270 requests on 4 cases count as
4 units, not 270.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aichaos._events import CaseResult


@dataclass(frozen=True, slots=True)
class CaseFloor:
    """The clean pair of one golden case.

    Attributes:
        clean_accuracy: share of the clean answers (1 or 2) that passed the case's scorer.
        noisy: the re-sampled clean answer is not invariant to the first (or one errored and
            the other did not): the case's answer moves with no perturbation.
        reason: one line for reports.
    """

    clean_accuracy: float
    noisy: bool
    reason: str


def clean_floor(clean: CaseResult | None, resample: CaseResult | None,
                same: Callable[[CaseResult, CaseResult], bool]) -> CaseFloor:
    """The noise floor of one case from its two clean answers.

    Args:
        clean, resample: the two clean observations (either may be missing).
        same: whether the re-sample is invariant to the first clean answer (the layer's
            :func:`aichaos.probes._resilience.judge` rule, applied clean vs clean).
    """
    samples = [r for r in (clean, resample) if r is not None]
    acc = sum(1 for r in samples if r.passed and not r.error_class) / len(samples) \
        if samples else 0.0
    if clean is None or resample is None:
        return CaseFloor(acc, False, "no re-sample")
    if bool(clean.error_class) != bool(resample.error_class):
        return CaseFloor(acc, True, "one clean request errored and the other did not")
    if clean.error_class:
        return CaseFloor(acc, False, "both clean requests errored")
    if same(clean, resample):
        return CaseFloor(acc, False, "clean answers agree")
    return CaseFloor(acc, True, "clean answers disagree with no perturbation")


@dataclass(frozen=True, slots=True)
class Row:
    """One perturbed answer reduced to what the case score needs.

    Attributes:
        case_id: the golden case.
        clarification_row: the perturbation expects a clarification (no answer expected).
        ok: clarification rows: a clarification was given; answer rows: the answer is
            correct (or, for a cut-off question, asks what the user meant).
    """

    case_id: str
    clarification_row: bool
    ok: bool


def case_scores(rows: Sequence[Row], floors: dict[str, CaseFloor]) -> dict[str, float]:
    """Case id -> invariance to a correct answer in [0, 1] (module docstring), in first-seen
    order of ``rows``; cases with no perturbed row are absent."""
    by_case: dict[str, list[Row]] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    out: dict[str, float] = {}
    for case, items in by_case.items():
        answers = [r for r in items if not r.clarification_row]
        asks = [r for r in items if r.clarification_row]
        r_clean = floors[case].clean_accuracy if case in floors else 0.0
        p = sum(r.ok for r in answers) / len(answers) if answers else 0.0
        answer_part = 0.0 if r_clean == 0 else min(1.0, p / r_clean)
        out[case] = (answer_part * len(answers) + sum(r.ok for r in asks)) / len(items)
    return out
