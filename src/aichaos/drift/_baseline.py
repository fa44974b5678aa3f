"""Baselines pinned per experiment, kept in the results database.

The ``baselines`` table (part of the store's schema, next to ``runs`` and ``cases``) holds
one row per experiment title: the run every later run of that experiment is compared with by
``aichaos compare baseline RUN``. These functions are the drift-side names of the store's
own read and write API (:class:`~aichaos.store.ResultStore`).
"""

from __future__ import annotations

from typing import Any

from aichaos.store import ResultStore, baselines

__all__ = ["baseline_for", "baselines", "list_baselines", "pin_baseline", "resolve_run"]


def pin_baseline(store: ResultStore, run_id: str, note: str | None = None) -> str:
    """Pin ``run_id`` as the baseline of its experiment (replacing any earlier pin).

    Returns:
        the experiment title it was pinned for.

    Raises:
        ConfigError: the run is not in the store.
        StoreError: the database cannot be written.
    """
    return store.pin_baseline(run_id, note)


def baseline_for(store: ResultStore, experiment: str) -> str | None:
    """The run id pinned for ``experiment`` (a title), or None."""
    return store.baseline(experiment)


def list_baselines(store: ResultStore) -> list[dict[str, Any]]:
    """Every pinned baseline (experiment, run_id, pinned_at, note), by experiment."""
    return store.baselines()


def resolve_run(store: ResultStore, ref: str, *, experiment_of: str | None = None) -> str:
    """Turn a run reference into a run id (see :meth:`ResultStore.resolve`).

    ``ref`` is a run id or a unique prefix of one, ``latest`` (the newest run; of the same
    experiment as ``experiment_of`` when given) or ``baseline`` (the baseline pinned for the
    experiment of ``experiment_of``).

    Raises:
        ConfigError: unknown run, ambiguous prefix, no runs, or no baseline pinned.
    """
    return store.resolve(ref, experiment_of=experiment_of)
