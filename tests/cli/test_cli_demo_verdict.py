"""``aichaos demo``'s exit code: 0 when both profiles completed and hardened scores at least
naive on every layer naive measured, else 1; the naive profile failing its checks is the point
of the demo, not a failure of it. Before, the demo exited 0 whatever happened (130 aside).

The full demo (a real model, both apps) runs in tests/demo/test_demo_e2e.py; here the verdict
is judged on real RunOutcome/Scorecard objects of each shape.
"""

from __future__ import annotations

from pathlib import Path

from aichaos.demo import DemoResult, demo_verdict
from aichaos.results import Check, LayerResult, Scorecard
from aichaos.runner import RunOutcome

PROFILES = ("naive", "hardened")


def _result(profile: str, scores: dict[int, float | None], status: str = "completed"
            ) -> DemoResult:
    card = Scorecard()
    for number, score in scores.items():
        card.set(LayerResult(number, score, checks=[
            Check(f"layer{number}.check", score is not None and score >= 70, score)]))
    journal = {"status": status, "deviated": False}
    return DemoResult(profile, RunOutcome(f"run-{profile}", journal, card), Path(profile))


def test_hardened_at_least_naive_everywhere_is_0_though_naive_fails_its_checks() -> None:
    naive = _result("naive", {1: 50.0, 3: 0.0, 5: 0.0})
    hardened = _result("hardened", {1: 50.0, 3: 100.0, 5: 100.0, 6: 80.0})
    assert naive.outcome.scorecard.failed_checks()  # the point of the demo
    verdict = demo_verdict([naive, hardened], PROFILES)
    assert (verdict.code, verdict.reasons) == (0, [])


def test_hardened_below_naive_on_a_layer_is_1_and_says_where() -> None:
    naive = _result("naive", {1: 50.0, 6: 62.5})
    hardened = _result("hardened", {1: 87.5, 6: 50.0})
    verdict = demo_verdict([naive, hardened], PROFILES)
    assert verdict.code == 1
    assert verdict.reasons == ["layer scale: hardened 50.0 below naive 62.5"]


def test_a_layer_naive_measured_and_hardened_did_not_is_1() -> None:
    verdict = demo_verdict([_result("naive", {3: 0.0}), _result("hardened", {3: None})],
                           PROFILES)
    assert verdict.reasons == ["layer integration: hardened not measured, naive 0.0"]


def test_a_profile_that_did_not_complete_is_1() -> None:
    naive = _result("naive", {}, status="failed")  # steady state not met before the method
    hardened = _result("hardened", {1: 90.0})
    verdict = demo_verdict([naive, hardened], PROFILES)
    assert (verdict.code, verdict.reasons) == (
        1, ["profile naive did not complete (status failed)"])
    assert demo_verdict([hardened], PROFILES).reasons == ["profile naive did not run"]


def test_one_profile_asked_for_and_completed_is_0_and_interrupted_is_130() -> None:
    assert demo_verdict([_result("naive", {1: 10.0})], ("naive",)).code == 0
    interrupted = _result("naive", {1: 10.0}, status="interrupted")
    assert demo_verdict([interrupted], PROFILES).code == 130
