"""``baselines``: the run pinned per experiment title (``aichaos compare RUN --pin``).

aichaos 0.1 created this table on the first pin, so an older database may hold it already.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "baselines",
        sa.Column("experiment", sa.Text, primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("pinned_at", sa.Float, nullable=False),
        sa.Column("note", sa.Text),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("baselines")
