"""The prepared path gives what SQLAlchemy gives, on SQLite and PostgreSQL: the same rows
with the same Python values, the same SQL heard by listeners, SQLAlchemy's errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, bindparam, func, literal
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError

from storage import prepared
from storage.db import create_engine_for, insert_unless_taken, transaction
from storage.migrate import upgrade_database
from storage.models import JobRun, Member, Topic
from storage.topics import add_topic
from tests.sql_counting import statements

NOW = datetime(2026, 11, 23, 2, 0, 0, 123456, tzinfo=UTC)
TOPICS = Topic.__table__  # type: ignore[attr-defined]
MEMBERS = Member.__table__  # type: ignore[attr-defined]
RUNS = JobRun.__table__  # type: ignore[attr-defined]

EVERY_COLUMN = (
    core_select(TOPICS).where(TOPICS.c.team_id == bindparam("team_id")).order_by(TOPICS.c.id)
)
WITH_LITERALS = (
    core_select(TOPICS.c.id, TOPICS.c.title, func.count().over().label("total"))
    .where(
        TOPICS.c.team_id == bindparam("team_id"),
        TOPICS.c.status.in_([literal("idea"), literal("scheduled")]),
    )
    .order_by(TOPICS.c.id)
    .limit(bindparam("limit"))
)
EXPANDING = core_select(TOPICS.c.id).where(TOPICS.c.id.in_(bindparam("ids", expanding=True)))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    with transaction(engine) as session:
        for n, (deadline, hot) in enumerate([(NOW + timedelta(days=2), True), (None, False)]):
            add_topic(session, Topic(
                team_id="content", title=f"选题 {n}", tags=["年终", f"t{n}"], timeliness=3,
                value=4, conversion=5, score=4.1, priority="high", hot=hot, deadline=deadline,
                created_by="alice", created_at=NOW, updated_at=NOW,
            ))  # fmt: skip
        session.add(Member(team_id="content", id="alice", name="Alice", role="admin",
                           away_from=date(2026, 12, 1), away_to=None, created_at=NOW))  # fmt: skip
    yield engine
    engine.dispose()


def test_rows_are_what_sqlalchemy_reads(engine: Engine) -> None:
    with transaction(engine) as session:
        expected = session.connection().execute(EVERY_COLUMN, {"team_id": "content"}).all()
        got = prepared.rows(session, EVERY_COLUMN, {"team_id": "content"})
    assert [tuple(row) for row in got] == [tuple(row) for row in expected]
    first = got[0]
    assert first.tags == ["年终", "t0"] and first.hot is True and first.deadline.tzinfo is not None
    assert first.deadline == NOW + timedelta(days=2) and first.created_at == NOW
    assert got[1].deadline is None and got[1].hot is False


def test_literal_values_and_a_limit_are_bound(engine: Engine) -> None:
    with transaction(engine) as session:
        got = prepared.rows(session, WITH_LITERALS, {"team_id": "content", "limit": 1})
        none = prepared.rows(session, WITH_LITERALS, {"team_id": "elsewhere", "limit": 5})
    assert [(row.title, row.total) for row in got] == [("选题 0", 2)]
    assert none == []


def test_dates_and_parameters_are_converted_both_ways(engine: Engine) -> None:
    by_away = core_select(MEMBERS.c.id, MEMBERS.c.away_from).where(
        MEMBERS.c.away_from == bindparam("day", type_=MEMBERS.c.away_from.type)
    )
    with transaction(engine) as session:
        found = prepared.first(session, by_away, {"day": date(2026, 12, 1)})
        missing = prepared.first(session, by_away, {"day": date(2026, 12, 2)})
    assert found is not None and found.away_from == date(2026, 12, 1) and missing is None


def test_a_write_returning_its_id_runs_in_the_session_transaction(engine: Engine) -> None:
    statement = insert_unless_taken(RUNS, engine.dialect.name)
    row = {"team_id": "content", "job": "digest", "period": "2026-11-23", "status": "done",
           "ran_at": NOW}  # fmt: skip
    with pytest.raises(RuntimeError), transaction(engine) as session:
        assert prepared.first(session, statement, row) is not None
        raise RuntimeError("rolled back")
    with transaction(engine) as session:
        assert prepared.first(session, statement, row) is not None  # the first one was undone
        assert prepared.first(session, statement, row) is None  # taken now


def test_listeners_hear_the_statement_and_expanding_ones_go_through_sqlalchemy(
    engine: Engine,
) -> None:
    with statements(engine) as sent, transaction(engine) as session:
        prepared.rows(session, EVERY_COLUMN, {"team_id": "content"})
        ids = [row.id for row in prepared.rows(session, EXPANDING, {"ids": [1, 2, 99]})]
    assert len(sent) == 2 and sent[0].startswith("SELECT topics.id, topics.team_id")
    assert sorted(ids) == [1, 2]


def test_a_driver_error_is_sqlalchemys(engine: Engine) -> None:
    duplicate = TOPICS.insert().values(
        id=bindparam("id"), team_id="content", title="x", tags=[], timeliness=1, value=1,
        conversion=1, score=1.0, priority="low", status="idea", hot=False, created_by="alice",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction(engine) as session:
        prepared.rows(session, duplicate, {"id": 1})
