"""Migration 0016: series, their occurrences and campaigns; the posts already stored
stay ordinary posts, each (series, day) is planned once, and going back down keeps the
posts a series made."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import series as series_store
from storage.db import create_engine_for, transaction
from storage.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from storage.models import Campaign, Post, Series

CREATED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _created(dialect: str) -> datetime:
    return CREATED.replace(tzinfo=None) if dialect == "sqlite" else CREATED


def test_posts_stay_ordinary_and_each_occurrence_is_planned_once(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine, "0015")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO posts (team_id, title, platform, planned_at, owner, status,"
                " created_by, created_at, updated_at)"
                " VALUES ('content', '冬季护肤指南', 'wechat', :at, 'bob', 'confirmed', 'bob',"
                " :at, :at)"
            ),
            {"at": _created(engine.dialect.name)},
        )

    upgrade_database(engine)

    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        (post,) = session.exec(text("SELECT title, status, series_id FROM posts")).all()  # type: ignore[call-overload]
        assert tuple(post) == ("冬季护肤指南", "confirmed", None)
        series = series_store.add_series(
            session,
            Series(team_id="content", title="读书会", platform="wechat", rule="每周三 20:00",
                   kind="weekly", weekday=2, at="20:00", owner="alice", created_by="alice",
                   created_at=CREATED),
        )  # fmt: skip
        assert series.id is not None
        day = date(2026, 11, 25)
        assert series_store.claim_occurrence(session, series_id=series.id, day=day, now=CREATED)
        assert not series_store.claim_occurrence(
            session, series_id=series.id, day=day, now=CREATED
        )  # the second claim of the same day does nothing
        made = Post(team_id="content", title="读书会", platform="wechat", planned_at=CREATED,
                    owner="alice", created_by="alice", created_at=CREATED, updated_at=CREATED,
                    series_id=series.id)  # fmt: skip
        session.add(made)
        session.flush()
        assert made.id is not None
        series_store.set_occurrence_post(session, series_id=series.id, day=day, post_id=made.id)
        session.add(Campaign(team_id="content", name="双十一", starts_on=date(2026, 11, 1),
                             ends_on=date(2026, 11, 11), owner="alice", created_by="alice",
                             created_at=CREATED))  # fmt: skip
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(Campaign(team_id="content", name="双十一", starts_on=date(2026, 12, 1),
                             ends_on=date(2026, 12, 2), owner="bob", created_by="bob",
                             created_at=CREATED))  # fmt: skip
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(Campaign(team_id="content", name="倒着", starts_on=date(2026, 12, 2),
                             ends_on=date(2026, 12, 1), owner="bob", created_by="bob",
                             created_at=CREATED))  # fmt: skip

    downgrade_database(engine, "0015")
    with engine.connect() as connection:
        titles = connection.execute(text("SELECT title FROM posts ORDER BY id")).scalars().all()
        assert titles == ["冬季护肤指南", "读书会"]  # the series' post stays, as a plain post
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
