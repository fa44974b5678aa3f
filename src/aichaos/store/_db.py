"""The results database: SQLite by default (WAL, one commit per result), PostgreSQL by URL.

Tables (see :mod:`aichaos.store._tables`): ``runs``, ``cases`` and ``baselines``, created
and migrated by Alembic when a store opens (:mod:`aichaos.store._schema`). Prompts and
outputs are masked for personal data and secrets unless the user opts out
(``store.mask_pii: false``); configured secrets are masked always. Each result is committed
on its own as it arrives, so a run killed mid-way keeps every result stored before the kill.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from aichaos._events import (
    CaseObserved,
    EventBus,
    RunEnded,
    RunStarted,
)
from aichaos.errors import ConfigError, StoreError
from aichaos.scoring import mask_pii
from aichaos.store._engine import create_engine, first_line
from aichaos.store._read import StoreReader
from aichaos.store._schema import check_revision, migrate
from aichaos.store._tables import baselines, cases, metadata, runs

__all__ = ["ResultStore", "baselines", "cases", "default_url", "metadata", "runs"]


def default_url(results_dir: str | Path) -> str:
    """``sqlite:///<results_dir>/aichaos.db`` (the directory is created)."""
    path = Path(results_dir)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(path / 'aichaos.db').resolve()}"


class ResultStore(StoreReader):
    """Writes runs and cases (listening to runner events via :meth:`attach`) and reads them
    back (the methods of :class:`~aichaos.store._read.StoreReader`: ``run``, ``cases``,
    ``latest_runs``, ``has_run``, ``resolve``, ``baseline``, ...).

    Opening a store connects, then creates or upgrades its schema to the newest revision
    (unless ``readonly``). Use it as a context manager, or call :meth:`close`.

    Args:
        url: SQLAlchemy URL, ``sqlite:///path.db`` or ``postgresql+psycopg://user:pw@host/db``.
        mask: mask personal data in inputs and outputs (secrets are always masked).
        secrets: literal secret values (API keys) to mask wherever they appear.
        readonly: open without migrating and refuse every write (SQLite ``mode=ro``,
            PostgreSQL read-only transactions); for readers such as a run browser.

    Raises:
        StoreError: bad URL, missing driver, the database is down or refuses the login, its
            schema is newer than this code (an unknown Alembic revision), or it cannot be
            created. The message is one line and hides the password.
    """

    def __init__(self, url: str, *, mask: bool = True, secrets: Iterable[str] = (),
                 readonly: bool = False) -> None:
        self.url = url
        self.mask = mask
        self.readonly = readonly
        self.secrets = [s for s in secrets if s]
        self.engine = create_engine(url, readonly=readonly)
        try:
            self.revision_before = (check_revision(self.engine, readonly=True) if readonly
                                    else migrate(self.engine))
        except BaseException:
            self.engine.dispose()
            raise

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _clean(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        if self.mask:
            return mask_pii(text, self.secrets)
        for secret in self.secrets:
            text = text.replace(secret, "<SECRET>")
        return text

    def _mask_tree(self, data: Any) -> Any:
        """``data`` with every string leaf cleaned (masking after serialising could corrupt
        the JSON, e.g. a digit run across numbers taken for a phone number)."""
        if isinstance(data, dict):
            return {k: self._mask_tree(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self._mask_tree(v) for v in data]
        return self._clean(data)

    def _dumps(self, data: Any) -> str:
        return json.dumps(self._mask_tree(data), default=str, ensure_ascii=False)

    def _check_writable(self) -> None:
        if self.readonly:
            raise StoreError(f"store {self.safe_url}: opened read-only, cannot write")

    def _execute(self, *statements: Any) -> None:
        self._check_writable()
        try:
            with self.engine.begin() as conn:  # one transaction, one commit per write
                for statement in statements:
                    conn.execute(statement)
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.safe_url}: write failed: {first_line(exc)}"
                             ) from exc

    def attach(self, bus: EventBus) -> None:
        """Subscribe to RunStarted, CaseObserved and RunEnded."""
        bus.subscribe(RunStarted, self.on_run_started)
        bus.subscribe(CaseObserved, self.on_case)
        bus.subscribe(RunEnded, self.on_run_ended)

    def on_run_started(self, event: RunStarted) -> None:
        if event.resumed:  # the interrupted run's row exists: it is running again
            self._execute(runs.update().where(runs.c.run_id == event.run_id).values(
                status="running", ended_at=None, experiment=self._dumps(event.experiment)))
            return
        self._execute(runs.insert().values(
            run_id=event.run_id, title=event.title, seed=event.seed, status="running",
            deviated=False, started_at=time.time(), experiment=self._dumps(event.experiment),
        ))

    def on_case(self, event: CaseObserved) -> None:
        r = event.result
        text = {"input": self._clean(r.input), "output": self._clean(r.output),
                "error": self._clean(r.error)}
        # whether masking changed the stored text: a resumed run re-sends such a case, as a
        # masked answer would not judge as the real one did
        masked = any(text[k] != getattr(r, k) for k in text)
        self._execute(cases.insert().values(
            run_id=r.run_id, layer=r.layer, suite=r.suite, case_id=r.case_id, variant=r.variant,
            input=text["input"], expected=json.dumps(r.expected, ensure_ascii=False),
            output=text["output"], passed=r.passed, score=r.score,
            scores=json.dumps(r.scores), error_class=r.error_class, error=text["error"],
            status=r.status, e2e_s=r.e2e_s, ttft_s=r.ttft_s, input_tokens=r.input_tokens,
            output_tokens=r.output_tokens, finish_reason=r.finish_reason, seed=r.seed,
            metadata=self._dumps({**r.metadata, "stored_masked": masked}),
            created_at=r.timestamp,
        ))

    def on_run_ended(self, event: RunEnded) -> None:
        overall = event.scorecard.get("overall", {})
        self._execute(runs.update().where(runs.c.run_id == event.run_id).values(
            status=event.status, deviated=event.deviated, ended_at=time.time(),
            scorecard=self._dumps(event.scorecard), overall_score=overall.get("score"),
            overall_grade=overall.get("grade"),
        ))

    def pin_baseline(self, run_id: str, note: str | None = None) -> str:
        """Pin ``run_id`` as the baseline of its experiment (replacing any earlier pin).

        Returns:
            the experiment title it was pinned for.

        Raises:
            ConfigError: the run is not in the store.
            StoreError: the database cannot be written.
        """
        self._check_writable()
        run = self.run(run_id)
        if run is None:
            raise ConfigError(f"run {run_id!r}: not in the results store")
        title = str(run["title"])
        self._execute(baselines.delete().where(baselines.c.experiment == title),
                      baselines.insert().values(experiment=title, run_id=run_id,
                                                pinned_at=time.time(), note=note))
        return title

    def delete_cases(self, run_id: str, ids: Iterable[int]) -> int:
        """Delete ``cases`` rows of ``run_id`` by row id (a resumed run re-measures them).

        Returns:
            rows deleted.

        Raises:
            StoreError: the delete failed.
        """
        chosen = list(ids)
        if not chosen:
            return 0
        self._check_writable()
        try:
            with self.engine.begin() as conn:
                result = conn.execute(cases.delete().where(cases.c.run_id == run_id)
                                      .where(cases.c.id.in_(chosen)))
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.safe_url}: delete failed: {first_line(exc)}"
                             ) from exc
        return int(result.rowcount or 0)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

