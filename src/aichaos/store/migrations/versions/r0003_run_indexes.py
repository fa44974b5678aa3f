"""Indexes for the store's read API: runs newest first, per experiment; cases by case id.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_runs_title_started_at", "runs", ["title", "started_at"])
    op.create_index("ix_cases_run_case_variant", "cases", ["run_id", "case_id", "variant"])


def downgrade() -> None:
    op.drop_index("ix_cases_run_case_variant", "cases")
    op.drop_index("ix_runs_title_started_at", "runs")
    op.drop_index("ix_runs_started_at", "runs")
