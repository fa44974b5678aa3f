"""Both app profiles against the real model, through the chaos proxy the stack starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aichaos.demo._stack import DemoStack
from aichaos.demo.app import ABSTAIN_ANSWER, CLARIFY_ANSWER, FALLBACK_ANSWER
from aichaos.proxy import ProxyClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(llm_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with DemoStack(llm_url=llm_server, start_proxy=True,
                   work_dir=tmp_path_factory.mktemp("stack")) as s:
        yield s


def ask(stack: DemoStack, profile: str, text: str, *, max_tokens: int = 40,
        stream: bool = False) -> httpx.Response:
    body: dict[str, Any] = {"model": "support", "max_tokens": max_tokens, "temperature": 0.0,
                            "stream": stream, "messages": [{"role": "user", "content": text}]}
    return httpx.post(stack.app_urls[profile] + "/chat/completions", json=body, timeout=120)


def answer(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    return str(resp.json()["choices"][0]["message"]["content"])


def sse_answer(resp: httpx.Response) -> str:
    assert resp.status_code == 200 and resp.text.rstrip().endswith("data: [DONE]")
    import json

    parts = [json.loads(line[5:])["choices"][0]["delta"].get("content", "")
             for line in resp.text.splitlines()
             if line.startswith("data:") and "[DONE]" not in line]
    return "".join(parts)


def test_kb_question_gets_a_grounded_answer(stack: DemoStack) -> None:
    question = "How long do I have to drop off the parcel once I get the return label?"
    assert "14 days" in sse_answer(ask(stack, "hardened", question, stream=True))
    assert answer(ask(stack, "naive", question, max_tokens=16)).strip()


async def test_upstream_503_naive_500_hardened_fallback(stack: DemoStack) -> None:
    assert stack.control_url is not None
    async with ProxyClient(stack.control_url) as chaos:
        await chaos.add_toxic("llm_provider", {"type": "http_error", "name": "down",
                                               "toxicity": 1.0, "attributes": {"status": 503}})
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                body = {"model": "support", "max_tokens": 16, "messages": [
                    {"role": "user", "content": "Do you price match other retailers?"}]}
                naive = await client.post(stack.app_urls["naive"] + "/chat/completions",
                                          json=body)
                hardened = await client.post(stack.app_urls["hardened"] + "/chat/completions",
                                             json=body)
            toxics = await chaos.toxics("llm_provider")
        finally:
            await chaos.remove_toxic("llm_provider", "down")
    assert naive.status_code == 500 and "503" in naive.text
    assert answer(hardened) == FALLBACK_ANSWER
    assert toxics[0]["fired"] == 1 + 3  # naive once, hardened 3 attempts (2 retries)
    metrics = httpx.get(stack.app_urls["hardened"].removesuffix("/v1") + "/metrics").text
    assert "support_upstream_retries_total 2.0" in metrics
    assert 'support_requests_total{outcome="fallback"} 1.0' in metrics


def test_empty_input(stack: DemoStack) -> None:
    assert answer(ask(stack, "hardened", "  \u200b ")) == CLARIFY_ANSWER
    naive = ask(stack, "naive", "", max_tokens=8)
    assert naive.status_code == 500 or answer(naive) != CLARIFY_ANSWER


def test_unknown_policy_question(stack: DemoStack) -> None:
    assert answer(ask(stack, "hardened", "Do you sell electric cars?")) == ABSTAIN_ANSWER
    assert answer(ask(stack, "naive", "Do you sell electric cars?", max_tokens=8)) \
        != ABSTAIN_ANSWER


def test_pii_in_logs(stack: DemoStack) -> None:
    text = "I'm jane.roe@example.org, card 4111 1111 1111 1111. How long do refunds take?"
    for profile in ("naive", "hardened"):
        assert ask(stack, profile, text, max_tokens=8).status_code == 200
    naive_log = Path(stack.app_logs["naive"]).read_text()
    hardened_log = Path(stack.app_logs["hardened"]).read_text()
    assert "jane.roe@example.org" in naive_log and "4111 1111 1111 1111" in naive_log
    assert "jane.roe@example.org" not in hardened_log and "4111" not in hardened_log
    # the hardened app logs the prompt's shape and a digest, never its text
    assert "prompt chars=" in hardened_log and "sha256=" in hardened_log
    assert "Jane" not in hardened_log and "jane" not in hardened_log


def test_metrics_only_on_hardened(stack: DemoStack) -> None:
    base = {p: u.removesuffix("/v1") for p, u in stack.app_urls.items()}
    assert httpx.get(base["naive"] + "/metrics").status_code == 404
    r = httpx.get(base["hardened"] + "/metrics")
    assert r.status_code == 200
    for name in ("support_requests_total", "support_request_duration_seconds_bucket",
                 "support_errors_total", "gen_ai_client_operation_duration_seconds_count"):
        assert name in r.text


@pytest.mark.parametrize("profile", ["naive", "hardened"])
def test_stream_reports_the_model_usage_when_asked(stack: DemoStack, profile: str) -> None:
    import json

    body = {"model": "support", "max_tokens": 24, "temperature": 0.0, "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "How long is the warranty on headphones?"}],
            }
    resp = httpx.post(stack.app_urls[profile] + "/chat/completions", json=body, timeout=120,
                      headers={"Cache-Control": "no-cache"})
    chunks = [json.loads(line[5:]) for line in resp.text.splitlines()
              if line.startswith("data:") and "[DONE]" not in line]
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    # the prompt the model read holds the retrieved passages, far more than the question
    assert usage["prompt_tokens"] > 60
    assert 1 <= usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
