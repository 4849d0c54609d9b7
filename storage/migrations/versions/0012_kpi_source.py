"""Each daily KPI figure remembers where it came from: `source` on `kpi_daily`.

`manual` (typed with `/kpi log`), `import` (a file) or the name of the KPI source that
fetched it (`wechat`, `bilibili`, `douyin`), so that the summary can say where each
platform's figures came from. Everything stored before was typed or imported, and which
of the two is no longer known: it becomes `manual`.

Also an index on (team, day): the weekly summary, the digest and the monthly figures ask
for every platform's days in a range, which the unique key (team, platform, metric, day)
can serve only by its first column, so their cost grew with the years of history.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kpi_daily") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=32), nullable=False, server_default="manual")
        )
    op.create_index("ix_kpi_daily_team_day", "kpi_daily", ["team_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_kpi_daily_team_day", table_name="kpi_daily")
    with op.batch_alter_table("kpi_daily") as batch:
        batch.drop_column("source")
