"""Read-only queries over the results store for the run browser.

The browser reads the store's own tables (:data:`aichaos.store.runs`, :data:`aichaos.store.cases`
and, when it exists, :data:`aichaos.drift.baselines`) with SQLAlchemy Core, so one code path
serves SQLite and PostgreSQL. It never writes: a SQLite file is opened through SQLite's URI
``mode=ro`` with ``PRAGMA query_only`` set on every connection, and a PostgreSQL session is
started with ``default_transaction_read_only=on``, so even a bug here cannot change a stored
run. Nothing creates a table either (the writer's ``ResultStore`` would).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from aichaos.drift import baselines
from aichaos.errors import StoreError
from aichaos.store import cases, runs

#: columns of ``runs`` the lists need (the large JSON columns are read per run only)
_SUMMARY = (runs.c.run_id, runs.c.title, runs.c.seed, runs.c.status, runs.c.deviated,
            runs.c.started_at, runs.c.ended_at, runs.c.overall_score, runs.c.overall_grade)


def safe_url(url: str) -> str:
    """``url`` with its password hidden (``***``); an unparsable URL shows its scheme only."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split(":", 1)[0] + ":..."


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _sqlite_read_only(url: URL) -> Engine:
    """An engine opening the SQLite file of ``url`` through SQLite's URI ``mode=ro`` (the
    file must exist: read-only mode never creates one)."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise StoreError(f"store {url}: expected a SQLite file path (sqlite:///PATH)")
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        raise StoreError(f"store {url}: no database file at {path}")
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    engine = sa.create_engine(f"sqlite:///{path}", creator=connect)
    sa.event.listen(engine, "connect", _query_only)
    return engine


def _query_only(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def open_read_only(url: str) -> Engine:
    """An engine on the store at ``url`` that cannot write, checked to hold aichaos runs.

    Args:
        url: SQLAlchemy URL, ``sqlite:///PATH`` or ``postgresql+psycopg://USER@HOST/DB``.

    Raises:
        StoreError: the URL is malformed, its driver is not installed, the database is
            missing, unreachable or holds no ``runs`` table (the message is one line and
            never shows a password).
    """
    shown = safe_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"store {shown}: not a SQLAlchemy URL ({_first_line(exc)})") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_read_only(parsed)
        elif parsed.get_backend_name() == "postgresql":
            engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args={
                "options": "-c default_transaction_read_only=on", "connect_timeout": 5})
        else:
            engine = sa.create_engine(parsed)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreError(f"store {shown}: driver not installed ({_first_line(exc)})") from exc
    except ArgumentError as exc:
        raise StoreError(f"store {shown}: {_first_line(exc)}") from exc
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("runs"):
                raise StoreError(f"store {shown}: no 'runs' table (not an aichaos results "
                                 "store)")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"store {shown}: cannot open: {_first_line(exc)}") from exc
    return engine


@dataclass(frozen=True, slots=True)
class Experiment:
    """The runs of one experiment title, newest first, and its pinned baseline (if any)."""

    title: str
    runs: list[dict[str, Any]]
    baseline: str | None


class StoreReader:
    """Read-only access to runs and cases (the methods ``aichaos.drift`` reads a store by).

    Args:
        url: SQLAlchemy URL of the store (see :func:`open_read_only`).

    Raises:
        StoreError: see :func:`open_read_only`.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_read_only(url)

    def _rows(self, statement: Any) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(statement).mappings()]
        except SQLAlchemyError as exc:
            raise StoreError(f"store {safe_url(self.url)}: read failed: "
                             f"{_first_line(exc)}") from exc

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The ``runs`` row of ``run_id`` (JSON columns as text), or None."""
        rows = self._rows(runs.select().where(runs.c.run_id == run_id))
        return rows[0] if rows else None

    def cases(self, run_id: str) -> list[dict[str, Any]]:
        """Every ``cases`` row of ``run_id``, in insertion order."""
        return self._rows(cases.select().where(cases.c.run_id == run_id).order_by(cases.c.id))

    def case_rows(self, run_id: str, case_id: str, variant: str) -> list[dict[str, Any]]:
        """The stored observations of one case under one variant, in insertion order."""
        return self._rows(cases.select().where(
            cases.c.run_id == run_id, cases.c.case_id == case_id,
            cases.c.variant == variant).order_by(cases.c.id))

    def baselines(self) -> dict[str, str]:
        """experiment title -> pinned baseline run id (empty when none was ever pinned)."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(baselines.name):
                return {}
        return {r["experiment"]: r["run_id"] for r in self._rows(baselines.select())}

    def experiments(self, per_experiment: int = 50) -> list[Experiment]:
        """Every experiment title with its newest ``per_experiment`` runs, newest first.

        Experiments are ordered by their newest run, newest first.
        """
        rows = self._rows(sa.select(*_SUMMARY).order_by(runs.c.started_at.desc()))
        pinned = self.baselines()
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            group = grouped.setdefault(row["title"], [])
            if len(group) < per_experiment:
                group.append(row)
        return [Experiment(title, group, pinned.get(title)) for title, group in grouped.items()]

    def runs_of(self, title: str, limit: int = 200) -> list[dict[str, Any]]:
        """The runs of experiment ``title``, oldest first (the newest ``limit``), with their
        scorecards parsed (``scorecard`` is a dict, ``{}`` while a run is in progress)."""
        rows = self._rows(runs.select().where(runs.c.title == title)
                          .order_by(runs.c.started_at.desc()).limit(limit))
        for row in rows:
            row["scorecard"] = parse_json(row["scorecard"])
            row["experiment"] = parse_json(row["experiment"])
        return rows[::-1]

    def latest_of(self, title: str, *, before: str | None = None) -> str | None:
        """The newest run id of ``title`` other than ``before``, or None."""
        query = sa.select(runs.c.run_id).where(runs.c.title == title)
        if before is not None:
            query = query.where(runs.c.run_id != before)
        rows = self._rows(query.order_by(runs.c.started_at.desc()).limit(1))
        return str(rows[0]["run_id"]) if rows else None

    def close(self) -> None:
        self.engine.dispose()


def parse_json(text: Any) -> dict[str, Any]:
    """A stored JSON column as a dict (``{}`` for NULL or text that is not a JSON object)."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
