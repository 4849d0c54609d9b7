"""The heads of the day plans (the digest's, `/task list`'s) are read in plan order from
`ix_tasks_plan_order` and stopped after the head: the team's open tasks are counted,
never sorted, so a head costs about the same at a thousand tasks as at ten."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert

from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from storage import tasks as task_store
from storage.db import transaction
from storage.models import Task
from tests.conftest import make_settings

NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)
DAY = date(2026, 11, 23)


def test_every_head_is_read_in_order_through_the_plan_index() -> None:
    bot = OpsBot.open(make_settings("sqlite://"), FrozenClock(NOW))
    try:
        rows = [
            {"team_id": "content", "owner": f"m{n % 20}", "text": f"事 {n}",
             "quadrant": f"q{n % 4 + 1}", "estimate_minutes": 30, "day": DAY,
             "status": "open", "created_by": "alice", "created_at": NOW, "updated_at": NOW}
            for n in range(400)
        ]  # fmt: skip
        with transaction(bot.engine) as session:
            session.execute(insert(Task), rows)
        statements = {
            "digest": task_store._heads_statement().params(team_id="content", day=DAY, shown=8),
            "/task list": task_store._own_head_statement(carried=True).params(
                team_id="content", owner="m3", day=DAY, shown=30
            ),
        }
        with bot.engine.connect() as connection:
            for name, statement in statements.items():
                sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
                plan = "\n".join(
                    row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
                )
                # The head's ids come from the plan index alone, in its order; only the
                # rows of the head (8 a person, or 30) are then fetched and put in order.
                assert "COVERING INDEX ix_tasks_plan_order (team_id=? AND owner=?" in plan, name
                assert "ix_tasks_team_owner_day" not in plan, name
    finally:
        bot.engine.dispose()
