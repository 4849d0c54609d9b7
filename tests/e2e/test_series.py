"""A series (栏目) keeps its next four occurrences planned as ordinary posts as weeks
pass; one occurrence is skipped or moved alone without breaking it; ending it cancels
the future ones and keeps the past; concurrent ticks plan each occurrence once."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from datetime import datetime
from pathlib import Path

import pytest

from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from tests.conftest import BotDriver, BotFactory, make_settings, start_migrated
from tests.e2e.test_scheduler import tick

ADD = "/发布 栏目 新增 读书会 p:公众号 每周三 20:00 @bob"


def _series_posts(bot: BotDriver) -> list[tuple[int, str, str]]:
    """(id, planned day and time, status) of the series' posts, in time order."""
    rows = [row for row in bot.export()["posts"] if row["series_id"] is not None]
    rows.sort(key=lambda row: row["planned_at"])
    return [(row["id"], row["planned_at"][5:16], row["status"]) for row in rows]


def _going(bot: BotDriver) -> list[str]:
    return [when for _, when, status in _series_posts(bot) if status != "cancelled"]


def test_a_series_keeps_four_posts_planned_as_weeks_pass(bot: BotDriver) -> None:
    reply = bot.send(ADD)

    assert reply.splitlines() == [
        "✅ 栏目 #1 《读书会》 · 每周三 20:00 · 下一次 11-25 周三 · 公众号 · 审核：Bob",
        "  已排期 4 期：#1 11-25 周三、#2 12-02 周三、#3 12-09 周三、#4 12-16 周三",
    ]
    assert _going(bot) == ["11-25T20:00", "12-02T20:00", "12-09T20:00", "12-16T20:00"]
    # Each is an ordinary post: in the calendar, with the two-step confirmation.
    assert "《读书会》" in bot.send("/发布 列表 周三")
    assert bot.send("/publish confirm 1").startswith("✅ Alice 已确认")
    assert bot.send("@bob /publish confirm 1").startswith("✅ Bob 已审核《读书会》")

    tick(bot, "2026-11-25T00:05:00+08:00")  # the daily top-up: nothing is missing
    assert len(_series_posts(bot)) == 4
    tick(bot, "2026-11-25T20:01:00+08:00")  # the first went out; three are still ahead
    assert len(_series_posts(bot)) == 4
    tick(bot, "2026-11-26T00:05:00+08:00")  # the next morning's top-up plans the fifth
    assert _going(bot)[1:] == ["12-02T20:00", "12-09T20:00", "12-16T20:00", "12-23T20:00"]
    tick(bot, "2026-11-26T00:06:00+08:00")
    tick(bot, "2026-12-03T00:05:00+08:00")  # a week later: the sixth
    assert _going(bot)[-2:] == ["12-23T20:00", "12-30T20:00"]
    assert len(_series_posts(bot)) == 6
    periods = [row["period"] for row in bot.export()["job_runs"] if row["job"] == "series_topup"]
    assert periods == ["2026-11-25T00:05", "2026-11-26T00:05", "2026-12-03T00:05"]


def test_skipping_and_moving_one_occurrence_keeps_the_series(bot: BotDriver) -> None:
    bot.send(ADD)

    assert bot.send("/发布 栏目 跳过 2") == (
        "✅ 已跳过 《读书会》 12-02 周三 这一期（#2），栏目照常，这一期不会再排"
    )
    assert bot.send("/发布 改期 3 12-10 21:00").startswith("✅")  # one occurrence, alone
    for day in range(26, 31):
        tick(bot, f"2026-11-{day}T00:05:00+08:00")
    for day in range(1, 11):  # past 12-02 and 12-09: neither comes back
        tick(bot, f"2026-12-{day:02d}T00:05:00+08:00")
    assert _series_posts(bot) == [
        (1, "11-25T20:00", "planned"),
        (2, "12-02T20:00", "cancelled"),
        (3, "12-10T21:00", "planned"),  # moved: still that occurrence, not planned again
        (4, "12-16T20:00", "planned"),
        (5, "12-23T20:00", "planned"),
        (6, "12-30T20:00", "planned"),
        (7, "01-06T20:00", "planned"),
    ]
    listed = bot.send("/发布 栏目 列表")
    assert (
        "#1  《读书会》  每周三 20:00  公众号  Alice → Bob  下一期 #3 12-10 周四 · 已排 5 期"
        in listed
    )


def test_ending_a_series_cancels_its_future_posts_and_keeps_the_past(bot: BotDriver) -> None:
    bot.send(ADD)
    bot.clock.set(datetime.fromisoformat("2026-11-25T20:30:00+08:00"))
    bot.send("/publish done 1 https://mp.weixin.qq.com/s/one")

    assert bot.send("@dave /发布 栏目 结束 1") == "❌ 只有栏目的创建人、编辑和管理员可以结束它"
    assert bot.send("/发布 栏目 结束 1") == (
        "✅ 栏目 #1 《读书会》 已结束：取消了之后的 3 期（#2 #3 #4），已发布和过去的保留"
    )
    assert [status for _, _, status in _series_posts(bot)] == [
        "published", "cancelled", "cancelled", "cancelled",
    ]  # fmt: skip
    tick(bot, "2026-12-10T00:05:00+08:00")
    assert len(_series_posts(bot)) == 4  # an ended series plans nothing
    assert (
        bot.send("/发布 栏目 列表")
        == "🔁 栏目 (0)\n  还没有栏目。新增：/发布 栏目 新增 <标题> p:平台 每周三 20:00"
    )
    assert "已结束" in bot.send("/发布 栏目 列表 全部")
    (series,) = bot.export()["series"]
    assert (series["active"], series["rule"], series["kind"], series["weekday"]) == (
        False, "每周三 20:00", "weekly", 2,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("line", "echo"),
    [
        ("/publish series add Hot p:xhs every fri 18:00", "every Fri 18:00 · next 11-27 Fri"),
        ("/publish series add Monthly p:wechat 每月1号 10:00", "monthly on day 1 10:00 · next 12-01 Tue"),
        ("/publish series add Mid p:wechat 每月15日 20:00", "monthly on day 15 20:00 · next 12-15 Tue"),
        ("/publish series add Late p:wechat every wed 8pm", "every Wed 20:00 · next 11-25 Wed"),
        ("/publish series add Today p:wechat monthly 23rd 11:00", "monthly on day 23 11:00 · next 11-23 Mon"),
    ],
)  # fmt: skip
def test_each_rule_is_echoed_with_its_next_day(make_bot: BotFactory, line: str, echo: str) -> None:
    bot = make_bot(locale="en")
    assert echo in bot.send(line).splitlines()[0]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/发布 栏目 新增 读书会 p:公众号 每周三", "规则「每周三」缺少时间"),
        ("/发布 栏目 新增 读书会 p:公众号 每周八 20:00", "缺少栏目的规则"),
        ("/发布 栏目 新增 读书会 p:公众号 每月31号 10:00", "每月 31 号不是每个月都有"),
        ("/发布 栏目 新增 读书会 p:公众号 every day 20:00", "看不懂规则「every day 20:00」"),
        ("/发布 栏目 新增 读书会 p:公众号 每周三 明天 20:00", "看不懂规则"),
        ("/发布 栏目 新增 读书会 p:公众号 每周三 晚上", "「晚上」缺少具体时间"),
        ("/发布 栏目 新增 读书会 每周三 20:00", "缺少平台"),
        ("/发布 栏目 新增 p:公众号 每周三 20:00", "缺少标题"),
        ("/发布 栏目 新增 读书会 p:公众号 每周三 20:00 @alice", "审核人不能是作者自己"),
        ("/发布 栏目 新增 读书会 p:公众号 p:小红书 每周三 20:00", "同一个选项给了两次"),
        ("/发布 栏目 跳过 1", "没有编号为 #1 的稿子"),
        ("/发布 栏目 改名 1", "栏目没有「改名」这个操作"),
        ("/发布 栏目", "要做什么？"),
    ],
)
def test_refusals_store_nothing(bot: BotDriver, line: str, reason: str) -> None:
    before = bot.export()
    reply = bot.send(line)
    assert reply.startswith("❌") and reason in reply, reply
    assert bot.export() == before


def test_a_post_outside_a_series_is_not_skipped(bot: BotDriver) -> None:
    bot.send("/publish add 单独一篇 p:wechat 明天 20:00")
    assert bot.send("/发布 栏目 跳过 1") == "❌ #1 不是栏目里的一期；单独的发布用 /发布 取消"


# -- concurrent top-ups -------------------------------------------------------------------

PROCESSES = 4
LATER = datetime.fromisoformat("2026-11-26T00:05:00+08:00")  # the daily top-up


def _tick_in_process(url: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    from bot.runtime.scheduler import Scheduler

    bot = OpsBot.open(make_settings(url), FrozenClock(LATER))
    barrier.wait(timeout=30)
    Scheduler(bot).tick()
    bot.engine.dispose()


def test_concurrent_ticks_plan_each_occurrence_once(database_url: str, tmp_path: Path) -> None:
    start_migrated(database_url)
    clock = FrozenClock(datetime.fromisoformat("2026-11-23T10:00:00+08:00"))
    bot = OpsBot.open(make_settings(database_url), clock)
    driver = BotDriver(bot, clock)
    driver.send(ADD)
    driver.send("/publish series add Hot p:xhs every tue 18:00")
    bot.engine.dispose()

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    processes = [
        context.Process(target=_tick_in_process, args=(database_url, barrier))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0

    bot = OpsBot.open(make_settings(database_url), FrozenClock(LATER))
    driver = BotDriver(bot, FrozenClock(LATER))
    posts = [row for row in driver.export()["posts"] if row["series_id"] is not None]
    days = sorted((row["series_id"], row["planned_at"][:10]) for row in posts)
    assert days == sorted(set(days))  # each occurrence once
    assert [day for series, day in days if series == 1] == [
        "2026-11-25", "2026-12-02", "2026-12-09", "2026-12-16", "2026-12-23",
    ]  # fmt: skip
    assert [day for series, day in days if series == 2] == [
        "2026-11-24", "2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22",
    ]  # fmt: skip
    bot.engine.dispose()
