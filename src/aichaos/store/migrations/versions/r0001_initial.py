"""The schema of aichaos 0.1 before migrations: ``runs`` and ``cases``.

A database made by that version (no ``alembic_version`` table) is stamped with this revision
and upgraded from here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
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
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
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
    op.create_index("ix_cases_run_id", "cases", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_run_id", "cases")
    op.drop_table("cases")
    op.drop_table("runs")
