"""Retry-After reaches TargetResponse.retry_after_s from both HTTP clients layer 6 uses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from overload_app import overload_app

from aichaos.config import OpenAITargetConfig
from aichaos.load import RawHttpTarget
from aichaos.targets import TargetRequest, build_target
from aichaos.targets._errors import retry_after_seconds


def test_delay_seconds_and_http_date() -> None:
    assert retry_after_seconds("20") == 20.0
    assert retry_after_seconds(b" 1 ") == 1.0
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after_seconds(when) or 0) <= 30
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


@pytest.mark.parametrize("mode", ["shed", "shed-bare"])
def test_both_clients_read_the_header_of_a_429(mode: str) -> None:
    async def send(url: str) -> list[float | None]:
        raw = RawHttpTarget(url + "/v1", mode="openai", stream=False)
        full = build_target(OpenAITargetConfig(type="openai", base_url=url + "/v1", model="m",
                                               stream=False))
        try:
            out = []
            for target in (raw, full):
                resp = await target.send(TargetRequest(input="hi"))
                assert resp.status == 429 and resp.error_class == "http_429"
                out.append(resp.retry_after_s)
            return out
        finally:
            await raw.aclose()
            await full.aclose()

    with overload_app(mode, limit=0) as url:  # admits nothing: every request is a 429
        got = asyncio.run(send(url))
    assert got == ([1.0, 1.0] if mode == "shed" else [None, None])
