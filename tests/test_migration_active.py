"""Migration 0009: members gain `active`; everyone already in a team stays active."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from storage import members as member_store
from storage.db import create_engine_for, transaction
from storage.migrate import current_revision, downgrade_database, head_revision, upgrade_database

CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _created(dialect: str, minutes: int) -> datetime:
    """SQLite stores naive UTC; PostgreSQL an aware instant."""
    instant = CREATED.replace(minute=minutes)
    return instant.replace(tzinfo=None) if dialect == "sqlite" else instant


def test_members_are_all_active_after_the_upgrade(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine, "0008")
    rows = [
        ("content", "alice", "Alice", "admin", 0),
        ("content", "bob", "Bob", "editor", 1),
        ("content", "dave", "Dave", "member", 2),
        ("other", "alice", "Alice B", "admin", 3),
    ]
    with engine.begin() as connection:
        for team, member, name, role, minutes in rows:
            connection.execute(
                text(
                    "INSERT INTO members (team_id, id, name, role, created_at)"
                    " VALUES (:team, :id, :name, :role, :created)"
                ),
                {
                    "team": team, "id": member, "name": name, "role": role,
                    "created": _created(engine.dialect.name, minutes),
                },
            )  # fmt: skip

    upgrade_database(engine)

    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        content = member_store.list_members(session, team_id="content")
        assert [(m.id, m.role, m.active) for m in content] == [
            ("alice", "admin", True),
            ("bob", "editor", True),
            ("dave", "member", True),
        ]
        assert [m.active for m in member_store.list_members(session, team_id="other")] == [True]
        # A row written without the column (as by an older process) is active too.
        session.execute(
            text(
                "INSERT INTO members (team_id, id, name, role, created_at)"
                " VALUES ('content', 'erin', 'Erin', 'member', :created)"
            ),
            {"created": _created(engine.dialect.name, 4)},
        )
        erin = member_store.get_member(session, team_id="content", member_id="erin")
        assert erin is not None and erin.active
    engine.dispose()


def test_removed_members_are_kept_apart_and_the_migration_goes_back_down(
    database_url: str,
) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    with transaction(engine) as session:
        for member_id, role in (("alice", "admin"), ("dave", "member")):
            member_store.add_member(
                session, team_id="content", member_id=member_id, name=member_id.title(),
                role=role, now=CREATED,
            )  # fmt: skip
        dave = member_store.get_member(session, team_id="content", member_id="dave")
        assert dave is not None
        dave.active = False
    with transaction(engine) as session:
        assert [m.id for m in member_store.list_members(session, team_id="content")] == ["alice"]
        everyone = member_store.list_members(session, team_id="content", include_removed=True)
        assert [m.id for m in everyone] == ["alice", "dave"]
        assert member_store.find_member(session, team_id="content", handle="Dave") is None
        assert member_store.get_member(session, team_id="content", member_id="dave") is not None
        assert member_store.member_names(session, team_id="content") == {
            "alice": "Alice", "dave": "Dave",
        }  # fmt: skip

    downgrade_database(engine, "0008")
    with engine.connect() as connection:
        members = connection.execute(text("SELECT id FROM members ORDER BY id")).scalars()
        assert list(members) == ["alice", "dave"]  # a removed member's history stays
    upgrade_database(engine)
    engine.dispose()
