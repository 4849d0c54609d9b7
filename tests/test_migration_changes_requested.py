"""Migration 0010: posts gain `changes_requested` (a reviewer sent the post back) and the
reason, who and when; a database at 0009 keeps every post, its confirmations and what
refers to it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError

from storage import posts as post_store
from storage.db import create_engine_for, transaction
from storage.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from storage.models import Post
from storage.team_rows import get_in_team

CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLANNED = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _instant(dialect: str, instant: datetime | None) -> datetime | None:
    """SQLite stores naive UTC; PostgreSQL an aware instant."""
    if instant is None or dialect != "sqlite":
        return instant
    return instant.replace(tzinfo=None)


# id, status, author confirmed, reviewer confirmed by, published, url
POSTS = [
    (1, "planned", None, None, None, None),
    (2, "author_confirmed", CREATED.replace(hour=10), None, None, None),
    (3, "confirmed", CREATED.replace(hour=10), "carol", None, None),
    (4, "published", CREATED.replace(hour=10), "carol", PLANNED, "https://example.com/4"),
    (5, "cancelled", None, None, None, None),
]


def _populate_0009(engine_url: str) -> None:
    engine = create_engine_for(engine_url)
    upgrade_database(engine, "0009")
    dialect = engine.dialect.name
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO topics (id, team_id, title, tags, timeliness, value, conversion,"
                " score, priority, status, hot, created_by, created_at, updated_at)"
                " VALUES (1, 'content', '冬季护肤指南', '[]', 4, 4, 4, 4.0, 'high', 'scheduled',"
                " false, 'bob', :created, :created)"
            ),
            {"created": _instant(dialect, CREATED)},
        )
        for post_id, status, author_at, confirmed_by, published_at, url in POSTS:
            connection.execute(
                text(
                    "INSERT INTO posts (id, team_id, topic_id, title, platform, planned_at, owner,"
                    " reviewer, status, author_confirmed_at, reviewer_confirmed_at,"
                    " reviewer_confirmed_by, published_at, url, created_by, created_at, updated_at)"
                    " VALUES (:id, 'content', :topic, :title, 'wechat', :planned, 'bob', 'carol',"
                    " :status, :author_at, :reviewer_at, :by, :published, :url, 'bob', :created,"
                    " :created)"
                ),
                {
                    "id": post_id, "topic": 1 if post_id == 1 else None, "title": f"稿子 {post_id}",
                    "planned": _instant(dialect, PLANNED), "status": status,
                    "author_at": _instant(dialect, author_at),
                    "reviewer_at": _instant(dialect, author_at) if confirmed_by else None,
                    "by": confirmed_by, "published": _instant(dialect, published_at), "url": url,
                    "created": _instant(dialect, CREATED),
                },
            )  # fmt: skip
        connection.execute(
            text(
                "INSERT INTO post_metrics (post_id, metric, value, updated_at)"
                " VALUES (4, 'reads', 1200, :created)"
            ),
            {"created": _instant(dialect, CREATED)},
        )
    engine.dispose()


def test_posts_are_kept_whole_through_the_upgrade(database_url: str) -> None:
    _populate_0009(database_url)
    engine = create_engine_for(database_url)

    upgrade_database(engine)

    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        posts = [get_in_team(session, Post, team_id="content", row_id=n) for n, *_ in POSTS]
        assert [
            (p.id, p.status, p.author_confirmed_at, p.reviewer_confirmed_by, p.published_at, p.url)
            for p in posts
            if p is not None
        ] == POSTS
        assert all(
            (p.changes_requested_reason, p.changes_requested_by, p.changes_requested_at)
            == (None, None, None)
            for p in posts
            if p is not None
        )
        assert [p.id for p in post_store.active_posts_of_topic(session, topic_id=1)] == [1]
        metrics = session.execute(text("SELECT post_id, value FROM post_metrics")).all()
        assert metrics == [(4, 1200)]  # the copy of posts on SQLite cascaded nothing
        assert session.execute(text("SELECT topic_id FROM posts WHERE id = 1")).scalar() == 1
    engine.dispose()


def test_a_post_can_be_sent_back_and_the_check_still_refuses_other_states(
    database_url: str,
) -> None:
    _populate_0009(database_url)
    engine = create_engine_for(database_url)
    upgrade_database(engine)

    with transaction(engine) as session:
        post = get_in_team(session, Post, team_id="content", row_id=2)
        assert post is not None
        post.status, post.author_confirmed_at = "changes_requested", None
        post.changes_requested_reason = "标题太长" * 100  # 400 characters fit
        post.changes_requested_by, post.changes_requested_at = "carol", CREATED
    with transaction(engine) as session:
        post = get_in_team(session, Post, team_id="content", row_id=2)
        assert post is not None
        assert (post.status, post.changes_requested_by, post.changes_requested_at) == (
            "changes_requested", "carol", CREATED,
        )  # fmt: skip
        assert [p.id for p in post_store.active_posts_of_topic(session, topic_id=1)] == [1]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE posts SET status = 'rejected' WHERE id = 1"))
    engine.dispose()


def test_the_migration_goes_back_down(database_url: str) -> None:
    _populate_0009(database_url)
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE posts SET status = 'changes_requested', author_confirmed_at = NULL,"
                " changes_requested_reason = '标题太长', changes_requested_by = 'carol'"
                " WHERE id = 2"
            )
        )

    downgrade_database(engine, "0009")

    assert current_revision(engine) == "0009"
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, status FROM posts ORDER BY id")).all()
        assert rows == [
            (1, "planned"), (2, "planned"), (3, "confirmed"), (4, "published"), (5, "cancelled"),
        ]  # fmt: skip
    # Refused again: by the CHECK on SQLite, by the 16 characters first on PostgreSQL.
    with pytest.raises((IntegrityError, DataError)), engine.begin() as connection:
        connection.execute(text("UPDATE posts SET status = 'changes_requested' WHERE id = 1"))
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
