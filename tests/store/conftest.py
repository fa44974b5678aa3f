"""Store fixtures: a real PostgreSQL server for the session, and ``store_url``, a fresh empty
database on each backend (SQLite file, PostgreSQL database) so one suite runs on both.

Where PostgreSQL is missing, its tests fail in CI (``CI=true``) and skip elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_pg import PgCluster, remove, start_cluster

from aichaos.demo import free_port

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster on a free loopback port, stopped and deleted at the end."""
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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()
