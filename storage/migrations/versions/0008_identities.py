"""Members' chat platform ids move from one column per platform to `identities`.

A chat platform is a plug-in: adding one must not need a migration. Each id a member had
in the `slack`, `feishu` or `wecom` column becomes a row (team, platform, external id →
member). Where two members of a team shared one platform id (a newcomer registered twice
by simultaneous first commands), the id stays with the member registered first.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_COLUMNS = ("slack", "feishu", "wecom")


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id", "member_id"], ["members.team_id", "members.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "platform", "external_id"),
        sa.UniqueConstraint(
            "team_id", "member_id", "platform", name="uq_identities_member_platform"
        ),
    )
    for column in OLD_COLUMNS:
        # The earliest member keeps an id that several members share.
        op.execute(
            f"""
            INSERT INTO identities (team_id, platform, external_id, member_id, created_at)
            SELECT m.team_id, '{column}', m.{column}, m.id, m.created_at
            FROM members m
            WHERE m.{column} IS NOT NULL AND m.{column} <> ''
              AND NOT EXISTS (
                SELECT 1 FROM members earlier
                WHERE earlier.team_id = m.team_id AND earlier.{column} = m.{column}
                  AND (earlier.created_at < m.created_at
                       OR (earlier.created_at = m.created_at AND earlier.id < m.id))
              )
            """
        )
    with op.batch_alter_table("members") as batch:
        for column in OLD_COLUMNS:
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        for column in OLD_COLUMNS:
            batch.add_column(sa.Column(column, sa.String(length=64), nullable=True))
    for column in OLD_COLUMNS:
        op.execute(
            f"""
            UPDATE members SET {column} = (
                SELECT i.external_id FROM identities i
                WHERE i.team_id = members.team_id AND i.member_id = members.id
                  AND i.platform = '{column}'
            )
            """
        )
    op.drop_table("identities")
