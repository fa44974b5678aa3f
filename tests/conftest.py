"""Shared fixtures: a real local model server (session-wide), small experiments, a mock target."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")



@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real SmolLM2 server on a free loopback port; yields its base URL (``.../v1``)."""
    from aichaos.demo import start_model_server

    server = start_model_server(log_dir=tmp_path_factory.mktemp("llm"))
    try:
        yield server.base_url
    finally:
        server.stop()
