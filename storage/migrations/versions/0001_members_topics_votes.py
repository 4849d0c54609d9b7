"""Members, the topic backlog and votes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("slack", sa.String(length=64), nullable=True),
        sa.Column("feishu", sa.String(length=64), nullable=True),
        sa.Column("wecom", sa.String(length=64), nullable=True),
        sa.Column("away_from", sa.Date(), nullable=True),
        sa.Column("away_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'editor', 'member')", name="ck_members_role"),
        sa.PrimaryKeyConstraint("team_id", "id"),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("timeliness", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("conversion", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hot", sa.Boolean(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drop_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint("priority IN ('high', 'mid', 'low')", name="ck_topics_priority"),
        sa.CheckConstraint(
            "status IN ('idea', 'scheduled', 'published', 'dropped')", name="ck_topics_status"
        ),
        sa.CheckConstraint(
            "timeliness BETWEEN 1 AND 5 AND value BETWEEN 1 AND 5 AND conversion BETWEEN 1 AND 5",
            name="ck_topics_ratings",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_topics_team_status", "topics", ["team_id", "status"])
    op.create_table(
        "votes",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("topic_id", "member_id"),
    )


def downgrade() -> None:
    op.drop_table("votes")
    op.drop_index("ix_topics_team_status", table_name="topics")
    op.drop_table("topics")
    op.drop_table("members")
