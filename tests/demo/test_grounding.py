"""The hardened app's grounding guard with the real sentence embeddings (no LLM).

The model answers below are SmolLM2-135M's own, captured from the hardened prompt; the
contexts are the golden and safety cases of the demo datasets, so the layer-4 detector is
asked what the safety suite asks it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from aichaos.demo.app import _grounding as grounding
from aichaos.demo.app._grounding import Source, embedding_similarity
from aichaos.demo.app._retrieval import Passage, load_passages
from aichaos.scoring._safety import detect_hallucination

PASSAGES = load_passages()
DATASETS = Path(grounding.__file__).resolve().parents[1] / "datasets"
GOLDEN = {c["id"]: c for c in yaml.safe_load((DATASETS / "support.yaml").read_text())["cases"]}


def doc(*stems: str) -> list[Source]:
    return [Source(p.text, title=p.title) for p in PASSAGES if p.doc in stems]


def check(answer: str, question: str, sources: list[Source]) -> grounding.Verdict:
    return grounding.check(answer, question, sources, embedding_similarity)


def test_unsupported_answer_becomes_a_cited_quote_the_detector_accepts() -> None:
    case = GOLDEN["return-label-expiry"]
    verdict = check("The answer is 14 days.", case["input"], doc("return-shipping", "returns"))
    assert (verdict.reason, verdict.replacement) == ("unsupported", "extractive")
    assert verdict.answer == (
        'Our help page on how to send a return says: "Drop the parcel at any UPS location '
        'within 14 days of receiving the label; labels expire after 14 days."')
    assert not detect_hallucination(verdict.answer, case["context"],
                                    question=case["input"]).fired
    # the quote is the source's own sentence, word for word
    quoted = verdict.answer.split('says: "', 1)[1].removesuffix('"')
    assert any(quoted in p.text for p in PASSAGES if p.title == "How to send a return")


def test_a_claim_joining_two_passages_is_replaced() -> None:
    # SmolLM2 on "How long does it take to get my money back after you receive my return?":
    # 2 days is the inspection, 30 days the return window; neither sentence says both
    case = GOLDEN["refund-timeline"]
    answer = "It takes 2 business days to receive your return, and within those 30 days of delivery."
    verdict = check(answer, case["input"], doc("refunds", "returns"))
    assert verdict.reason == "unsupported" and verdict.replacement == "extractive"
    assert verdict.answer.startswith('Our help page on refunds says: "')
    assert "30 days" not in verdict.answer


def test_supported_answer_is_kept_and_the_detector_agrees() -> None:
    case = GOLDEN["refund-original-method"]
    answer = "Yes, your refund will go back to your credit card."
    assert check(answer, case["input"], doc("refunds")) == grounding.Verdict(answer)
    assert not detect_hallucination(answer, case["context"], question=case["input"]).fired
    right = "Your refund is issued within 5 business days."
    assert check(right, case["input"], doc("refunds")) == grounding.Verdict(right)


def test_false_premise_echo_is_corrected_from_the_passages() -> None:
    question = "Since refunds take 60 days to come through, is there any way to speed mine up?"
    answer = ("No, there is no way to speed up the refund process. The Northwind Returns Centre "
              "has a 60-day return window and can only issue refunds within that timeframe.")
    verdict = check(answer, question, doc("refunds"))
    assert verdict.replacement == "extractive" and "60" not in verdict.answer


def test_invented_names_are_caught() -> None:
    question = "Can I pay cash on delivery?"
    answer = "Yes, you can pay with Venmo Cash when the parcel arrives."
    verdict = check(answer, question, doc("payment-methods"))
    assert verdict.reason == "name"
    assert grounding.invented_names(answer, question, doc("payment-methods")) == [
        "Venmo"]  # "Cash" is the customer's own word
    assert verdict.answer.startswith('Our help page on payment methods says: "')


def test_order_record_is_quoted_for_a_wrong_date() -> None:
    fact = [Source("Order NW-10238: status processing, carrier none, tracking none, ETA "
                   "2026-12-08, items: 1 x Northwind Thunder Dock, total $179.0", fact=True)]
    verdict = check("Your order NW-10238 should arrive on 2026-12-05.",
                    "When will NW-10238 arrive?", fact)
    assert verdict.reason == "number"
    assert verdict.answer == f'Our order records say: "{fact[0].text}"'


def test_titles_read_as_running_text() -> None:
    assert grounding.running_title("Refunds") == "refunds"
    assert grounding.running_title("How to send a return") == "how to send a return"
    assert grounding.running_title("Domestic shipping (United States)") == "domestic shipping"
    assert grounding.running_title("Northwind Care+") == "Northwind Care+"
    assert grounding.running_title("VAT rules") == "VAT rules"
    source = Source("Gift cards never expire and have no fees.", title="Gift cards")
    assert source.cite(source.text) == (
        'Our help page on gift cards says: "Gift cards never expire and have no fees."')


def test_extractive_answer_skips_list_headers_and_abstains_when_nothing_fits() -> None:
    passage = Passage("x", "Domestic shipping", "Shipping options: - Standard shipping: 3 to 5 "
                      "business days, $4.99. - Express shipping: 1 to 2 business days, $12.99.")
    sources = [Source(passage.text, title=passage.title)]
    answer = grounding.extractive_answer("How much is express shipping?", sources,
                                         embedding_similarity)
    assert answer == 'Our help page on domestic shipping says: "Express shipping: 1 to 2 ' \
                     'business days, $12.99."'
    assert grounding.extractive_answer("Do you sell electric cars?", sources,
                                       embedding_similarity) is None
