"""Storage on a real database: SQLite always, PostgreSQL when OPSBOT_TEST_PG_URL is set."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from storage import identities
from storage import members as member_store
from storage import posts as post_store
from storage import tasks as task_store
from storage import topics as topic_store
from storage.db import create_engine_for, normalise_url, transaction
from storage.migrate import current_revision, head_revision, upgrade_database
from storage.models import Post, Standup, Task, Topic
from storage.team_rows import get_in_team

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


def _topic(**fields: object) -> Topic:
    values: dict[str, object] = {
        "team_id": "content", "title": "选题", "timeliness": 3, "value": 3, "conversion": 3,
        "score": 3.0, "priority": "mid", "created_by": "alice", "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    values.update(fields)
    return Topic(**values)


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # see _EXPRESSION_INDEXES
def test_migrations_create_exactly_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert {"members", "topics", "votes", "posts", "tasks", "standups"} <= set(
        inspect(engine).get_table_names()
    )
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _comparable}
        )
        assert compare_metadata(context, SQLModel.metadata) == []
        # What autogenerate cannot compare is there by name; tests/test_backlog_query.py
        # checks that the backlog query is answered through it.
        assert index_names(connection) >= _EXPRESSION_INDEXES


# Expression indexes: SQLite cannot reflect them and PostgreSQL reflects its own spelling
# (`priority::text = 'high'::text`), so autogenerate would see a difference in each.
_EXPRESSION_INDEXES = {"ix_topics_backlog"}


def _comparable(_object: object, name: str | None, kind: str, *_: object) -> bool:
    return not (kind == "index" and name in _EXPRESSION_INDEXES)


def index_names(connection: Connection) -> set[str]:
    if connection.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    return set(connection.execute(text(query)).scalars())


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()


def test_instants_come_back_aware_and_equal(engine: Engine) -> None:
    shanghai_nine = datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    with transaction(engine) as session:
        topic_id = topic_store.add_topic(session, _topic(deadline=shanghai_nine)).id
    with transaction(engine) as session:
        stored = get_in_team(session, Topic, team_id="content", row_id=topic_id)
        assert stored is not None and stored.deadline is not None
        assert stored.deadline.tzinfo is not None
        assert stored.deadline == shanghai_nine
        assert stored.deadline.astimezone(UTC).hour == 1


def test_tags_round_trip_as_a_list(engine: Engine) -> None:
    with transaction(engine) as session:
        topic_id = topic_store.add_topic(session, _topic(tags=["促销", "双十一"])).id
    with transaction(engine) as session:
        stored = get_in_team(session, Topic, team_id="content", row_id=topic_id)
        assert stored is not None and stored.tags == ["促销", "双十一"]


def test_a_topic_of_another_team_is_not_found(engine: Engine) -> None:
    with transaction(engine) as session:
        topic_id = topic_store.add_topic(session, _topic(team_id="other")).id
    with transaction(engine) as session:
        assert get_in_team(session, Topic, team_id="content", row_id=topic_id) is None


def test_one_vote_per_member_is_enforced_by_the_database(engine: Engine) -> None:
    with transaction(engine) as session:
        topic_id = topic_store.add_topic(session, _topic()).id
        assert topic_id is not None
        assert topic_store.add_vote(session, topic_id=topic_id, member_id="bob", now=NOW)
        assert not topic_store.add_vote(session, topic_id=topic_id, member_id="bob", now=NOW)
        assert topic_store.add_vote(session, topic_id=topic_id, member_id="carol", now=NOW)
    with transaction(engine) as session:
        assert topic_store.vote_count(session, topic_id=topic_id) == 2
        assert topic_store.remove_vote(session, topic_id=topic_id, member_id="bob")
        assert not topic_store.remove_vote(session, topic_id=topic_id, member_id="bob")
    with transaction(engine) as session:
        assert topic_store.vote_count(session, topic_id=topic_id) == 1
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text("INSERT INTO votes (topic_id, member_id, voted_at) VALUES (:t, 'carol', :at)"),
            {"t": topic_id, "at": NOW.replace(tzinfo=None)},
        )


def test_check_constraints_refuse_impossible_rows(engine: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(engine) as session:
        topic_store.add_topic(session, _topic(timeliness=9))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        topic_store.add_topic(session, _topic(status="lost"))
    with transaction(engine) as session:
        assert topic_store.list_topics(session, team_id="content") == []


def test_votes_need_an_existing_topic(engine: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(engine) as session:
        topic_store.add_vote(session, topic_id=999, member_id="bob", now=NOW)


def test_configured_members_are_seeded_once_and_chat_roles_survive(engine: Engine) -> None:
    configured = [("alice", "Alice", "admin", {"slack": "U01"}), ("bob", "Bob", "member", {})]
    with transaction(engine) as session:
        member_store.sync_configured_members(
            session, team_id="content", configured=configured, now=NOW
        )
    with transaction(engine) as session:
        bob = member_store.get_member(session, team_id="content", member_id="bob")
        assert bob is not None
        bob.role = "editor"
    configured[0] = ("alice", "Alice", "admin", {"slack": "U99"})
    with transaction(engine) as session:
        member_store.sync_configured_members(
            session, team_id="content", configured=configured, now=NOW
        )
    with transaction(engine) as session:
        members = {m.id: m for m in member_store.list_members(session, team_id="content")}
        assert set(members) == {"alice", "bob"}
        assert members["bob"].role == "editor"
        assert identities.identities_of_team(session, team_id="content") == {
            "alice": {"slack": "U99"}
        }
        found = identities.member_by_identity(
            session, team_id="content", platform="slack", external_id="U99"
        )
        assert found is not None and found.id == "alice"
        assert member_store.find_member(session, team_id="content", handle="BOB") is not None


def test_postgres_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine_for(f"sqlite:///{tmp_path / 'nested' / 'opsbot.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_posts_between_uses_instants_and_keeps_time_order(engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    day_start = datetime(2026, 11, 24, 0, 0, tzinfo=shanghai)
    times = [
        datetime(2026, 11, 24, 20, 0, tzinfo=shanghai),
        datetime(2026, 11, 24, 0, 30, tzinfo=shanghai),  # 16:30 UTC the day before
        datetime(2026, 11, 25, 0, 0, tzinfo=shanghai),  # the next day: excluded
    ]
    with transaction(engine) as session:
        for index, planned_at in enumerate(times):
            post_store.add_post(
                session,
                Post(
                    team_id="content", title=f"p{index}", platform="wechat", planned_at=planned_at,
                    owner="bob", created_by="bob", created_at=NOW, updated_at=NOW,
                ),
            )  # fmt: skip
    with transaction(engine) as session:
        found = post_store.posts_between(
            session, team_id="content", start=day_start, end=day_start + timedelta(days=1)
        )
        assert [post.title for post in found] == ["p1", "p0"]
        assert found[0].planned_at == times[1]


def test_today_s_tasks_include_open_ones_carried_over(engine: Engine) -> None:
    monday, wednesday = date(2026, 11, 23), date(2026, 11, 25)
    rows = [
        ("old open", monday, "open"),
        ("old done", monday, "done"),
        ("old dropped", monday, "dropped"),
        ("today", wednesday, "open"),
        ("tomorrow", wednesday + timedelta(days=1), "open"),
    ]
    with transaction(engine) as session:
        for text_, day, status in rows:
            task_store.add_task(
                session,
                Task(
                    team_id="content", owner="alice", text=text_, day=day, status=status,
                    created_by="alice", created_at=NOW, updated_at=NOW,
                ),
            )  # fmt: skip
    with transaction(engine) as session:
        today = task_store.tasks_for_day(session, team_id="content", day=wednesday, today=wednesday)
        assert [task.text for task in today] == ["old open", "today"]
        past = task_store.tasks_for_day(session, team_id="content", day=monday, today=wednesday)
        assert [task.text for task in past] == ["old open", "old done"]


def test_one_standup_per_member_and_day(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(
            Standup(team_id="content", member="bob", day=date(2026, 11, 23), answered_at=NOW)
        )
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(
            Standup(team_id="content", member="bob", day=date(2026, 11, 23), answered_at=NOW)
        )


def test_kpi_upserts_insert_replace_and_leave_alone(engine: Engine) -> None:
    from storage import kpis as kpi_store
    from storage.kpis import Upsert

    key = {"team_id": "content", "platform": "wechat", "day": date(2026, 11, 16), "metric": "reads"}
    with transaction(engine) as session:
        assert kpi_store.upsert_daily(session, **key, value=100, now=NOW) == (Upsert.INSERTED, None)
    with transaction(engine) as session:
        assert kpi_store.upsert_daily(session, **key, value=100, now=NOW) == (Upsert.UNCHANGED, 100)
        assert kpi_store.upsert_daily(session, **key, value=120, now=NOW) == (Upsert.UPDATED, 100)
    with transaction(engine) as session:
        (row,) = kpi_store.daily_values(
            session, team_id="content", start=date(2026, 11, 1), end=date(2026, 11, 30)
        )
        assert row.value == 120
        level = kpi_store.latest_before(
            session, team_id="content", platform="wechat", metric="reads", before=date(2026, 11, 17)
        )
        assert level is not None and level.value == 120
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO kpi_daily (team_id, platform, day, metric, value, updated_at) "
                "VALUES ('content', 'wechat', :day, 'reads', 1, :at)"
            ),
            {"day": date(2026, 11, 16), "at": NOW.replace(tzinfo=None)},
        )


def test_a_delivery_is_first_only_once(engine: Engine) -> None:
    from storage.inbound import first_delivery

    with transaction(engine) as session:
        assert first_delivery(session, platform="slack", event_id="Ev1", now=NOW)
        assert not first_delivery(session, platform="slack", event_id="Ev1", now=NOW)
        assert first_delivery(session, platform="feishu", event_id="Ev1", now=NOW)
    with transaction(engine) as session:
        assert not first_delivery(session, platform="slack", event_id="Ev1", now=NOW)


def test_old_deliveries_and_old_sent_posts_are_pruned(engine: Engine) -> None:
    from datetime import timedelta

    from storage import outbox as outbox_store
    from storage.inbound import first_delivery, prune

    with transaction(engine) as session:
        assert first_delivery(
            session, platform="slack", event_id="old", now=NOW - timedelta(days=2)
        )
        assert first_delivery(session, platform="slack", event_id="new", now=NOW)
        outbox_store.enqueue(session, team_id="content", key="k1", platform="console",
                             target="team", kind="digest", payload={"title": "x"}, now=NOW)  # fmt: skip
    with transaction(engine) as session:
        assert prune(session, before=NOW - timedelta(days=1)) == 1
        assert outbox_store.prune_sent(session, before=NOW + timedelta(days=1)) == 0  # unsent
    with transaction(engine) as session:
        assert not first_delivery(session, platform="slack", event_id="new", now=NOW)
        assert first_delivery(session, platform="slack", event_id="old", now=NOW)  # forgotten
