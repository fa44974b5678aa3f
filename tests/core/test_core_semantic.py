"""The semantic scorer with the real packaged embedding model (one test: loading takes ~10 s)."""

from __future__ import annotations

from aichaos.config import ScorerSpec
from aichaos.dataset import Case
from aichaos.scoring import build_scorer


def test_semantic_paraphrase_beats_unrelated_and_threshold_decides() -> None:
    case = Case(id="r", input="How long do refunds take?",
                expected="The refund is issued within five business days.")
    paraphrase = "You will get your money back in 5 working days."
    unrelated = "Our headquarters are located in Seattle, Washington."

    lenient = build_scorer(ScorerSpec(type="semantic", threshold=0.5))
    strict = build_scorer(ScorerSpec(type="semantic", threshold=0.95))

    para, other = lenient.score(paraphrase, case), lenient.score(unrelated, case)
    assert para.value > other.value + 0.3
    assert 0.5 <= para.value < 0.95
    assert para.passed is True
    assert other.passed is False

    again = strict.score(paraphrase, case)
    assert again.value == para.value
    assert again.passed is False
    assert strict.score("", case).explanation == "empty answer"
