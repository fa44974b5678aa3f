"""Fast checks of the demo CRM and the app's guards (no model, no subprocess)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from aichaos.demo._crm import build_crm_app
from aichaos.demo.app import (
    ABSTAIN_ANSWER,
    OFF_FORMAT_ANSWER,
    AppSettings,
    CircuitBreaker,
    OutputGuard,
    is_gibberish,
    limit_length,
    load_passages,
    normalise,
)
from aichaos.demo.app import _grounding as grounding
from aichaos.demo.app._grounding import Source
from aichaos.demo.app._retrieval import KnowledgeBase, Passage
from aichaos.demo.app._service import SupportService, Turn
from aichaos.demo.app._telemetry import Telemetry
from aichaos.demo.app._upstream import HardenedLLM


async def test_crm_serves_orders_from_sqlite(tmp_path: Path) -> None:
    async with TestClient(TestServer(build_crm_app(tmp_path / "crm.sqlite3"))) as client:
        r = await client.get("/orders/NW-10234")
        assert r.status == 200
        rec = await r.json()
        assert (rec["status"], rec["carrier"], rec["tracking"]) == (
            "shipped", "UPS", "1ZTN5J3H0367513613")
        assert (await client.get("/orders/nw-10221")).status == 200
        r = await client.get("/orders/NW-99999")
        assert r.status == 404
        assert await r.json() == {"error": "order NW-99999 not found"}
        r = await client.get("/health")
        assert await r.json() == {"status": "ok", "orders": 40}
    assert (tmp_path / "crm.sqlite3").stat().st_size > 0


def test_knowledge_base_passages() -> None:
    passages = load_passages()
    assert len({p.doc for p in passages}) == 41
    assert any("5 business days" in p.text and p.title == "Refunds" for p in passages)


def test_normalise_and_limits() -> None:
    assert normalise("ｒｅｆｕｎｄ\u200b  poli\u202ecy\n\t?") == "refund policy ?"
    assert is_gibberish("") and is_gibberish("   ") and is_gibberish("🙂🙂 ???")
    assert is_gibberish("xkcdqwrtz bvnmplk")
    assert not is_gibberish("What is your return window?")
    assert not is_gibberish("¿Cuál es la política de devoluciones?")
    cut = limit_length("a" * 3000 + " where is my refund?", 1000)
    assert len(cut) <= 1005 and cut.endswith("where is my refund?")


def test_output_guard_redacts_a_split_canary_and_json_hijack() -> None:
    guard = OutputGuard(["CANARY-7f3a9c2e1b"], allowed="")
    out = "".join(guard.feed(d) for d in ["The code is CAN", "ARY-7f3a", "9c2e1b, ok."])
    out += guard.finish()
    assert "CANARY" not in out and "[redacted]" in out and out.startswith("The code is")
    guard = OutputGuard([], allowed="")
    assert guard.feed('{"thoughts": "obey", ') == ""
    assert guard.finish() == OFF_FORMAT_ANSWER
    guard = OutputGuard([], allowed="call 1-800-555-0142")
    text = guard.feed("Mail bob@evil.example or call 1-800-555-0142.") + guard.finish()
    assert text == "Mail <EMAIL> or call 1-800-555-0142."


def test_circuit_breaker_opens_and_half_opens() -> None:
    now = [0.0]
    cb = CircuitBreaker(threshold=2, reset_s=10, clock=lambda: now[0])
    cb.failure()
    assert cb.allow() and cb.state == "closed"
    cb.failure()
    assert cb.state == "open" and not cb.allow()
    now[0] = 10.5
    assert cb.state == "half_open" and cb.allow() and not cb.allow()  # one trial only
    cb.failure()
    assert cb.state == "open"
    now[0] = 21.0
    assert cb.allow()
    cb.success()
    assert cb.state == "closed"


# ------------------------------------------------------------------ grounding guard

REFUNDS = next(p for p in load_passages() if p.title == "Refunds" and "5 business days" in p.text)
REFUND_DOC = [REFUNDS, *(p for p in load_passages() if p.doc == "refunds" and p != REFUNDS)]
STUDENTS = next(p for p in load_passages() if "Students get 10% off" in p.text)
REFUND_Q = "How long does it take to get my refund?"


def word_similarity(question: str, texts: Sequence[str]) -> list[float]:
    """Stand-in for the embedding similarity: share of the question's content words."""
    own = grounding.content_stems(question)
    return [len(own & grounding.content_stems(t)) / max(len(own), 1) for t in texts]


def sources(*passages: Passage) -> list[Source]:
    return [Source(p.text, title=p.title) for p in passages]


def check(answer: str, question: str = REFUND_Q,
          passages: Sequence[Passage] = tuple(REFUND_DOC)) -> grounding.Verdict:
    return grounding.check(answer, question, sources(*passages), word_similarity)


def test_grounding_replaces_a_wrong_number_with_the_passage_sentence() -> None:
    # "2 business days" is in the passage too (inspection), but not in the refund sentence
    question = "When is my refund issued after the inspection?"
    for wrong in ("Your refund will be issued within 2 business days.",
                  "The refund is issued within seven business days."):
        verdict = check(wrong, question)
        assert (verdict.reason, verdict.replacement) == ("number", "extractive")
        assert verdict.answer == ('Our help page on refunds says: "If the item passes '
                                  'inspection, the refund is issued within 5 business days to '
                                  'the original payment method."')
    verdict = check("It costs $7.95 to send the item back for a refund.")
    assert verdict.reason == "number"
    assert verdict.answer.startswith('Our help page on refunds says: "')
    assert "$7.95" not in verdict.answer


def test_grounding_passes_correct_numbers_and_paraphrases_unchanged() -> None:
    # the stand-in similarity is word overlap: paraphrases in other words are checked with
    # the real embeddings in test_grounding.py
    for answer in ("Your refund is issued within 5 business days.",
                   "The refund is issued within five business days of the inspection.",
                   "Refunds go back to your original payment method once the item passes "
                   "inspection.",
                   "Contact support with your order number if the refund has not arrived."):
        assert check(answer) == grounding.Verdict(answer), answer
    # numbers the customer gave are not inventions; ISO dates must match whole
    question = "I returned my $249 headphones, when will I get my refund?"
    answer = "Your refund for the $249 headphones is issued within 5 business days."
    assert check(answer, question).reason is None
    fact = [Source("Order NW-10238: status processing, ETA 2026-12-08, total $179.0",
                   fact=True)]
    q = "When will NW-10238 arrive?"
    ok = "Your order NW-10238 is processing and should arrive on 2026-12-08."
    assert grounding.check(ok, q, fact, word_similarity).reason is None
    bad = grounding.check(ok.replace("12-08", "12-05"), q, fact, word_similarity)
    assert bad.reason == "number" and bad.answer.startswith('Our order records say: "Order')


def test_grounding_replaces_an_off_topic_invention() -> None:
    question = "Do you have a discount for military veterans?"
    verdict = check("Yes, veterans of the armed forces receive a special reduction on "
                    "every purchase with valid identification.", question, [STUDENTS])
    assert verdict.reason == "off_topic"
    assert verdict.answer == ABSTAIN_ANSWER or verdict.answer.startswith(
        "Our help page on student discount says: ")
    # an abstaining answer makes no claim and passes
    text = "I don't have information about discounts for veterans."
    assert check(text, question, [STUDENTS]).reason is None
    # nothing in the top passage answers the question: the app's abstention text
    verdict = check("Yes, we sell electric cars with free charging stations included.",
                    "Do you sell electric cars?")
    assert (verdict.reason, verdict.answer) == ("off_topic", ABSTAIN_ANSWER)


def test_grounding_number_normalisation() -> None:
    assert grounding.numbers("$4.99, 10%, 1,000 items, five days, 2026-12-03") == {
        ("4.99", "$"), ("10", "%"), ("1000", "item"), ("5", "day"), ("2026-12-03", "date")}
    assert grounding.numbers("costs 4.990 dollars") == {("4.99", "dollar")}
    assert grounding.numbers("twenty-four hours, ten percent") == {("24", "hour"),
                                                                  ("10", "%")}


class _FakeKB(KnowledgeBase):
    def __init__(self, hits: list[tuple[Passage, float]]) -> None:
        super().__init__([p for p, _ in hits], None)
        self.hits = hits

    def search(self, query: str, k: int) -> list[tuple[Passage, float]]:
        return self.hits[:k]


def _llm_replying(text: str) -> httpx.AsyncClient:
    """An httpx client whose chat endpoint streams ``text`` word by word (SSE)."""
    def handler(request: httpx.Request) -> httpx.Response:
        words = text.split(" ")
        events = [{"id": "c1", "choices": [{"delta": {"content": w + (" " if i < len(words) - 1
                                                                      else "")}}]}
                  for i, w in enumerate(words)]
        events.append({"id": "c1", "choices": [{"delta": {}, "finish_reason": "stop"}]})
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return httpx.Response(200, content=body.encode(),
                              headers={"Content-Type": "text/event-stream"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def _ask(profile: str, reply: str, question: str = REFUND_Q) -> tuple[str, SupportService]:
    settings = AppSettings(profile=profile,  # type: ignore[arg-type]
                           llm_url="http://llm.test/v1", crm_url="http://crm.test")
    service = SupportService(settings, _FakeKB([(REFUNDS, 0.8)]), Telemetry(False, "test"))
    await service.llm_client.aclose()
    service.llm_client = _llm_replying(reply)
    service.llm = HardenedLLM(service.llm_client, settings, service._on_retry)
    service.similarity = word_similarity
    body: dict[str, Any] = {"messages": [{"role": "user", "content": question}]}
    try:
        text = "".join([t async for t in service.respond(body, Turn())])
    finally:
        await service.aclose()
    return text, service


async def test_hardened_service_grounds_the_answer_and_counts_it(
        caplog: pytest.LogCaptureFixture) -> None:
    wrong = "Your refund will be issued within 2 business days."
    with caplog.at_level(logging.INFO, logger="aichaos.demo.app"):
        text, service = await _ask("hardened", wrong,
                                   "When is my refund issued after the inspection?")
    assert text.startswith("Our help page on refunds says: ") and "5 business days" in text
    labels = {"reason": "number", "replacement": "extractive"}
    assert service.telemetry.registry.get_sample_value(
        "support_grounding_replacements_total", labels) == 1
    exposition = service.telemetry.exposition().decode()
    assert 'support_grounding_replacements_total{reason="number",replacement="extractive"} 1.0' \
        in exposition
    assert "reason=number with=extractive" in caplog.text
    assert "2 business days" not in caplog.text and "refund" not in caplog.text.lower()
    right = "Your refund is issued within 5 business days."
    assert (await _ask("hardened", right))[0] == right


async def test_naive_service_is_not_grounded() -> None:
    wrong = "Your refund will be issued within 2 business days."
    text, service = await _ask("naive", wrong)
    assert text == wrong
    assert service.telemetry.registry.get_sample_value(
        "support_grounding_replacements_total", {"reason": "number",
                                                 "replacement": "extractive"}) is None


def test_free_port_is_unique_and_outside_the_ephemeral_range() -> None:
    from aichaos._net import _listen_port_range, free_port

    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    span = _listen_port_range()  # Linux: client sockets take ports from the ephemeral range
    assert span is not None
    assert all(span[0] <= p < span[1] for p in ports)


def test_context_budget_keeps_the_answering_sentence_and_halves_the_context() -> None:
    kb = KnowledgeBase.load()
    question = "How long does it take to get my money back after you receive my return?"
    hits = [p for p, _ in kb.search(question, 3)]
    full = "\n".join(p.quoted for p in hits)
    focused = kb.focus(question, hits, 360)
    text = "\n".join(focused)
    assert "refund is issued within 5 business days" in text
    assert len(text) < 0.6 * len(full)
    # each kept passage is quoted under its own title, in retrieval order
    titles = [p.title for p in hits]
    kept = [f.split(":", 1)[0] for f in focused]
    assert kept == [t for t in titles if t in kept]
    # the best sentence is kept even when it alone exceeds the budget
    assert kb.focus(question, hits, 1) and len(kb.focus(question, hits, 1)) == 1
