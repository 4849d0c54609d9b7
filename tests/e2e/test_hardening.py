"""Input that is out of range or hostile is refused, and changes nothing."""

from __future__ import annotations

import pytest

from bot.chat.console.adapter import printable
from tests.conftest import BotDriver


@pytest.mark.parametrize(
    "line",
    ["/topic add 标题\x00截断", "/topic add \x1b[31m红色\x1b]0;标题\x07", "/task add 写稿\x08"],
)
def test_control_characters_are_refused_and_nothing_is_stored(bot: BotDriver, line: str) -> None:
    before = bot.export()
    assert bot.send(line).startswith("❌ 消息里有控制字符")
    assert bot.export() == before


def test_the_console_never_prints_raw_escape_sequences() -> None:
    assert printable("\x1b[31m红色\x1b]0;标题\x07\n第二行") == (
        "\\x1b[31m红色\\x1b]0;标题\\x07\n第二行"
    )


@pytest.mark.parametrize(
    "line",
    ["/summary 9999-W52", "/digest 9999-12-31", "/summary 1900-W01", "/task add 写 0001-01-01"],
)
def test_dates_outside_1970_to_2100_are_refused(bot: BotDriver, line: str) -> None:
    assert bot.send(line).startswith("❌")


def test_nobody_can_be_called_me(bot: BotDriver) -> None:
    assert bot.send("/team add @me").startswith("❌")
    assert "me" not in [row["id"] for row in bot.export()["members"]]


def test_post_figures_are_for_the_people_of_the_post(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 今天 11:00 @carol")
    bot.send("@bob /publish done 1")

    assert bot.send("@dave /kpi post 1 reads=100").startswith("❌ 只有这篇稿子的作者")
    assert bot.export()["post_metrics"] == []
    assert bot.send("@bob /kpi post 1 reads=100").startswith("✅")
    assert bot.send("@carol /kpi post 1 shares=5").startswith("✅")  # the reviewer
