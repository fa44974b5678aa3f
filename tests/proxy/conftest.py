from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from upstream import Upstream

from aichaos.proxy import ChaosProxy


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    await up.start()
    yield up
    await up.stop()


@pytest.fixture
async def chaos(upstream: Upstream) -> AsyncIterator[ChaosProxy]:
    cp = ChaosProxy(seed=7, control="127.0.0.1:0")
    await cp.start()
    await cp.add_proxy("llm", "127.0.0.1:0", upstream.url)
    yield cp
    await cp.stop()


def proxy_url(cp: ChaosProxy, name: str = "llm") -> str:
    return f"http://127.0.0.1:{cp.proxy(name).port}"
