"""The digest shows each person's first eight tasks of the day's timeline, and says how
many more there are and where they are: a post the whole team reads stays readable."""

from __future__ import annotations

from tests.conftest import BotDriver


def test_a_long_day_is_cut_at_eight_with_the_command_for_the_rest(bot: BotDriver) -> None:
    for number in range(1, 11):
        bot.send(f"@bob /任务 新增 第{number}件事 q2 ~15m")

    digest = bot.send("/日报")

    shown = [line for line in digest.splitlines() if "件事" in line]
    assert len(shown) == 8 and "第1件事" in shown[0] and "第8件事" in shown[-1]
    assert "…还有 2 项：/任务 列表 @bob" in digest
    assert "第10件事" in bot.send("@bob /任务 列表")  # nothing lost: one command away
