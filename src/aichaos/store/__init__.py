"""The results store: SQLite by default, PostgreSQL by SQLAlchemy URL."""

from aichaos.store._db import ResultStore, cases, default_url, runs
from aichaos.store._rows import case_result

__all__ = ["ResultStore", "case_result", "cases", "default_url", "runs"]
