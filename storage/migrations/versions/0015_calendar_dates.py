"""The marketing calendar (营销日历): the team's own dates, hidden built-in dates, and
the secret of the team's iCalendar feed.

`calendar_dates` holds what a team changed in the calendar the bot knows: a date of its
own (`kind` `own`: a company anniversary, a product launch, on `day`), or a built-in date
it does not want to see (`kind` `hidden`, stored by its name, with no day: hiding 七夕
hides it every year). The built-in dates themselves (solar terms, holidays, 618 …) are
data in the repo, not rows.

`calendar_feeds` holds one random token per team for `GET /calendar/<team>.ics`: the
config has no server secret to derive one from, and a stored token can be replaced
(`opsbot calendar token --rotate`) without touching any other team's.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND_CHECK = "(kind = 'own' AND day IS NOT NULL) OR (kind = 'hidden' AND day IS NULL)"


def upgrade() -> None:
    op.create_table(
        "calendar_dates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(KIND_CHECK, name="ck_calendar_dates_kind"),
    )
    op.create_index("ix_calendar_dates_team_kind", "calendar_dates", ["team_id", "kind", "day"])
    op.create_table(
        "calendar_feeds",
        sa.Column("team_id", sa.String(length=64), primary_key=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_index("ix_calendar_dates_team_kind", table_name="calendar_dates")
    op.drop_table("calendar_dates")
