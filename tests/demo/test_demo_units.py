"""Fast checks of the demo CRM and the app's guards (no model, no subprocess)."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from aichaos.demo._crm import build_crm_app
from aichaos.demo.app import (
    OFF_FORMAT_ANSWER,
    CircuitBreaker,
    OutputGuard,
    is_gibberish,
    limit_length,
    load_passages,
    normalise,
)


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
