"""Inner test file run by pytester: resilient and naive httpx clients against the chaos fixture.

Each fault has a resilient client (must pass) and a naive one (must fail for that fault's
reason). The clients talk to a scripted LLM through the real chaos proxy.
"""

import json
import time

import httpx

BODY = {"model": "scripted-llm", "messages": [{"role": "user", "content": "refund?"}]}


def ask(client, url, *, retries=1, honour_retry_after=True, until_success=False):
    """Non-streamed completion with a retry policy; returns the answer text."""
    attempt = 0
    while True:
        attempt += 1
        r = client.post(url + "/chat/completions", json=BODY)
        if r.status_code == 200:
            return r.json()["choices"][0]["message"]["content"]
        if not until_success and attempt >= retries:
            r.raise_for_status()
        wait = float(r.headers.get("retry-after", 0)) if honour_retry_after else 0.05
        time.sleep(wait)


def ask_stream(client, url, *, retries=1, check_finish=True):
    """Streamed completion; returns the joined text."""
    for attempt in range(retries):
        text, finish = "", None
        try:
            with client.stream("POST", url + "/chat/completions",
                               json={**BODY, "stream": True}) as r:
                for line in r.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    choice = json.loads(line[6:])["choices"][0]
                    text += choice["delta"].get("content") or ""
                    finish = choice["finish_reason"] or finish
        except httpx.HTTPError:
            if check_finish and attempt + 1 < retries:
                continue
            if check_finish:
                raise
            return text  # the defect: a broken stream's text returned as the answer
        if finish or not check_finish:
            return text
    raise RuntimeError("stream ended without finish_reason")


# ----------------------------------------------------------------- Retry-After

def test_retry_after_resilient(chaos):
    url = chaos.llm()
    chaos.rate_limit(times=1, retry_after=1)
    with httpx.Client(timeout=5) as c:
        chaos.assert_resilient(chaos.call(ask, c, url, retries=3))


def test_retry_after_naive(chaos):
    url = chaos.llm()
    chaos.rate_limit(times=1, retry_after=1)
    with httpx.Client(timeout=5) as c:
        chaos.assert_resilient(chaos.call(ask, c, url, retries=3, honour_retry_after=False))


# ----------------------------------------------------------- truncated stream

def test_truncated_stream_resilient(chaos):
    url = chaos.llm()
    chaos.stream_cut(after_chunks=3)
    with httpx.Client(timeout=5) as c:
        chaos.assert_resilient(chaos.call(ask_stream, c, url, retries=2))


def test_truncated_stream_naive(chaos):
    url = chaos.llm()
    chaos.stream_cut(after_chunks=3)
    with httpx.Client(timeout=5) as c:
        chaos.assert_resilient(chaos.call(ask_stream, c, url, check_finish=False))


# ------------------------------------------------------------- stalled stream

def test_stalled_stream_resilient(chaos):
    url = chaos.llm()
    chaos.stall(after_chunks=2, seconds=1.5)
    with httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as c:
        chaos.assert_resilient(chaos.call(ask_stream, c, url, retries=2), deadline_s=1.0)


def test_stalled_stream_naive(chaos):
    url = chaos.llm()
    chaos.stall(after_chunks=2, seconds=1.5)
    with httpx.Client(timeout=None) as c:
        chaos.assert_resilient(chaos.call(ask_stream, c, url, retries=2), deadline_s=1.0)


# ---------------------------------------------------------- unbounded retries

def test_unbounded_retries_resilient(chaos):
    url = chaos.llm()
    chaos.http_error(503, times=6)
    with httpx.Client(timeout=5) as c:
        outcome = chaos.call(ask, c, url, retries=3, honour_retry_after=False)
    assert isinstance(outcome.error, httpx.HTTPStatusError)  # a clean error after 3 tries
    chaos.assert_resilient(outcome, max_attempts=3)


def test_unbounded_retries_naive(chaos):
    url = chaos.llm()
    chaos.http_error(503, times=6)
    with httpx.Client(timeout=5) as c:
        chaos.assert_resilient(chaos.call(ask, c, url, until_success=True,
                                          honour_retry_after=False), max_attempts=3)
