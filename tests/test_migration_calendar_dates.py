"""Migration 0015: the marketing calendar's `calendar_dates` (a team's own dates and the
built-in dates it hid) and `calendar_feeds` (each team's feed token), on a database with
data of 0014, on SQLite and PostgreSQL; and back down."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import calendar as calendar_store
from storage.db import create_engine_for, transaction
from storage.migrate import downgrade_database, upgrade_database
from storage.models import CalendarDate

CREATED = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)


def _row(**values: object) -> CalendarDate:
    fields: dict[str, object] = {
        "team_id": "content", "kind": "own", "day": date(2027, 3, 15), "name": "公司周年庆",
        "created_by": "alice", "created_at": CREATED,
    }  # fmt: skip
    fields.update(values)
    return CalendarDate(**fields)


def test_the_tables_come_and_go_with_the_data_of_0014_kept(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine, "0014")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO topics (team_id, title, tags, timeliness, value, conversion, score,"
                " priority, status, hot, created_by, created_at, updated_at) VALUES ('content',"
                " '冬至节气海报', '[\"冬至\"]', 5, 4, 4, 4.33, 'high', 'idea', false, 'alice',"
                " :created, :created)"
            ),
            {"created": CREATED},
        )

    upgrade_database(engine)

    tables = set(inspect(engine).get_table_names())
    assert {"calendar_dates", "calendar_feeds"} <= tables
    with transaction(engine) as session:
        calendar_store.add_date(session, _row())
        calendar_store.add_date(session, _row(kind="hidden", day=None, name="感恩节"))
        calendar_store.set_feed_token(session, team_id="content", token="t" * 32, now=CREATED)
    with transaction(engine) as session:
        hidden, own = calendar_store.team_dates(
            session, team_id="content", start=date(2027, 3, 1), end=date(2027, 3, 31)
        )
        assert [(row.day, row.name) for row in own] == [(date(2027, 3, 15), "公司周年庆")]
        assert hidden == {"感恩节"}
        assert calendar_store.feed_token(session, team_id="content") == "t" * 32
        topics = calendar_store.topics_naming(
            session, team_id="content", names=["冬至"], statuses=["idea"], limit=5
        )
        assert [topic.title for topic in topics] == ["冬至节气海报"]  # the 0014 row, by tag

    # An own date has a day and a hidden one none: the database holds to it.
    with pytest.raises(IntegrityError), transaction(engine) as session:
        calendar_store.add_date(session, _row(day=None))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        calendar_store.add_date(session, _row(kind="hidden"))

    downgrade_database(engine, "0014")
    tables = set(inspect(engine).get_table_names())
    assert not {"calendar_dates", "calendar_feeds"} & tables
    with engine.connect() as connection:  # what 0014 had is still there
        assert connection.execute(text("SELECT title FROM topics")).scalars().all() == [
            "冬至节气海报"
        ]
    upgrade_database(engine)  # and up again, empty
    with transaction(engine) as session:
        everything = {"start": date(2000, 1, 1), "end": date(2100, 1, 1)}
        assert calendar_store.team_dates(session, team_id="content", **everything) == (set(), [])
    engine.dispose()
