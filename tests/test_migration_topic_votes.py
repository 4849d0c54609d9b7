"""Migration 0019: `topics.votes`, filled from the votes already cast, and the backlog
index over the whole backlog order; on SQLite and PostgreSQL, and back down."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from storage import topics as topic_store
from storage.db import create_engine_for, transaction
from storage.migrate import downgrade_database, upgrade_database
from storage.topics import BacklogFilter
from tests.test_storage import index_names

CREATED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _topic(engine: Engine, title: str) -> int:
    with engine.begin() as connection:
        return connection.execute(
            text(
                "INSERT INTO topics (team_id, title, tags, timeliness, value, conversion, score,"
                " priority, status, hot, created_by, created_at, updated_at) VALUES ('content',"
                " :title, '[]', 3, 3, 3, 3.0, 'mid', 'idea', false, 'alice', :created, :created)"
                " RETURNING id"
            ),
            {"title": title, "created": CREATED},
        ).scalar_one()


def _vote(engine: Engine, topic_id: int, member: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO votes (topic_id, member_id, voted_at) VALUES (:t, :m, :at)"),
            {"t": topic_id, "m": member, "at": CREATED},
        )


def test_the_votes_cast_before_are_counted_and_keep_counting(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine, "0018")
    quiet, liked, loved = (_topic(engine, title) for title in ("冷门", "还行", "爆款"))
    for member in ("bob", "carol"):
        _vote(engine, loved, member)
    _vote(engine, liked, "bob")

    upgrade_database(engine)

    with transaction(engine) as session:
        rows, total = topic_store.backlog_page(
            session, team_id="content", wanted=BacklogFilter(), limit=30
        )
        assert [(row.title, row.votes) for row in rows] == [("爆款", 2), ("还行", 1), ("冷门", 0)]
        assert total == 3
        assert topic_store.add_vote(session, topic_id=quiet, member_id="dave", now=CREATED)
        assert topic_store.add_vote(session, topic_id=quiet, member_id="erin", now=CREATED)
        assert topic_store.add_vote(session, topic_id=quiet, member_id="fay", now=CREATED)
        assert topic_store.remove_vote(session, topic_id=loved, member_id="bob")
    with transaction(engine) as session:
        rows, _ = topic_store.backlog_page(
            session, team_id="content", wanted=BacklogFilter(), limit=30
        )
        assert [(row.title, row.votes) for row in rows] == [("冷门", 3), ("还行", 1), ("爆款", 1)]
    engine.dispose()


def test_the_column_goes_back_down_with_the_constraints_kept(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    _vote(engine, _topic(engine, "爆款"), "bob")

    downgrade_database(engine, "0018")

    columns = {column["name"] for column in inspect(engine).get_columns("topics")}
    assert "votes" not in columns and "title" in columns
    with engine.connect() as connection:
        assert "ix_topics_backlog" in index_names(connection)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE topics SET priority = 'urgent'"))
    upgrade_database(engine)
    with transaction(engine) as session:
        rows, _ = topic_store.backlog_page(
            session, team_id="content", wanted=BacklogFilter(), limit=30
        )
        assert [(row.title, row.votes) for row in rows] == [("爆款", 1)]
    engine.dispose()
