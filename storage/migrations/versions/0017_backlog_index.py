"""The backlog's index: per team and status, in the backlog's order.

`/topic list` and the digest sort the team's ideas by priority, then score; with the
index on the same expressions the database reads them in that order and stops after
the page, instead of sorting a thousand ideas for thirty. It replaces
`ix_topics_team_status`, which is its prefix.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expression of storage.models.priority_rank, spelled as it renders: the query sorts
# by exactly this, which is what lets the database use the index for the order.
_RANK = (
    "(CASE WHEN (priority = 'high') THEN 0 WHEN (priority = 'mid') THEN 1 "
    "WHEN (priority = 'low') THEN 2 ELSE 3 END)"
)


def upgrade() -> None:
    op.create_index(
        "ix_topics_backlog",
        "topics",
        ["team_id", "status", sa.text(_RANK), sa.text("score DESC")],
    )
    op.drop_index("ix_topics_team_status", table_name="topics")


def downgrade() -> None:
    op.create_index("ix_topics_team_status", "topics", ["team_id", "status"])
    op.drop_index("ix_topics_backlog", table_name="topics")
