"""The results database: SQLite by default (WAL, one commit per result), PostgreSQL by URL.

Tables: ``runs`` (one row per run: title, status, deviated, seed, experiment and scorecard as
JSON) and ``cases`` (one row per observation: input, the variant that shaped it, output,
timings, tokens, scores, error class, seed). Prompts and outputs are masked for personal data
and secrets unless the user opts out (``store.mask_pii: false``); configured secrets are
masked always.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from aichaos._events import (
    CaseObserved,
    EventBus,
    RunEnded,
    RunStarted,
)
from aichaos.errors import StoreError
from aichaos.scoring import mask_pii

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("seed", sa.Integer),
    sa.Column("status", sa.String(16)),
    sa.Column("deviated", sa.Boolean),
    sa.Column("started_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("experiment", sa.Text),
    sa.Column("scorecard", sa.Text),
    sa.Column("overall_score", sa.Float),
    sa.Column("overall_grade", sa.String(2)),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), index=True, nullable=False),
    sa.Column("layer", sa.Integer, nullable=False),
    sa.Column("suite", sa.String(64), nullable=False),
    sa.Column("case_id", sa.String(200), nullable=False),
    sa.Column("variant", sa.String(200), nullable=False),
    sa.Column("input", sa.Text),
    sa.Column("expected", sa.Text),
    sa.Column("output", sa.Text),
    sa.Column("passed", sa.Boolean),
    sa.Column("score", sa.Float),
    sa.Column("scores", sa.Text),
    sa.Column("error_class", sa.String(32)),
    sa.Column("error", sa.Text),
    sa.Column("status", sa.Integer),
    sa.Column("e2e_s", sa.Float),
    sa.Column("ttft_s", sa.Float),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("finish_reason", sa.String(32)),
    sa.Column("seed", sa.Integer),
    sa.Column("metadata", sa.Text),
    sa.Column("created_at", sa.Float),
)


def default_url(results_dir: str | Path) -> str:
    """``sqlite:///<results_dir>/aichaos.db`` (the directory is created)."""
    path = Path(results_dir)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(path / 'aichaos.db').resolve()}"


class ResultStore:
    """Writes runs and cases; listens to runner events via :meth:`attach`.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.db`` or ``postgresql+psycopg://...``).
        mask: mask personal data in inputs and outputs (secrets are always masked).
        secrets: literal secret values (API keys) to mask wherever they appear.

    Raises:
        StoreError: the database cannot be opened or its schema created.
    """

    def __init__(self, url: str, *, mask: bool = True, secrets: Iterable[str] = ()) -> None:
        self.url = url
        self.mask = mask
        self.secrets = [s for s in secrets if s]
        try:
            self.engine = sa.create_engine(url)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"store {_safe_url(url)}: cannot open: {_first(exc)}") from exc

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

    def _execute(self, statement: Any) -> None:
        try:
            with self.engine.begin() as conn:  # one transaction, one commit per write
                conn.execute(statement)
        except SQLAlchemyError as exc:
            raise StoreError(f"store {_safe_url(self.url)}: write failed: {_first(exc)}") from exc

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

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The ``runs`` row of ``run_id`` as a dict, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(runs.select().where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row else None

    def cases(self, run_id: str) -> list[dict[str, Any]]:
        """Every ``cases`` row of ``run_id``, in insertion order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                cases.select().where(cases.c.run_id == run_id).order_by(cases.c.id)
            ).mappings().all()
        return [dict(r) for r in rows]

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
        try:
            with self.engine.begin() as conn:
                result = conn.execute(cases.delete().where(cases.c.run_id == run_id)
                                      .where(cases.c.id.in_(chosen)))
        except SQLAlchemyError as exc:
            raise StoreError(f"store {_safe_url(self.url)}: delete failed: {_first(exc)}"
                             ) from exc
        return int(result.rowcount or 0)

    def latest_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest runs, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                runs.select().order_by(runs.c.started_at.desc()).limit(limit)
            ).mappings().all()
        return [dict(r) for r in rows]

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown only by its scheme
        return url.split(":", 1)[0] + ":..."


def _first(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200]
