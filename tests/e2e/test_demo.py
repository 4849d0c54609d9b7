"""`opsbot demo` works at any hour of any day, and loads all of itself or nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.runtime.demo import DemoError, load_demo
from bot.runtime.scheduler import Scheduler
from tests.conftest import BotFactory


@pytest.mark.parametrize(
    "when",
    [
        "2026-11-23T06:30:00+08:00",  # a Monday before work
        "2026-11-25T15:45:00+08:00",  # a Wednesday afternoon: "today 12:00" has passed
        "2026-11-27T23:59:00+08:00",  # a Friday, one minute to midnight
        "2026-11-29T10:00:00+08:00",  # a Sunday
        "2026-10-01T11:00:00+08:00",  # National Day, a holiday
    ],
)
def test_the_demo_loads_at_any_hour(make_bot: BotFactory, when: str) -> None:
    bot = make_bot(now=datetime.fromisoformat(when), team={"members": []})

    count = load_demo(bot.bot)

    export = bot.export()
    assert count > 300
    assert len(export["topics"]) == 6 and len(export["posts"]) >= 6
    assert len(export["kpi_daily"]) > 1000 and export["targets"]
    assert len(export["playbook"]) == 3 and export["playbook"][0]["post_id"] == 1
    assert [row["text"] for row in export["tasks"] if row["week"] or row["month"]] == [
        "策划双十二专题", "整理粉丝画像", "年终总结与明年规划",
    ]  # fmt: skip
    assert "策划双十二专题" in bot.send("/任务 计划")
    assert {row["id"] for row in export["members"]} >= {"alice", "bob", "carol", "dave"}
    assert bot.send("/digest").startswith("☀️ 内容组")


def test_a_demo_that_fails_halfway_leaves_nothing_behind(make_bot: BotFactory) -> None:
    bot = make_bot(team={"members": []})
    bot.bot.say("/team add @bob role=editor", speaker="alice")  # alice: the first, an admin
    bot.bot.say("/task add 已有的任务", speaker="alice")
    before = bot.export()
    bot.bot.content_platforms._lookup.pop("douyin")  # the demo's third platform is unknown

    with pytest.raises(DemoError):
        load_demo(bot.bot)

    assert bot.export() == before  # not half a demo: no topics, no posts, no KPIs


def test_after_the_demo_the_mornings_posts_go_out_once(make_bot: BotFactory) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-23T09:30:00+08:00"), team={"members": []})
    load_demo(bot.bot)

    first = Scheduler(bot.bot).tick()
    again = Scheduler(bot.bot).tick()

    assert ("content", "digest", "2026-11-23T09:00") in first.ran
    assert again.ran == []
