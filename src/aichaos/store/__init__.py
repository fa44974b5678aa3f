"""The results store: SQLite by default, PostgreSQL by SQLAlchemy URL."""

from aichaos.store._db import ResultStore, cases, default_url, runs

__all__ = ["ResultStore", "cases", "default_url", "runs"]
