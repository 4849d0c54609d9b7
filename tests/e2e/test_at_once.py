"""A delivery that may not wait: a command run only if it needs no waiting, so that an
event loop can run it. A read comes from a snapshot; a write only takes a free write lock;
anything else raises `WouldWait` and changes nothing."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.core.dispatch import Delivery, WouldWait
from bot.core.messages import Command, Reply
from bot.core.render.text import render_text
from storage.db import transaction
from tests.conftest import BotDriver, BotFactory


def at_once(
    bot: BotDriver,
    text: str,
    *,
    user: str = "alice",
    delivery: str | None = None,
    platform: str = "console",
) -> Reply | None:
    command = Command(text=text, team_id=bot.bot.settings.team().id, user_id=user)
    return bot.bot.dispatch(command, Delivery(platform, event_id=delivery, may_wait=False))


@contextmanager
def another_process_writing(bot: BotDriver) -> Iterator[None]:
    """A second connection, as another process would have, holding SQLite's write lock."""
    other = sqlite3.connect(str(bot.bot.engine.url.database), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE members SET name = name")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


@contextmanager
def another_thread_writing(bot: BotDriver) -> Iterator[None]:
    """A command of this process, on another thread, in the middle of its transaction."""
    holding, done = threading.Event(), threading.Event()

    def write() -> None:
        with transaction(bot.bot.engine):
            holding.set()
            done.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    holding.wait(10)
    try:
        yield
    finally:
        done.set()
        writer.join()


def test_reads_are_answered_from_a_snapshot_while_another_process_writes(
    bot: BotDriver,
) -> None:
    bot.send("/topic add 冬季护肤指南 #护肤 p:wechat t:5 v:4 c:4")
    bot.send("/task add 写初稿 2h")
    usual = {line: bot.reply(line) for line in ("/topic list", "/task list", "/help topic")}

    with another_process_writing(bot):
        answered = {line: at_once(bot, line) for line in usual}

    assert answered == usual
    assert "冬季护肤指南" in render_text(answered["/topic list"])  # type: ignore[arg-type]


def test_a_write_runs_at_once_when_the_write_lock_is_free(bot: BotDriver) -> None:
    reply = at_once(bot, "/topic add 冬季护肤指南 p:wechat t:5 v:4 c:4", delivery="d1")

    assert reply is not None and reply.title.startswith("选题 #1「")
    assert [topic["title"] for topic in bot.export()["topics"]] == ["冬季护肤指南"]
    assert at_once(bot, "/topic add 冬季护肤指南 p:wechat t:5 v:4 c:4", delivery="d1") is None
    assert len(bot.export()["topics"]) == 1  # the retried delivery was not run again

    rejected = at_once(bot, "/topic vote 99", delivery="d3")
    assert rejected is not None and rejected.is_error
    assert at_once(bot, "/topic vote 99", delivery="d3") is None  # recorded all the same


@pytest.mark.parametrize("writer", [another_process_writing, another_thread_writing])
def test_what_would_wait_for_a_writer_is_refused_and_changes_nothing(
    bot: BotDriver, writer: object
) -> None:
    before = bot.export()

    with writer(bot):  # type: ignore[operator]
        with pytest.raises(WouldWait):
            at_once(bot, "/topic add 新选题", delivery="d2")
        with pytest.raises(WouldWait):  # a chat newcomer's read: they must be registered first
            at_once(bot, "/topic list", user="U09", platform="slack")
        refused = at_once(bot, "/topic list", user="zoe")  # the console registers no one
        assert refused is not None and refused.title.startswith("团队里没有 @zoe")
        assert at_once(bot, "/topic list") is not None  # alice reads on

    assert bot.export() == before
    assert at_once(bot, "/topic add 新选题", delivery="d2") is not None  # now it can
    command = Command(text="/team list", team_id="content", user_id="U09")
    bot.bot.dispatch(command, Delivery("slack"))  # and the usual path registers them
    assert "@U09" in bot.send("/team list")


def test_on_postgresql_reads_run_at_once_but_writes_refuse(
    make_bot: BotFactory, postgres_url: str
) -> None:
    """The Slack adapter never tries at once on PostgreSQL (every query waits on the
    network); asked anyway, a write refuses rather than promise not to wait."""
    driver = make_bot(url=postgres_url)
    driver.send("/topic add 冬季护肤指南 p:wechat t:5 v:4 c:4")

    with pytest.raises(WouldWait):
        at_once(driver, "/topic add 第二个")
    listed = at_once(driver, "/topic list")

    assert listed is not None and "冬季护肤指南" in render_text(listed)
    assert [topic["title"] for topic in driver.export()["topics"]] == ["冬季护肤指南"]
