"""The results store: SQLite by default, PostgreSQL by SQLAlchemy URL (docs/store.md).

:class:`ResultStore` writes runs and cases as the runner publishes them and reads them back
(``run``, ``cases``, ``latest_runs``, ``has_run``, ``resolve``, ``baseline``); the schema is
created and migrated with Alembic when a store opens.
"""

from aichaos.store._db import ResultStore, default_url
from aichaos.store._engine import safe_url
from aichaos.store._rows import case_result
from aichaos.store._schema import head_revision
from aichaos.store._tables import baselines, cases, runs
from aichaos.store._text import escape_text

__all__ = [
    "ResultStore",
    "baselines",
    "case_result",
    "cases",
    "default_url",
    "escape_text",
    "head_revision",
    "runs",
    "safe_url",
]
