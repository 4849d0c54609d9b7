"""Replicas started together seed the configured members once, and all of them start.

On the real PostgreSQL: one replica's seeding is held open, uncommitted, while another
seeds the same members; the second waits on the unique key, loses the race when the
first commits, and must read the members the first stored instead of failing to start.
"""

from __future__ import annotations

import threading
from datetime import datetime

from bot.core.clock import FrozenClock
from bot.core.render.text import render_text
from bot.runtime.app import OpsBot
from storage import members as member_store
from storage.db import create_engine_for, transaction
from storage.migrate import upgrade_database
from tests.conftest import make_settings

NOW = datetime.fromisoformat("2026-11-23T10:00:00+08:00")


def test_a_replica_that_loses_the_seeding_race_still_starts(postgres_url: str) -> None:
    settings = make_settings(postgres_url)
    engine = create_engine_for(postgres_url)
    upgrade_database(engine)
    first = OpsBot(settings=settings, engine=engine, clock=FrozenClock(NOW))
    opened: list[OpsBot] = []
    failures: list[BaseException] = []

    def second_replica() -> None:
        try:
            opened.append(OpsBot.open(settings, FrozenClock(NOW)))
        except BaseException as error:  # what a replica that fails to start would raise
            failures.append(error)

    with transaction(engine) as session:  # the first replica, mid-seeding
        member_store.sync_configured_members(
            session, team_id="content", now=NOW,
            configured=[(m.id, m.display_name, m.role, dict(m.identities))
                        for m in settings.team().members],
        )  # fmt: skip
        session.flush()
        thread = threading.Thread(target=second_replica)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting on the first replica's uncommitted members
    thread.join(timeout=30)

    assert failures == [] and len(opened) == 1
    reply = opened[0].say("/team list", speaker="alice")
    assert "Bob" in render_text(reply)
    with transaction(engine) as session:
        members = member_store.list_members(session, team_id="content")
        assert [m.id for m in members] == ["alice", "bob", "carol", "dave"]
    opened[0].engine.dispose()
    first.engine.dispose()
