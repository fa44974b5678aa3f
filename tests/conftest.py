"""Shared fixtures: a real local model server and a real PostgreSQL server (session-wide),
small experiments, a mock target."""

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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A real PostgreSQL cluster on a free loopback port (store and run-browser tests),
    stopped and deleted at the end. Where PostgreSQL is missing its tests fail in CI
    (``CI=true``) and skip elsewhere."""
    from aichaos.demo import free_port
    from store_pg import remove, start_cluster

    try:
        import psycopg  # noqa: F401  (the driver the store uses)

        cluster = start_cluster(free_port())
    except (ImportError, RuntimeError) as exc:
        message = f"PostgreSQL not available: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield cluster
    finally:
        remove(cluster)
