"""Week and month plans: a task may belong to a week or a month instead of a day.

Two nullable columns, `week` (the ISO week, `2026-W48`) and `month` (`2026-12`), rather
than a `scope` + `period` pair: the export and SPEC §9 name them so ("a task may carry
`week` or `month` instead of `day`"), one CHECK says a task has a day, a week or a month
and never both a week and a month, and each sorts as text in time order, so "open items
of the weeks before this one" is `week < :week` on an index. `day` becomes nullable: a
plan item has none until it is taken into a day's timeline, when it gets one and keeps
its week or month (one row, so finishing it finishes it in the plan too). Existing tasks
keep their day and get neither column: they stay day tasks. On SQLite, batch mode copies
the table with its rows and indexes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE_CHECK = (
    "(week IS NULL OR month IS NULL) AND (day IS NOT NULL OR week IS NOT NULL OR month IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("week", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("month", sa.String(length=7), nullable=True))
        batch.alter_column("day", existing_type=sa.Date(), nullable=True)
        batch.create_check_constraint("ck_tasks_scope", SCOPE_CHECK)
    op.create_index("ix_tasks_team_week_status", "tasks", ["team_id", "week", "status"])
    op.create_index("ix_tasks_team_month_status", "tasks", ["team_id", "month", "status"])


def _first_days() -> list[tuple[int, date]]:
    """Each plan item not yet in a day: its id, and its week's Monday or month's 1st."""
    rows = op.get_bind().execute(
        sa.text("SELECT id, week, month FROM tasks WHERE day IS NULL ORDER BY id")
    )
    days = []
    for task_id, week, month in rows:
        if week:
            year, number = week.split("-W")
            first = date.fromisocalendar(int(year), int(number), 1)
        else:
            year, number = month.split("-")
            first = date(int(year), int(number), 1)
        days.append((task_id, first))
    return days


def downgrade() -> None:
    """Back to 0013: a plan item not yet in a day becomes a task of its week's Monday or
    its month's first day (open ones then carry over to today as day tasks do), and the
    week and month are dropped. Nothing a person wrote is lost."""
    for task_id, first in _first_days():
        op.execute(
            sa.text("UPDATE tasks SET day = :day WHERE id = :id").bindparams(
                sa.bindparam("day", value=first, type_=sa.Date()), id=task_id
            )
        )
    op.drop_index("ix_tasks_team_month_status", table_name="tasks")
    op.drop_index("ix_tasks_team_week_status", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint("ck_tasks_scope", type_="check")
        batch.alter_column("day", existing_type=sa.Date(), nullable=False)
        batch.drop_column("month")
        batch.drop_column("week")
