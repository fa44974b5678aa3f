"""The store's read API: runs, their cases, the newest runs, run references, baselines.

Rows come back as plain dicts keyed by column name (see ``aichaos.store.runs`` and
``aichaos.store.cases``); JSON columns (``experiment``, ``scorecard``, ``scores``,
``metadata``, ``expected``) are JSON text, and masked text reads as stored (``<EMAIL>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from aichaos.errors import ConfigError, StoreError
from aichaos.store._engine import first_line, safe_url
from aichaos.store._tables import baselines, cases, runs

T = TypeVar("T")


class StoreReader:
    """Read methods shared by every :class:`~aichaos.store.ResultStore` (read-only or not).

    Every method raises :class:`~aichaos.errors.StoreError` when the database cannot be
    read (it went down, the schema is not there).
    """

    engine: sa.Engine

    @property
    def safe_url(self) -> str:
        """The store's URL with the password hidden."""
        return safe_url(self.engine.url)

    def _read(self, query: Callable[[sa.Connection], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return query(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.safe_url}: read failed: {first_line(exc)}"
                             ) from exc

    def _rows(self, statement: sa.Select[Any]) -> list[dict[str, Any]]:
        return self._read(lambda conn: [dict(r) for r in conn.execute(statement).mappings()])

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The ``runs`` row of ``run_id`` (exact id), or None."""
        rows = self._rows(runs.select().where(runs.c.run_id == run_id))
        return rows[0] if rows else None

    def has_run(self, run_id: str) -> bool:
        """Whether a run with exactly this id is stored."""
        statement = sa.select(runs.c.run_id).where(runs.c.run_id == run_id)
        return self._read(lambda conn: conn.execute(statement).first() is not None)

    def cases(self, run_id: str, *, layer: int | None = None, suite: str | None = None,
              case_id: str | None = None, variant: str | None = None
              ) -> list[dict[str, Any]]:
        """The ``cases`` rows of ``run_id`` in the order they were stored, optionally only
        those of one layer (1-6), probe suite, golden case id and/or variant."""
        statement = cases.select().where(cases.c.run_id == run_id)
        for column, value in (("layer", layer), ("suite", suite), ("case_id", case_id),
                              ("variant", variant)):
            if value is not None:
                statement = statement.where(cases.c[column] == value)
        return self._rows(statement.order_by(cases.c.id))

    def count_cases(self, run_id: str) -> int:
        """How many cases of ``run_id`` are stored (committed)."""
        statement = sa.select(sa.func.count()).select_from(cases).where(
            cases.c.run_id == run_id)
        return int(self._read(lambda conn: conn.execute(statement).scalar_one()))

    def latest_runs(self, experiment_title: str | None = None, limit: int = 20
                    ) -> list[dict[str, Any]]:
        """Up to ``limit`` runs, newest first (by start time), of one experiment title or
        of all."""
        statement = runs.select()
        if experiment_title is not None:
            statement = statement.where(runs.c.title == experiment_title)
        return self._rows(statement.order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
                          .limit(limit))

    def baseline(self, experiment_title: str) -> str | None:
        """The run id pinned as the baseline of ``experiment_title``, or None."""
        statement = sa.select(baselines.c.run_id).where(
            baselines.c.experiment == experiment_title)
        row = self._read(lambda conn: conn.execute(statement).first())
        return None if row is None else str(row[0])

    def baselines(self) -> list[dict[str, Any]]:
        """Every pinned baseline (experiment, run_id, pinned_at, note), by experiment."""
        return self._rows(baselines.select().order_by(baselines.c.experiment))

    def resolve(self, ref: str, *, experiment_of: str | None = None) -> str:
        """Turn a run reference into a stored run id.

        Args:
            ref: a run id; a unique prefix of one (``20261204T18``); ``latest`` (the newest
                run, of the same experiment as ``experiment_of`` and other than it when
                given); or ``baseline`` (the run pinned for ``experiment_of``'s experiment).
            experiment_of: the run id the reference is read against.

        Raises:
            ConfigError: no such run, an ambiguous prefix, no runs, or no baseline pinned.
        """
        if ref == "latest":
            statement = sa.select(runs.c.run_id)
            other = self.run(experiment_of) if experiment_of is not None else None
            if other is not None:
                statement = statement.where(runs.c.title == other["title"],
                                            runs.c.run_id != experiment_of)
            statement = statement.order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
            row = self._read(lambda conn: conn.execute(statement.limit(1)).first())
            if row is None:
                raise ConfigError("latest: the results store holds no runs")
            return str(row[0])
        if ref == "baseline":
            if experiment_of is None:
                raise ConfigError("baseline: name the run to compare with it, e.g. "
                                  "'aichaos compare baseline RUN_ID'")
            run = self.run(experiment_of)
            if run is None:
                raise ConfigError(f"run {experiment_of!r}: not in the results store")
            pinned = self.baseline(str(run["title"]))
            if pinned is None:
                raise ConfigError(f"no baseline pinned for experiment {run['title']!r}; pin "
                                  "one with 'aichaos compare RUN_ID --pin'")
            return pinned
        if self.has_run(ref):
            return ref
        like = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = (sa.select(runs.c.run_id).where(runs.c.run_id.like(like, escape="\\"))
                     .order_by(runs.c.run_id).limit(6))
        found = self._read(lambda conn: [str(r[0]) for r in conn.execute(statement)])
        if len(found) == 1:
            return found[0]
        if found:
            shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
            raise ConfigError(f"run {ref!r}: ambiguous, the prefix of several runs ({shown})")
        raise ConfigError(f"run {ref!r}: not in the results store")
