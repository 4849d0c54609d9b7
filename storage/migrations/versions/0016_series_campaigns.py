"""Series (栏目) and campaigns (专题/活动).

`series` holds a recurring column's rule (as typed, and what it means: weekly on a
weekday or monthly on a day, at a wall-clock time) and how many occurrences to keep
planned; `series_occurrences` has one row per (series, day) ever planned — its primary
key is what makes each occurrence planned once, and the row stays when the post is
skipped or moved, so it is never planned again. `posts.series_id` names the series an
ordinary post belongs to. `campaigns` holds a campaign's days, goal, owner and review;
`campaign_links` the topics, posts and tasks tagged to it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("month_day", sa.Integer(), nullable=True),
        sa.Column("at", sa.String(length=5), nullable=False),
        sa.Column("keep", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('weekly', 'monthly')", name="ck_series_kind"),
    )
    op.create_index("ix_series_team", "series", ["team_id", "active"])
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_posts_series_id", "series", ["series_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "series_occurrences",
        sa.Column(
            "series_id",
            sa.Integer(),
            sa.ForeignKey("series.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column(
            "post_id", sa.Integer(), sa.ForeignKey("posts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("goal_metric", sa.String(length=32), nullable=True),
        sa.Column("goal_value", sa.Float(), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("review_state", sa.String(length=16), nullable=False),
        sa.Column("worked", sa.Text(), nullable=True),
        sa.Column("didnt", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "name", name="uq_campaigns_team_name"),
        sa.CheckConstraint(
            "review_state IN ('pending', 'asked', 'answered', 'posted')",
            name="ck_campaigns_review_state",
        ),
        sa.CheckConstraint("starts_on <= ends_on", name="ck_campaigns_days"),
    )
    op.create_index("ix_campaigns_review", "campaigns", ["review_state", "ends_on"])
    op.create_table(
        "campaign_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("campaign_id", "kind", "ref_id", name="uq_campaign_links"),
        sa.CheckConstraint("kind IN ('topic', 'post', 'task')", name="ck_campaign_links_kind"),
    )
    op.create_index("ix_campaign_links_ref", "campaign_links", ["kind", "ref_id"])


def downgrade() -> None:
    """Back to 0015: the series' posts stay as ordinary posts; campaigns are dropped."""
    op.drop_index("ix_campaign_links_ref", table_name="campaign_links")
    op.drop_table("campaign_links")
    op.drop_index("ix_campaigns_review", table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_table("series_occurrences")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("fk_posts_series_id", type_="foreignkey")
        batch.drop_column("series_id")
    op.drop_index("ix_series_team", table_name="series")
    op.drop_table("series")
