"""Store fixtures: ``store_url``, a fresh empty database on each backend (SQLite file, a
database of the session's real PostgreSQL server, ``pg_cluster`` in tests/conftest.py) so one
suite runs on both."""

from __future__ import annotations

from pathlib import Path

import pytest

from store_pg import PgCluster

BACKENDS = ["sqlite", "postgresql"]


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
