"""Each topic carries its vote count, and the backlog index covers the whole order.

The backlog sorts by priority, score, votes, then age. With votes only countable from
the `votes` table, every topic tied on priority and score with the page's last one had
its votes counted before the page could be cut, and a new team's backlog, where every
idea has the same score, was counted whole on each `/topic list`. `topics.votes` is kept
by each vote and unvote in the same transaction (storage/topics.py), filled here from
the votes already cast; with it and the age in `ix_topics_backlog`, the database reads
a page in order from the index and sorts nothing.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.models.priority_rank as it renders (see 0017): the query sorts by exactly this.
_RANK = (
    "(CASE WHEN (priority = 'high') THEN 0 WHEN (priority = 'mid') THEN 1 "
    "WHEN (priority = 'low') THEN 2 ELSE 3 END)"
)


def upgrade() -> None:
    op.add_column("topics", sa.Column("votes", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE topics SET votes = (SELECT count(*) FROM votes WHERE votes.topic_id = topics.id)"
    )
    op.drop_index("ix_topics_backlog", table_name="topics")
    op.create_index(
        "ix_topics_backlog",
        "topics",
        [
            "team_id", "status", sa.text(_RANK), sa.text("score DESC"), sa.text("votes DESC"),
            "created_at", "id",
        ],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_topics_backlog", table_name="topics")
    with op.batch_alter_table("topics") as batch:
        batch.drop_column("votes")
    op.create_index(
        "ix_topics_backlog",
        "topics",
        ["team_id", "status", sa.text(_RANK), sa.text("score DESC")],
    )
