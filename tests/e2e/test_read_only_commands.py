"""Commands marked `reads_only` change nothing: a platform's retry of one is answered
again instead of being recorded and skipped, so the mark must be true."""

from __future__ import annotations

from handlers.registry import ALL_FAMILIES
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
        "/topic list", "/publish today", "/publish list", "/task list", "/task plan",
        "/team list",
        "/kpi show", "/help", "/digest", "/summary", "/standup form", "/digest me",
        "/standup history", "/playbook", "/summary month", "/calendar", "/kpi best-time",
        "/campaign show", "/campaign list",
    ])  # fmt: skip
    assert not [line for line, reply in replies.items() if reply.startswith("❌")]
    assert bot.export() == before
