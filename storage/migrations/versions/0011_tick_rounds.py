"""Ticks that grow with the teams no more: team starts, tick rounds, two indexes.

`team_starts` keeps when each team's jobs began, so a tick reads it for every team in
one query; `tick_rounds` lets ticks started together share the teams out in batches.
`job_runs (job, period)` serves the tick's one read of the ledger, `posts (planned_at)`
the publish reminders' one read of what is planned soon.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_starts",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "tick_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("teams_hash", sa.String(length=64), nullable=False),
        sa.Column("instant", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("next_batch", sa.Integer(), nullable=False),
        sa.Column("done_batches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_runs_job_period", "job_runs", ["job", "period"])
    op.create_index("ix_posts_planned_at", "posts", ["planned_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_planned_at", table_name="posts")
    op.drop_index("ix_job_runs_job_period", table_name="job_runs")
    op.drop_table("tick_rounds")
    op.drop_table("team_starts")
