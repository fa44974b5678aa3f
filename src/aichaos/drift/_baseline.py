"""Baselines pinned per experiment, kept in the results database.

The ``baselines`` table (created here, on the store's own engine, next to ``runs`` and
``cases``) holds one row per experiment title: the run every later run of that experiment is
compared with by ``aichaos compare baseline RUN``.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from aichaos.errors import ConfigError, StoreError
from aichaos.store import ResultStore, runs

metadata = sa.MetaData()

baselines = sa.Table(
    "baselines",
    metadata,
    sa.Column("experiment", sa.Text, primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("pinned_at", sa.Float, nullable=False),
    sa.Column("note", sa.Text),
)


def _ensure(store: ResultStore) -> None:
    try:
        metadata.create_all(store.engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"store: cannot create the baselines table: {exc}") from exc


def pin_baseline(store: ResultStore, run_id: str, note: str | None = None) -> str:
    """Pin ``run_id`` as the baseline of its experiment (replacing any earlier pin).

    Returns:
        the experiment title it was pinned for.

    Raises:
        ConfigError: the run is not in the store.
        StoreError: the database cannot be written.
    """
    _ensure(store)
    run = store.run(run_id)
    if run is None:
        raise ConfigError(f"run {run_id!r}: not in the results store")
    title = str(run["title"])
    try:
        with store.engine.begin() as conn:
            conn.execute(baselines.delete().where(baselines.c.experiment == title))
            conn.execute(baselines.insert().values(experiment=title, run_id=run_id,
                                                   pinned_at=time.time(), note=note))
    except SQLAlchemyError as exc:
        raise StoreError(f"store: cannot pin the baseline: {exc}") from exc
    return title


def baseline_for(store: ResultStore, experiment: str) -> str | None:
    """The run id pinned for ``experiment`` (a title), or None."""
    _ensure(store)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(baselines.c.run_id).where(
            baselines.c.experiment == experiment)).first()
    return None if row is None else str(row[0])


def list_baselines(store: ResultStore) -> list[dict[str, Any]]:
    """Every pinned baseline (experiment, run_id, pinned_at, note), by experiment."""
    _ensure(store)
    with store.engine.connect() as conn:
        rows = conn.execute(baselines.select().order_by(baselines.c.experiment)).mappings()
        return [dict(r) for r in rows]


def resolve_run(store: ResultStore, ref: str, *, experiment_of: str | None = None) -> str:
    """Turn a run reference into a run id.

    ``ref`` is a run id, ``latest`` (the newest run; of the same experiment as
    ``experiment_of`` when given) or ``baseline`` (the baseline pinned for the experiment of
    ``experiment_of``).

    Raises:
        ConfigError: unknown run, no runs, or no baseline pinned.
    """
    if ref == "latest":
        query = sa.select(runs.c.run_id).order_by(runs.c.started_at.desc())
        if experiment_of is not None:
            other = store.run(experiment_of)
            if other is not None:
                query = query.where(runs.c.title == other["title"],
                                    runs.c.run_id != experiment_of)
        with store.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        if row is None:
            raise ConfigError("latest: the results store holds no runs")
        return str(row[0])
    if ref == "baseline":
        if experiment_of is None:
            raise ConfigError("baseline: name the run to compare with it, e.g. "
                              "'aichaos compare baseline RUN_ID'")
        run = store.run(experiment_of)
        if run is None:
            raise ConfigError(f"run {experiment_of!r}: not in the results store")
        pinned = baseline_for(store, str(run["title"]))
        if pinned is None:
            raise ConfigError(f"no baseline pinned for experiment {run['title']!r}; pin one "
                              "with 'aichaos compare RUN_ID --pin'")
        return pinned
    if store.run(ref) is None:
        raise ConfigError(f"run {ref!r}: not in the results store")
    return ref
