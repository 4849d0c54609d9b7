"""The best time to post and each post's tier, from posts whose medians are worked out by
hand. It is Monday 2026-11-23 10:00 in China; 12 小红书 posts went out in the five weeks
before, 3 公众号 ones."""

from __future__ import annotations

from datetime import datetime

import pytest

from storage import kpis as kpi_store
from storage import posts as post_store
from storage.db import transaction
from storage.models import Post
from tests.conftest import BotDriver, BotFactory

NOW = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
XHS = [  # (when it went out, reads)
    # Wednesday 20:00: 1,000 2,000 3,000 5,000 → median 2,500
    ("2026-11-18T20:00", 1000), ("2026-11-11T20:10", 5000), ("2026-11-04T20:30", 3000),
    ("2026-10-28T20:05", 2000),
    # Friday 18:00: 100 4,000 4,200 → median 4,000 (the 100 does not drag it down)
    ("2026-11-20T18:00", 4000), ("2026-11-13T18:20", 4200), ("2026-11-06T18:45", 100),
    # Monday 09:00: 800 900 1,000 → median 900
    ("2026-11-16T09:00", 800), ("2026-11-09T09:15", 900), ("2026-11-02T09:30", 1000),
    # Sunday 21:00: two huge posts, but two are not enough to rank a slot
    ("2026-11-22T21:00", 90000), ("2026-11-15T21:00", 80000),
]  # fmt: skip
WECHAT = [("2026-11-17T20:00", 5000), ("2026-11-18T20:00", 6000), ("2026-11-19T20:00", 7000)]


def went_out(bot: BotDriver, platform: str, posts: list[tuple[str, int]]) -> None:
    with transaction(bot.bot.engine) as session:
        for number, (when, reads) in enumerate(posts, start=1):
            at = datetime.fromisoformat(f"{when}+08:00")
            post = post_store.add_post(session, Post(
                team_id="content", title=f"{platform} {number}", platform=platform,
                planned_at=at, owner="bob", status="published", published_at=at,
                created_by="bob", created_at=at, updated_at=at,
            ))  # fmt: skip
            kpi_store.upsert_post_metric(
                session, post_id=post.id or 0, metric="reads", value=reads, now=at
            )


@pytest.fixture
def bot(make_bot: BotFactory, database_url: str) -> BotDriver:
    """On SQLite and PostgreSQL: the tiers' joined read and the slots' figures."""
    driver = make_bot(now=NOW, url=database_url)
    went_out(driver, "xiaohongshu", XHS)
    went_out(driver, "wechat", WECHAT)
    return driver


def test_the_best_slots_by_median_with_how_many_posts_each(bot: BotDriver) -> None:
    reply = bot.send("/数据 最佳时间 小红书")

    lines = [line.strip() for line in reply.splitlines()]
    assert "小红书 · 12 篇有阅读" in lines
    ranked = [line for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert ranked == [
        "1. 周五 18:00–19:00 · 中位数 4,000 · 3 篇",
        "2. 周三 20:00–21:00 · 中位数 2,500 · 4 篇",
        "3. 周一 09:00–10:00 · 中位数 900 · 3 篇",
    ]
    assert "周日" not in reply  # two posts rank no slot, however many reads they had


def test_too_few_posts_are_said_plainly(bot: BotDriver) -> None:
    reply = bot.send("/kpi best-time wechat")
    assert "数据还太少，看不出来：只有 3 篇有阅读，至少要 10 篇" in reply
    english = bot.send("@alice /kpi best-time wechat shares")
    assert "只有 0 篇有分享" in english  # no post has shares logged


def test_a_post_without_a_time_is_offered_the_best_slot_and_nothing_stored(
    bot: BotDriver,
) -> None:
    reply = bot.send("/发布 新增 年终盘点 p:小红书 周五")

    assert "没有写时间，所以没有排期。周五的最佳时段是 18:00（基于 3 篇）" in reply
    assert "/发布 新增 年终盘点 p:小红书 周五 18:00" in reply
    # No slot ranked on a Tuesday: the plain refusal.
    assert "缺少具体时间" in bot.send("/发布 新增 年终盘点 p:小红书 周二")
    assert [p["title"] for p in bot.export()["posts"] if p["title"] == "年终盘点"] == []


def test_each_post_has_its_tier_in_the_summary_and_the_calendar(bot: BotDriver) -> None:
    summary = bot.send("/周报 2026-W47")
    # 90,000 reads: 11 of the 12 posts of its 90 days are below it.
    assert "🏆 本周最佳  《xiaohongshu 11》小红书 · 阅读 90,000 · 🔥 前 20%" in summary

    monday = bot.send("/发布 列表 11-16")
    # 800 reads on 16 November: of the 9 posts up to then, only the 100 is below it.
    assert "⬇️ 后 20%" in monday
    wednesday = bot.send("/发布 列表 11-18")
    # 小红书 1,000 of 10 posts (4 below); 公众号's 6,000 of only 2: no tier yet.
    assert wednesday.count("中间") == 1 and "前 20%" not in wednesday


def test_the_offered_time_goes_where_the_line_reads_it(bot: BotDriver) -> None:
    reply = bot.send("/发布 新增 年终盘点 p:小红书 周五 @carol")
    assert "/发布 新增 年终盘点 p:小红书 周五 18:00 @carol" in reply
    assert bot.send("/发布 新增 年终盘点 p:小红书 周五 18:00 @carol").startswith("✅")


def test_no_offer_of_an_hour_already_gone_today(bot: BotDriver) -> None:
    bot.clock.set(datetime.fromisoformat("2026-11-27T19:30:00+08:00"))  # Friday evening
    assert "最佳时段" not in bot.send("/发布 新增 标题 p:小红书 今天")


def test_a_word_that_is_neither_platform_nor_metric_says_so(bot: BotDriver) -> None:
    assert "既不是平台也不是指标" in bot.send("/数据 最佳时间 公众号 身高")
