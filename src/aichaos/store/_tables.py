"""The store's tables (SQLAlchemy Core). Their names and columns are stable: readers such as
the run browser query them directly; a change is a new migration that only adds.

``runs``: one row per run (title, status, deviated, seed, start/end as Unix seconds,
experiment and scorecard as JSON text, the overall score 0-100 and grade A-F).
``cases``: one row per observation (layer 1-6, suite, golden case id, variant, input,
expected as JSON, output, passed, score 0-1, scores as JSON, error class and text, HTTP
status, E2E and TTFT seconds, tokens, finish reason, seed, metadata as JSON, Unix time).
``baselines``: the run pinned per experiment title.

Every text column escapes what a database cannot hold (see :mod:`aichaos.store._text`).
"""

from __future__ import annotations

import sqlalchemy as sa

from aichaos.store._text import EscapedString, EscapedText

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", EscapedString(64), primary_key=True),
    sa.Column("title", EscapedText, nullable=False),
    sa.Column("seed", sa.Integer),
    sa.Column("status", EscapedString(16)),
    sa.Column("deviated", sa.Boolean),
    sa.Column("started_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("experiment", EscapedText),
    sa.Column("scorecard", EscapedText),
    sa.Column("overall_score", sa.Float),
    sa.Column("overall_grade", EscapedString(2)),
    sa.Index("ix_runs_started_at", "started_at"),
    sa.Index("ix_runs_title_started_at", "title", "started_at"),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", EscapedString(64), sa.ForeignKey("runs.run_id"), index=True,
              nullable=False),
    sa.Column("layer", sa.Integer, nullable=False),
    sa.Column("suite", EscapedString(64), nullable=False),
    sa.Column("case_id", EscapedString(200), nullable=False),
    sa.Column("variant", EscapedString(200), nullable=False),
    sa.Column("input", EscapedText),
    sa.Column("expected", EscapedText),
    sa.Column("output", EscapedText),
    sa.Column("passed", sa.Boolean),
    sa.Column("score", sa.Float),
    sa.Column("scores", EscapedText),
    sa.Column("error_class", EscapedString(32)),
    sa.Column("error", EscapedText),
    sa.Column("status", sa.Integer),
    sa.Column("e2e_s", sa.Float),
    sa.Column("ttft_s", sa.Float),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("finish_reason", EscapedString(32)),
    sa.Column("seed", sa.Integer),
    sa.Column("metadata", EscapedText),
    sa.Column("created_at", sa.Float),
    sa.Index("ix_cases_run_case_variant", "run_id", "case_id", "variant"),
)

baselines = sa.Table(
    "baselines",
    metadata,
    sa.Column("experiment", EscapedText, primary_key=True),
    sa.Column("run_id", EscapedString(64), nullable=False),
    sa.Column("pinned_at", sa.Float, nullable=False),
    sa.Column("note", EscapedText),
)
