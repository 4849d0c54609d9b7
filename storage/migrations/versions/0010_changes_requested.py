"""A reviewer can send a post back: status `changes_requested`, and why, who and when.

The status CHECK constraint is recreated to allow the new value, and the status column
is widened from 16 to 32 characters, since `changes_requested` has 17 (PostgreSQL
refuses the longer value; SQLite does not check lengths but keeps the declared type).
On SQLite, batch mode copies the table with its rows, indexes and foreign key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("planned", "author_confirmed", "confirmed", "published", "cancelled")
NEW_STATUSES = (
    "planned", "author_confirmed", "confirmed", "changes_requested", "published", "cancelled",
)  # fmt: skip


def _one_of(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("ck_posts_status", type_="check")
        batch.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=32),
            existing_nullable=False,
        )  # fmt: skip
        batch.add_column(
            sa.Column("changes_requested_reason", sa.String(length=500), nullable=True)
        )
        batch.add_column(sa.Column("changes_requested_by", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("changes_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_check_constraint("ck_posts_status", _one_of(NEW_STATUSES))


def downgrade() -> None:
    """Back to 0009: a post sent back for changes returns to `planned` (its author has
    not confirmed it since), and the reason, who and when are dropped."""
    op.execute("UPDATE posts SET status = 'planned' WHERE status = 'changes_requested'")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("ck_posts_status", type_="check")
        batch.drop_column("changes_requested_at")
        batch.drop_column("changes_requested_by")
        batch.drop_column("changes_requested_reason")
        batch.alter_column(
            "status", existing_type=sa.String(length=32), type_=sa.String(length=16),
            existing_nullable=False,
        )  # fmt: skip
        batch.create_check_constraint("ck_posts_status", _one_of(OLD_STATUSES))
