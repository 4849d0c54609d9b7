"""A newcomer's simultaneous first commands register them once (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime

from bot.core.clock import FrozenClock
from bot.core.dispatch import Delivery
from bot.core.messages import Command, Reply
from bot.runtime.app import OpsBot
from tests.conftest import BotDriver, make_settings

CLIENTS = 8


def test_eight_first_commands_at_once_register_one_member_with_one_vote(
    database_url: str,
) -> None:
    settings = make_settings(
        database_url,
        platforms={"slack": {"bot_token": "x", "signing_secret": "y", "mode": "http"}},
        team={"channels": {"slack": "C0123"}},
    )
    bot = OpsBot.open(settings, FrozenClock(datetime.fromisoformat("2026-11-23T10:00:00+08:00")))
    bot.say("/topic add 冬至节气海报", speaker="alice")
    start = threading.Barrier(CLIENTS)
    replies: list[Reply | None] = []

    def first_command() -> None:
        command = Command(
            text="/topic vote 1", team_id=None, user_id="U99", user_name="erin",
            channel_id="C0123",
        )  # fmt: skip
        start.wait(timeout=30)
        replies.append(bot.dispatch(command, Delivery("slack")))

    threads = [threading.Thread(target=first_command) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(replies) == CLIENTS
    assert not [r for r in replies if r is None or r.is_error], [r.title for r in replies if r]
    export = BotDriver(bot, bot.clock).export()  # type: ignore[arg-type]
    newcomers = [row for row in export["members"] if row["slack"] == "U99"]
    assert [row["id"] for row in newcomers] == ["erin"]
    assert (
        export["identities"].count(
            {"team": "content", "member": "erin", "platform": "slack", "external_id": "U99"}
        )
        == 1
    )
    assert [vote["member"] for vote in export["votes"]] == ["erin"]
    bot.engine.dispose()
