"""Commands marked `reads_only` change nothing: a platform's retry of one is answered
again instead of being recorded and skipped, so the mark must be true."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.app import WouldWrite
from bot.messages import Command
from bot.render.text import render_text
from handlers import ALL_FAMILIES
from tests.conftest import BotDriver


def test_every_read_only_command_leaves_every_table_as_it_was(bot: BotDriver) -> None:
    bot.send("/topic add 冬季护肤指南 #护肤 p:wechat t:5 v:4 c:4")
    bot.send("/publish add 冬季护肤指南 p:wechat 今天 20:00")
    bot.send("/task add 写初稿 2h")
    bot.send("/kpi log wechat today reads=1.3万 转发=340")
    bot.send("@bob /standup 昨天 写稿 今天 拍摄")
    before = bot.export()

    lines = [
        f"/{family.name} {subcommand.name}".strip()
        for family in ALL_FAMILIES
        for subcommand in [*family.subcommands, family.default]
        if subcommand is not None and subcommand.reads_only
    ]
    replies = {line: bot.send(line) for line in lines}

    assert sorted(lines) == sorted([
        "/topic list", "/publish today", "/publish list", "/task list", "/team list",
        "/kpi show", "/help", "/digest", "/summary",
    ])  # fmt: skip
    assert not [line for line, reply in replies.items() if reply.startswith("❌")]
    assert bot.export() == before


def test_reads_are_answered_from_a_snapshot_while_another_process_writes(bot: BotDriver) -> None:
    """What lets an adapter answer a read where it may not wait (Slack's event loop):
    the same reply as usual, with a writer in another process holding the database."""
    bot.send("/topic add 冬季护肤指南 #护肤 p:wechat t:5 v:4 c:4")
    bot.send("/task add 写初稿 2h")
    team = bot.bot.settings.team().id
    usual = {line: bot.reply(line) for line in ("/topic list", "/task list", "/help topic")}

    with another_process_writing(bot.bot.engine.url.database):
        from_snapshot = {
            line: bot.bot.answer_from_snapshot(Command(text=line, team_id=team, user_id="alice"))
            for line in usual
        }

    assert from_snapshot == usual
    assert "冬季护肤指南" in render_text(from_snapshot["/topic list"])


def test_a_snapshot_refuses_what_would_write_and_stores_nothing(bot: BotDriver) -> None:
    team = bot.bot.settings.team().id
    before = bot.export()

    with pytest.raises(WouldWrite):  # a command that writes
        bot.bot.answer_from_snapshot(
            Command(text="/topic add 新选题", team_id=team, user_id="alice")
        )
    with pytest.raises(WouldWrite):  # a newcomer, who must be registered first
        bot.bot.answer_from_snapshot(Command(text="/topic list", team_id=team, user_id="zoe"))

    assert bot.export() == before
    assert "@zoe" in bot.send("@zoe /team list")  # the usual path registers them


@contextmanager
def another_process_writing(database: str | None) -> Iterator[None]:
    """A second connection, as another process would have, holding SQLite's write lock."""
    other = sqlite3.connect(str(database), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE members SET name = name")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()
