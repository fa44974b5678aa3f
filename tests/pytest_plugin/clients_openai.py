"""Inner test file run by pytester: clients built on the official ``openai`` package.

The resilient clients lean on the SDK's own retry logic (``max_retries``, which honours
``Retry-After``) and timeouts; the naive ones have the defects users write around it.
"""

import time

import openai

MESSAGES = [{"role": "user", "content": "refund?"}]


def client(chaos, **kwargs):
    return openai.OpenAI(base_url=chaos.base_url, api_key="sk-test-not-a-secret", **kwargs)


def stream_text(c, *, check_finish=True):
    text, finish = "", None
    for chunk in c.chat.completions.create(model="scripted-llm", messages=MESSAGES,
                                           stream=True):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    if check_finish and finish is None:
        raise RuntimeError("stream ended without finish_reason")
    return text


def complete(c):
    r = c.chat.completions.create(model="scripted-llm", messages=MESSAGES)
    return r.choices[0].message.content


# ----------------------------------------------------------------- Retry-After

def test_retry_after_resilient(chaos):
    chaos.llm()
    chaos.rate_limit(times=1, retry_after=1)
    c = client(chaos, max_retries=2)  # the SDK's own retries honour Retry-After
    chaos.assert_resilient(chaos.call(complete, c))


def test_retry_after_naive(chaos):
    chaos.llm()
    chaos.rate_limit(times=1, retry_after=1)
    c = client(chaos, max_retries=0)

    def fixed_wait_retry():
        for _ in range(3):
            try:
                return complete(c)
            except openai.RateLimitError:
                time.sleep(0.05)  # the defect: a fixed short wait, inside the window
        raise RuntimeError("gave up")

    chaos.assert_resilient(chaos.call(fixed_wait_retry))


# ----------------------------------------------------------- truncated stream

def test_truncated_stream_resilient(chaos):
    chaos.llm()
    chaos.stream_cut(after_chunks=3)
    c = client(chaos, max_retries=0)

    def retry_incomplete():
        for _ in range(2):
            try:
                return stream_text(c)
            except (openai.APIError, RuntimeError):
                continue
        raise RuntimeError("no complete answer")

    chaos.assert_resilient(chaos.call(retry_incomplete))


def test_truncated_stream_naive(chaos):
    chaos.llm()
    chaos.stream_cut(after_chunks=3)
    c = client(chaos, max_retries=0)
    text = ""
    try:
        for chunk in c.chat.completions.create(model="scripted-llm", messages=MESSAGES,
                                               stream=True):
            text += chunk.choices[0].delta.content or ""
    except openai.APIError:
        pass  # the defect: what arrived is shown as the answer
    chaos.assert_resilient(text)


# ------------------------------------------------------------- stalled stream

def test_stalled_stream_resilient(chaos):
    chaos.llm()
    chaos.stall(after_chunks=2, seconds=1.5)
    c = client(chaos, max_retries=0, timeout=openai.Timeout(5, read=0.3))

    def retry_on_timeout():
        for _ in range(2):
            try:
                return stream_text(c)
            except openai.APIError:         # the SDK wraps a read timeout as APITimeoutError
                continue
        raise RuntimeError("no answer")

    chaos.assert_resilient(chaos.call(retry_on_timeout), deadline_s=1.0)


def test_stalled_stream_naive(chaos):
    chaos.llm()
    chaos.stall(after_chunks=2, seconds=1.5)
    c = client(chaos, max_retries=0)  # the SDK's default timeout is 600 s
    chaos.assert_resilient(chaos.call(stream_text, c), deadline_s=1.0)


# ---------------------------------------------------------- unbounded retries

def test_unbounded_retries_resilient(chaos):
    chaos.llm()
    chaos.http_error(503, times=6)
    c = client(chaos, max_retries=2)  # the SDK's backoff, 3 attempts in all
    outcome = chaos.call(complete, c)
    assert isinstance(outcome.error, openai.InternalServerError)
    chaos.assert_resilient(outcome, max_attempts=3)


def test_unbounded_retries_naive(chaos):
    chaos.llm()
    chaos.http_error(503, times=6)
    c = client(chaos, max_retries=0)

    def until_it_works():
        while True:  # the defect: no bound on attempts
            try:
                return complete(c)
            except openai.InternalServerError:
                time.sleep(0.02)

    chaos.assert_resilient(chaos.call(until_it_works), max_attempts=3)
