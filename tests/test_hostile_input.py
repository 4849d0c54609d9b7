"""Random and hostile command lines: no exception escapes, a rejection stores nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.clock import FrozenClock
from bot.core.commands import CommandFamily, Context
from bot.core.messages import Reply, Tone
from bot.core.router import Router
from bot.runtime.app import OpsBot
from handlers.registry import ALL_FAMILIES
from handlers.topics import add_topic
from tests.conftest import DEFAULT_NOW, BotDriver, BotFactory, make_settings

WORDS = [
    "/topic", "/选题", "/team", "/团队", "/help", "/帮助", "/", "／选题", "add", "新增", "hot",
    "list", "vote", "score", "edit", "drop", "role", "放弃", "1", "#1", "0", "-1", "99999999999",
    "t:9", "t:5", "v:0", "c:3", "p:wechat", "p:小红书", "p:", "p:nowhere", "#", "#tag", "##",
    "@bob", "@", "@nobody", "role=admin", "管理员", "mine", "all", "高", "'; DROP TABLE topics;--",
    "/publish", "/发布", "confirm", "确认", "done", "move", "cancel", "today", "schedule", "排期",
    "明天", "20:00", "25:99", "周三", "下周三", "2026-02-30", "https://x.y", "p:xhs", "@carol",
    "\x00", "\u202e", "🔥" * 50, "长" * 201, "%s%s%n", "{id}", "{0}", "\\", "\t", "NULL",
]  # fmt: skip

command_lines = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join),
    st.tuples(
        st.sampled_from(
            ["/topic add ", "/topic hot ", "/topic edit 1 ", "/team add @", "/topic vote ",
             "/publish add t p:wechat 明天 ", "/publish move 1 ", "/topic schedule 1 wechat "]
        ),
        st.text(min_size=0, max_size=3000),
    ).map("".join),
)  # fmt: skip


@pytest.fixture(scope="module")
def hostile_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotDriver]:
    # One database for all examples: hypothesis runs many inputs per test.
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'opsbot.db'}"
    clock = FrozenClock(DEFAULT_NOW)
    bot = OpsBot.open(make_settings(url), clock)
    driver = BotDriver(bot, clock)
    driver.send("/topic add 已有的选题")
    driver.send("/publish add 已有的稿子 p:wechat 明天 20:00 @bob")
    yield driver
    bot.engine.dispose()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=command_lines)
def test_any_line_gets_a_reply_and_a_rejection_changes_nothing(
    hostile_bot: BotDriver, line: str
) -> None:
    before = hostile_bot.export()
    speaker = "alice" if hash(line) % 2 else "dave"

    reply = hostile_bot.reply(line, speaker=speaker)

    assert reply.title
    if reply.tone is Tone.ERROR:
        assert hostile_bot.export() == before


def test_an_unexpected_failure_is_a_polite_reply_and_rolls_back(make_bot: BotFactory) -> None:
    broken = CommandFamily("broken")

    @broken.subcommand("add")
    def add_then_fail(ctx: Context, args: list[str]) -> Reply:
        add_topic(ctx, args)
        raise RuntimeError("disk on fire")

    driver = make_bot(team={"members": []})  # so that the console would register newbie
    driver.bot.router = Router([*ALL_FAMILIES, broken])

    assert driver.send("@newbie /broken add 会消失的选题") == (
        "❌ 出了点问题，这条命令没有执行，也没有保存任何内容。请稍后再试"
    )
    exported = driver.export()
    assert exported["topics"] == []
    assert "newbie" not in [member["id"] for member in exported["members"]]
