"""Opening the database behind a store URL, with one-line errors for what can go wrong.

Supported URLs:

- ``sqlite:///PATH`` (relative) or ``sqlite:////abs/PATH``: a file, opened in WAL mode with a
  5 s busy timeout so several processes can write one file;
- ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`` (``postgresql://`` means the same):
  PostgreSQL through psycopg 3 (``pip install 'aichaos[psycopg]'``).

Every failure is a :class:`~aichaos.errors.StoreError` whose message names the URL with its
password hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from aichaos.errors import StoreError

#: seconds a PostgreSQL connection attempt may take before the database counts as down
CONNECT_TIMEOUT_S = 5
#: milliseconds a SQLite writer waits for another process's write lock
SQLITE_BUSY_TIMEOUT_MS = 10_000

_EXPECTED = "expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"


def safe_url(url: str | sa.URL) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown whole only when it holds no credentials
        text = str(url)
        return text if "@" not in text else text.split(":", 1)[0] + ":..."


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (drivers add SQL and links on later lines)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def parse_url(url: str) -> sa.URL:
    """Parse and normalise a store URL (``postgresql://`` selects psycopg 3).

    Raises:
        StoreError: not a URL, or a database other than SQLite and PostgreSQL.
    """
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError:
        raise StoreError(f"store url {safe_url(url)!r}: not a database URL ({_EXPECTED})"
                         ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"store {safe_url(parsed)}: unsupported database {backend!r} "
                         f"({_EXPECTED})")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: sa.URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def create_engine(url: str, *, readonly: bool = False) -> sa.Engine:
    """An engine for ``url``, checked to connect.

    Args:
        url: a store URL (see the module docstring).
        readonly: open so that nothing can be written (SQLite ``mode=ro``; PostgreSQL
            ``default_transaction_read_only``).

    Raises:
        StoreError: bad URL, missing driver, missing SQLite file or directory, or the
            database is down or refuses the credentials.
    """
    parsed = parse_url(url)
    shown = safe_url(parsed)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is not None:
            if readonly and not path.is_file():
                raise StoreError(f"store {shown}: no results database at {path}")
            if not path.parent.is_dir():
                raise StoreError(f"store {shown}: directory {path.parent} does not exist")
            if readonly:
                parsed = parsed.set(database=f"file:{quote(str(path.resolve()))}?mode=ro",
                                    query={"uri": "true"})
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        options = "-c default_transaction_read_only=on" if readonly else ""
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S,
                                  "application_name": "aichaos", "options": options}
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise StoreError(f"store {shown}: the database driver {exc.name!r} is not installed "
                         "(pip install 'aichaos[psycopg]')") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"store {shown}: cannot open: {first_line(exc)}") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas_ro if readonly else _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"store {shown}: cannot connect: {_reason(exc)}") from exc
    return engine


def _reason(exc: SQLAlchemyError) -> str:
    text = first_line(getattr(exc, "orig", None) or exc).removeprefix("connection failed: ")
    if "refused" in text.lower():
        text += " (is the database server running?)"
    return text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def _sqlite_pragmas_ro(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()
