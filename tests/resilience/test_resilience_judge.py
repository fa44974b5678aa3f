"""The invariance rules of the layer-2 suite, one by one (a fake similarity, no model)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import aichaos.runner  # noqa: F401 - first: importing aichaos.probes alone is circular
from aichaos.probes._resilience import judge


def fixed(value: float) -> Callable[[str, str], float]:
    def sim(a: str, b: str) -> float:
        return value

    return sim


def never(a: str, b: str) -> float:
    raise AssertionError("similarity must not be computed here")


CLEAN = "Refunds take 5 business days."
KW = {"expects_clarification": False, "changes_meaning": False, "threshold": 0.68}


def test_clean_correct_then_perturbed_must_stay_correct() -> None:
    assert judge("Five business days.", True, CLEAN, True, sim=never, **KW).invariant
    v = judge("Refunds take 15 business days.", False, CLEAN, True, sim=never, **KW)
    assert not v.invariant and v.reason.startswith("clean answer was correct")


@pytest.mark.parametrize(("similarity", "invariant"), [(0.69, True), (0.68, True),
                                                       (0.67, False)])
def test_clean_wrong_then_equivalence_decides(similarity: float, invariant: bool) -> None:
    v = judge("Refunds need a week.", False, "It takes a week.", False,
              sim=fixed(similarity), **KW)
    assert v.consistent is invariant and v.similarity == similarity
    # equivalent to a *wrong* clean answer: consistent, never invariant (issue 12, item 6)
    assert v.invariant is False and ("no correct answer to keep" in v.reason) is invariant


def test_identical_or_correct_answers_need_no_model() -> None:
    v = judge(" It takes a week. ", False, "It takes a week.", False, sim=never, **KW)
    assert v.consistent and v.similarity == 1.0 and v.equivalent and not v.invariant
    v = judge("5 business days", True, "no idea", False, sim=never, **KW)
    assert v.consistent and not v.invariant  # right now, but the clean answer was wrong
    assert judge("5 business days", True, CLEAN, True, sim=never, **KW).invariant


def test_canned_apology_is_consistent_not_invariant() -> None:
    sorry = "Sorry, I can't help with that."
    v = judge(sorry, False, sorry, False, sim=never, **KW)
    assert v.consistent and v.similarity == 1.0 and v.invariant is False


def test_empty_answer_is_never_invariant() -> None:
    v = judge("  ", False, "", False, sim=never, **KW)
    assert v.empty and not v.invariant and v.reason == "empty answer"


def test_expected_clarification() -> None:
    kw = {**KW, "expects_clarification": True}
    assert judge("Could you please clarify your question?", False, CLEAN, True,
                 sim=never, **kw).invariant
    v = judge("Refunds take 5 business days.", True, CLEAN, True, sim=never, **kw)
    assert not v.invariant and v.reason == "answered instead of asking"


def test_truncated_question_may_get_a_clarification() -> None:
    ask = "I'm not sure what you're asking. Could you clarify?"
    assert judge(ask, False, CLEAN, True, sim=never, **{**KW, "changes_meaning": True}).invariant
    assert not judge(ask, False, CLEAN, True, sim=never, **KW).invariant
