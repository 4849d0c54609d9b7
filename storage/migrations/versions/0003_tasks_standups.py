"""Daily tasks in the important/urgent matrix, and stand-up answers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("quadrant", sa.String(length=2), nullable=False),
        sa.Column("estimate_minutes", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("quadrant IN ('q1', 'q2', 'q3', 'q4')", name="ck_tasks_quadrant"),
        sa.CheckConstraint("status IN ('open', 'done', 'dropped')", name="ck_tasks_status"),
        sa.CheckConstraint(
            "estimate_minutes IS NULL OR estimate_minutes > 0", name="ck_tasks_estimate"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tasks_team_owner_day", "tasks", ["team_id", "owner", "day"])
    op.create_table(
        "standups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("yesterday", sa.Text(), nullable=True),
        sa.Column("today", sa.Text(), nullable=True),
        sa.Column("blockers", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "member", "day", name="uq_standups_member_day"),
    )


def downgrade() -> None:
    op.drop_table("standups")
    op.drop_index("ix_tasks_team_owner_day", table_name="tasks")
    op.drop_table("tasks")
