"""Creating and migrating the store's schema with Alembic, on SQLite and PostgreSQL.

The migrations ship inside the package (``aichaos/store/migrations``); their revision is kept
in the standard ``alembic_version`` table. Opening a store brings its database to the newest
revision this code knows, in one transaction taken under a lock, so several processes opening
one new database at once create it once:

- SQLite: ``BEGIN IMMEDIATE`` (the database's write lock) around the whole migration, on a
  connection in autocommit mode so the DDL is inside that transaction;
- PostgreSQL: ``pg_advisory_xact_lock`` in the migrating transaction (DDL is transactional).

A database written by aichaos 0.1 (tables ``runs`` and ``cases``, no ``alembic_version``) is
stamped with revision ``0001`` and upgraded. A database at a revision this code does not know
was written by a newer aichaos: it is refused, never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from aichaos.errors import StoreError
from aichaos.store._engine import first_line, safe_url

MIGRATIONS = Path(__file__).with_name("migrations")
#: revision of the schema aichaos 0.1 created without Alembic
LEGACY_REVISION = "0001"
#: columns the 0.1 schema had (a legacy database must have at least these)
_LEGACY_COLUMNS = {
    "runs": {"run_id", "title", "seed", "status", "deviated", "started_at", "ended_at",
             "experiment", "scorecard", "overall_score", "overall_grade"},
    "cases": {"id", "run_id", "layer", "suite", "case_id", "variant", "input", "expected",
              "output", "passed", "score", "scores", "error_class", "error", "status", "e2e_s",
              "ttft_s", "input_tokens", "output_tokens", "finish_reason", "seed", "metadata",
              "created_at"},
}
#: key of the PostgreSQL advisory lock held while migrating (any constant bigint)
_PG_LOCK_KEY = 0x41494348414F53  # "AICHAOS"


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    """The newest schema revision this code knows, e.g. ``"0003"``."""
    head = _script().get_current_head()
    assert head is not None, "the store has no migrations"
    return head


def known_revisions() -> list[str]:
    """Every revision this code knows, oldest first."""
    return [r.revision for r in reversed(list(_script().walk_revisions()))]


def current_revision(conn: sa.Connection) -> str | None:
    """The revision stamped in ``alembic_version``, or None (new or 0.1 database)."""
    return MigrationContext.configure(conn).get_current_revision()


def _config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def check_revision(engine: sa.Engine, *, readonly: bool = False) -> str | None:
    """The database's revision, after checking this code can use it.

    Raises:
        StoreError: the revision is unknown (a newer aichaos wrote it); or, when
            ``readonly``, the database holds no results store at all.
    """
    shown = safe_url(engine.url)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
            tables = set(sa.inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        raise StoreError(f"store {shown}: cannot read the schema version: {first_line(exc)}"
                         ) from exc
    if revision is not None and revision not in known_revisions():
        raise StoreError(
            f"store {shown}: schema revision {revision!r} is newer than this aichaos knows "
            f"(newest {head_revision()!r}); upgrade aichaos or use another database")
    if readonly and revision is None and "runs" not in tables:
        raise StoreError(f"store {shown}: no aichaos results in this database")
    return revision


def migrate(engine: sa.Engine) -> str:
    """Create or upgrade the schema of ``engine``'s database to :func:`head_revision`.

    Returns:
        the revision the database was at before: ``"none"`` for a new database,
        ``"legacy"`` for one written by aichaos 0.1 (stamped ``0001``, then upgraded).

    Raises:
        StoreError: newer or foreign schema, or the migration failed (nothing of it is kept).
    """
    before = check_revision(engine)
    head = head_revision()
    if before == head:
        return before
    shown = safe_url(engine.url)
    try:
        with _locked(engine) as conn:
            before = current_revision(conn)  # again, under the lock: another process may won
            if before == head:
                return before
            cfg = _config(conn)
            if before is None:
                tables = set(sa.inspect(conn).get_table_names())
                if "runs" in tables or "cases" in tables:
                    _check_legacy(conn, tables, shown)
                    command.stamp(cfg, LEGACY_REVISION)
                    before = "legacy"
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"store {shown}: schema migration failed: {first_line(exc)}") from exc
    return before or "none"


def _check_legacy(conn: sa.Connection, tables: set[str], shown: str) -> None:
    inspector = sa.inspect(conn)
    for table, wanted in _LEGACY_COLUMNS.items():
        have = {c["name"] for c in inspector.get_columns(table)} if table in tables else set()
        missing = sorted(wanted - have)
        if missing:
            raise StoreError(f"store {shown}: table {table!r} lacks column(s) "
                             f"{', '.join(missing)}: not an aichaos results database")


@contextmanager
def _locked(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One connection in one transaction that holds the migration lock; commits on exit."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            with conn.begin():  # alembic sees a transaction and opens none of its own
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield conn
