"""Migration 0014: tasks may belong to a week or a month; the tasks already stored stay
day tasks, and going back down gives a plan item its week's Monday or month's first."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import tasks as task_store
from storage.db import create_engine_for, transaction
from storage.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from storage.models import Task

CREATED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
INSERT = text(
    "INSERT INTO tasks (team_id, owner, text, quadrant, estimate_minutes, day, status,"
    " created_by, created_at, updated_at)"
    " VALUES ('content', :owner, :text, :quadrant, :estimate, :day, :status, :owner,"
    " :created, :created)"
)


def _created(dialect: str) -> datetime:
    """SQLite stores naive UTC; PostgreSQL an aware instant."""
    return CREATED.replace(tzinfo=None) if dialect == "sqlite" else CREATED


def _plan_item(**values: object) -> Task:
    fields: dict[str, object] = {
        "team_id": "content", "owner": "bob", "text": "策划双十二活动", "quadrant": "q1",
        "estimate_minutes": 180, "created_by": "bob", "created_at": CREATED,
        "updated_at": CREATED,
    }  # fmt: skip
    fields.update(values)
    return Task(**fields)


def test_existing_tasks_stay_day_tasks(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine, "0013")
    rows = [
        ("alice", "写推文初稿", "q1", 120, date(2026, 11, 20), "open"),
        ("bob", "回复留言", "q3", None, date(2026, 11, 23), "done"),
    ]
    with engine.begin() as connection:
        for owner, task_text, quadrant, estimate, day, status in rows:
            connection.execute(
                INSERT,
                {
                    "owner": owner, "text": task_text, "quadrant": quadrant,
                    "estimate": estimate, "day": day, "status": status,
                    "created": _created(engine.dialect.name),
                },
            )  # fmt: skip

    upgrade_database(engine)

    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        stored = session.execute(
            text("SELECT owner, day, week, month, status FROM tasks ORDER BY id")
        ).all()
        assert [(row[0], str(row[1]), *row[2:]) for row in stored] == [  # SQLite: text
            ("alice", "2026-11-20", None, None, "open"),
            ("bob", "2026-11-23", None, None, "done"),
        ]
        # The old open task still carries over to today's plan; no plan item is offered.
        today = task_store.tasks_for_day(
            session, team_id="content", day=date(2026, 11, 23), today=date(2026, 11, 23)
        )
        assert [row.text for row in today] == ["写推文初稿", "回复留言"]
        assert not task_store.plan_items_to_offer(
            session, team_id="content", week="2026-W48", month="2026-11"
        )
    engine.dispose()


def test_a_task_has_a_day_a_week_or_a_month_and_the_migration_goes_back_down(
    database_url: str,
) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    with transaction(engine) as session:
        task_store.add_task(session, _plan_item(week="2026-W48"))
        task_store.add_task(session, _plan_item(text="竞品分析", month="2026-12"))
        task_store.add_task(
            session, _plan_item(text="已放进今天", week="2026-W48", day=date(2026, 11, 24))
        )
    for bad in ({"week": "2026-W48", "month": "2026-11"}, {}):
        with pytest.raises(IntegrityError), transaction(engine) as session:
            task_store.add_task(session, _plan_item(**bad))
    with transaction(engine) as session:
        week = task_store.plan_items(
            session, team_id="content", scope="week", period="2026-W49", carried=True
        )
        assert [(row.text, row.week) for row in week] == [
            ("策划双十二活动", "2026-W48"),  # open items of a week that is over carry over
            ("已放进今天", "2026-W48"),
        ]
        assert not task_store.plan_items(
            session, team_id="content", scope="week", period="2026-W49", carried=False
        )

    downgrade_database(engine, "0013")
    with engine.connect() as connection:
        days = connection.execute(text("SELECT text, day FROM tasks ORDER BY id")).all()
        assert [(row[0], str(row[1])) for row in days] == [
            ("策划双十二活动", "2026-11-23"),  # the Monday of 2026-W48
            ("竞品分析", "2026-12-01"),
            ("已放进今天", "2026-11-24"),  # a day it had stays
        ]
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
