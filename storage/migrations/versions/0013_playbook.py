"""The team's playbook (《运营手册》): lessons learned, tagged, found again.

One row per lesson: its text, its tags (a JSON list, as topics keep theirs) and,
optionally, the post it was learned from. Deleting the post keeps the lesson.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "playbook",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column(
            "post_id", sa.Integer(), sa.ForeignKey("posts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # Ids are never given again (a late delete must not hit a newer lesson).
        sqlite_autoincrement=True,
    )
    op.create_index("ix_playbook_team_created", "playbook", ["team_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_playbook_team_created", table_name="playbook")
    op.drop_table("playbook")
