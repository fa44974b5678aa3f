"""The raw HTTP target against a real loopback server; context-window probes."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator

import pytest

from aichaos.errors import ConfigError, TargetUnreachable
from aichaos.load import (
    RawHttpTarget,
    StepSpec,
    approx_tokens,
    build_needle_input,
    probe_context_window,
    run_step,
)
from aichaos.targets import Target, TargetRequest, TargetResponse


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            m = re.search(rb"content-length: *(\d+)", head, re.I)
            body = await reader.readexactly(int(m.group(1))) if m else b""
            path = head.split(b" ")[1]
            if path == b"/busy":
                writer.write(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
            elif path == b"/slow":
                await asyncio.sleep(2)
            elif path.endswith(b"/v1/chat/completions"):
                req = json.loads(body)
                sep = "\r\n\r\n" if path.startswith(b"/crlf") else "\n\n"
                if req["stream"]:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    events = [{"choices": [{"delta": {"content": w}}]} for w in ("a", "b", "c")]
                    events.append({"choices": [{"delta": {}, "finish_reason": "stop"}],
                                   "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
                    tail = ["[DONE]"]
                    if path.startswith(b"/cut"):
                        tail = []
                    if path.startswith(b"/err"):
                        events[1] = {"error": {"message": "overloaded"}}
                    for ev in [*(json.dumps(e) for e in events), *tail]:
                        chunk = f"data: {ev}{sep}".encode()
                        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        await writer.drain()
                        await asyncio.sleep(0.01)
                    writer.write(b"0\r\n\r\n")
                else:
                    out = json.dumps({"choices": [{"message": {"content": "abc"},
                                                   "finish_reason": "stop"}],
                                      "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(out), out.encode()))
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    srv = await asyncio.start_server(_handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    srv.close()


async def test_plain_get_under_load(server):
    target = RawHttpTarget(server + "/ok", timeout_s=2)
    await target.check()
    step = await run_step(target, ["x"], StepSpec(profile="constant", rate_rps=300,
                                                  duration_s=0.5))
    await target.aclose()
    assert step.scheduled == 150 and step.ok == 150
    assert step.achieved_rps == pytest.approx(300, rel=0.15)
    assert step.p("e2e", 99) < 0.05


async def test_http_errors_are_classified(server):
    target = RawHttpTarget(server + "/busy")
    r = await target.send(TargetRequest(input="x"))
    assert (r.status, r.error_class) == (503, "http_5xx")
    slow = RawHttpTarget(server + "/slow", timeout_s=0.2)
    r = await slow.send(TargetRequest(input="x"))
    assert r.error_class == "timeout" and 0.19 < r.e2e_s < 0.5
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    r = await RawHttpTarget(dead).send(TargetRequest(input="x"))
    assert r.error_class == "connection"
    with pytest.raises(TargetUnreachable):
        await RawHttpTarget(dead).check()
    with pytest.raises(ConfigError, match="load url: expected http://"):
        RawHttpTarget("ftp://x")


async def test_openai_stream_chunks_and_usage(server):
    target = RawHttpTarget(server + "/v1", mode="openai", model="m")
    r = await target.send(TargetRequest(input="hello"))
    assert r.ok, r.error
    assert r.output == "abc"
    assert (r.input_tokens, r.output_tokens, r.finish_reason) == (7, 3, "stop")
    assert len(r.chunk_times_s) == 3
    assert r.ttft_s == r.chunk_times_s[0]
    # chunks sent 10 ms apart
    assert all(0.007 < gap < 0.05 for gap in r.itl_s)
    crlf = RawHttpTarget(server + "/crlf/v1", mode="openai")
    r3 = await crlf.send(TargetRequest(input="hello"))
    assert r3.output == "abc" and all(0.007 < gap < 0.05 for gap in r3.itl_s)
    cut = await RawHttpTarget(server + "/cut/v1", mode="openai").send(TargetRequest(input="x"))
    assert (cut.error_class, cut.error) == ("stream", "stream ended without [DONE]")
    err = await RawHttpTarget(server + "/err/v1", mode="openai").send(TargetRequest(input="x"))
    assert err.error_class == "stream" and "overloaded" in (err.error or "")
    await crlf.aclose()
    plain = RawHttpTarget(server + "/v1", mode="openai", stream=False)
    r2 = await plain.send(TargetRequest(input="hello"))
    assert (r2.output, r2.output_tokens, r2.ttft_s) == ("abc", 3, r2.e2e_s)
    await target.aclose()
    await plain.aclose()


class _WindowTarget(Target):
    """Answers with the needle code when it is still in the input after truncation."""

    def __init__(self, window_chars: int, *, silent: bool) -> None:
        self.window_chars, self.silent = window_chars, silent

    async def send(self, request: TargetRequest) -> TargetResponse:
        text = request.input
        if len(text) > self.window_chars:
            if not self.silent:
                return TargetResponse(status=400, error_class="http_4xx", e2e_s=0.01)
            text = text[: self.window_chars]
        m = re.search(r"NEEDLE-[0-9A-F]{6}", text)
        return TargetResponse(output=m.group(0) if m else "no idea", e2e_s=len(text) / 1e6)


async def test_context_probe_honest_target_errors_beyond_window():
    res = await probe_context_window(_WindowTarget(4000, silent=False), 1000)
    assert [c.verdict for c in res.cases] == ["recalled", "recalled", "recalled", "error"]
    assert not res.silent_truncation
    assert res.token_estimate == "chars/4"
    assert res.latency_growth["1"] == pytest.approx(2.0, rel=0.05)


async def test_context_probe_detects_silent_truncation():
    res = await probe_context_window(_WindowTarget(3000, silent=True), 1000)
    verdicts = [c.verdict for c in res.cases]
    assert verdicts == ["recalled", "silent_truncation", "silent_truncation",
                        "silent_truncation"]
    assert res.silent_truncation and res.to_dict()["silent_truncation"]


def test_needle_input_length():
    text = build_needle_input(1000, "NEEDLE-ABCDEF")
    assert 960 <= approx_tokens(text) <= 1000
    assert text.rstrip().endswith("Reply with it only.")
    words = build_needle_input(300, "NEEDLE-ABCDEF", count_tokens=lambda s: len(s.split()))
    assert 280 <= len(words.split()) <= 300
    with pytest.raises(ConfigError, match="cannot hold the needle"):
        build_needle_input(5, "NEEDLE-ABCDEF")
