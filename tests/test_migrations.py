"""Upgrading a database created by earlier versions keeps what it holds."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from storage import identities
from storage.db import create_engine_for, transaction
from storage.migrate import (
    current_revision,
    downgrade_database,
    head_revision,
    upgrade_database,
)

CREATED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_members_keep_their_chat_ids_through_the_identities_migration(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine, "0007")  # the schema with one id column per chat platform
    rows = [
        # team, id, name, slack, feishu, wecom, created (minutes after CREATED)
        ("content", "alice", "Alice", "U01", "ou_alice", "alice", 0),
        ("content", "bob", "Bob", "U02", None, "bob", 1),
        ("content", "carol", "Carol", None, "ou_carol", None, 2),
        # A newcomer registered twice by simultaneous first commands: same Slack id.
        ("content", "erin", "Erin", "U05", None, None, 3),
        ("content", "U05", "U05", "U05", None, None, 4),
        ("other", "alice", "Alice B", "U01", None, None, 5),  # another team may share an id
        ("content", "dave", "Dave", "", None, None, 6),  # an empty id is no id
    ]
    with engine.begin() as connection:
        for team, member, name, slack, feishu, wecom, minutes in rows:
            connection.execute(
                text(
                    "INSERT INTO members (team_id, id, name, role, slack, feishu, wecom, created_at)"
                    " VALUES (:team, :id, :name, 'member', :slack, :feishu, :wecom, :created)"
                ),
                {
                    "team": team, "id": member, "name": name, "slack": slack, "feishu": feishu,
                    "wecom": wecom,
                    "created": CREATED.replace(minute=minutes).replace(tzinfo=None)
                    if engine.dialect.name == "sqlite" else CREATED.replace(minute=minutes),
                },
            )  # fmt: skip

    upgrade_database(engine)

    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        assert identities.identities_of_team(session, team_id="content") == {
            "alice": {"slack": "U01", "feishu": "ou_alice", "wecom": "alice"},
            "bob": {"slack": "U02", "wecom": "bob"},
            "carol": {"feishu": "ou_carol"},
            "erin": {"slack": "U05"},  # the member registered first keeps the id
        }
        assert identities.identities_of_team(session, team_id="other") == {
            "alice": {"slack": "U01"}
        }
        found = identities.member_by_identity(
            session, team_id="content", platform="slack", external_id="U05"
        )
        assert found is not None and found.id == "erin"
        names = session.execute(text("SELECT id FROM members ORDER BY team_id, id")).scalars()
        assert list(names) == ["U05", "alice", "bob", "carol", "dave", "erin", "alice"]
    engine.dispose()


def test_the_identities_migration_goes_back_down(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    with transaction(engine) as session:
        session.execute(
            text(
                "INSERT INTO members (team_id, id, name, role, created_at)"
                " VALUES ('content', 'alice', 'Alice', 'admin', :created)"
            ),
            {"created": CREATED},
        )
        identities.link(
            session, team_id="content", member_id="alice", platform="slack",
            external_id="U01", now=CREATED,
        )  # fmt: skip

    downgrade_database(engine, "0007")
    with engine.connect() as connection:
        slack = connection.execute(text("SELECT slack FROM members WHERE id = 'alice'")).scalar()
    assert slack == "U01"
    engine.dispose()
