"""The monthly review: October 2026 (holidays 1–7, ends on a Saturday) reviewed on the
first workday after it, Monday 2 November, with the figures worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.render.text import render_text
from storage import kpis as kpi_store
from storage import posts as post_store
from storage.db import transaction
from storage.models import Post
from tests.conftest import BotDriver, BotFactory
from tests.e2e.test_scheduler import runs, tick

OPENED = datetime.fromisoformat("2026-10-08T09:00:00+08:00")  # the first workday after 国庆
QUIET = {"digest": "0 23 * * *", "standup_prompt": "1 23 * * *", "standup_reminder": "2 23 * * *",
         "weekly_summary": "3 23 * * 0"}  # fmt: skip


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+08:00")


def published(bot: BotDriver, title: str, owner: str, planned: str, went_out: str,
              reads: float) -> None:  # fmt: skip
    with transaction(bot.bot.engine) as session:
        post = post_store.add_post(session, Post(
            team_id="content", title=title, platform="wechat", planned_at=at(planned),
            owner=owner, status="published", published_at=at(went_out), created_by=owner,
            created_at=at(planned), updated_at=at(went_out),
        ))  # fmt: skip
        assert post.id is not None
        kpi_store.upsert_post_metric(
            session, post_id=post.id, metric="reads", value=reads, now=at(went_out)
        )


def october(make_bot: BotFactory) -> BotDriver:
    bot = make_bot(now=OPENED, team={"schedule": QUIET})
    bot.send("/数据 目标 公众号 2026-10 阅读=10000 关注=5000")
    published(bot, "国庆复盘", "bob", "2026-10-09T20:00", "2026-10-09T20:05", 3000)
    published(bot, "秋季护肤", "bob", "2026-10-20T20:00", "2026-10-20T23:30", 800)
    published(bot, "双十一预热", "carol", "2026-10-28T12:00", "2026-10-28T12:00", 5200)
    bot.send("@bob /任务 新增 写国庆复盘 q1 ~2h 10-09")
    bot.send("@bob /任务 新增 剪视频 q2 ~1h 10-12")
    bot.send("@bob /任务 完成 1")
    for day in ("2026-10-08T09:40", "2026-10-09T09:40"):
        bot.clock.set(at(day))
        bot.send("@bob /站会 今天：写稿")
    bot.clock.set(at("2026-10-20T18:00"))
    bot.send("/手册 新增 预热文提前一周发 #双十一")
    bot.clock.set(at("2026-11-01T09:00"))
    bot.send("/手册 新增 十一月的经验 #别的月")
    bot.send("/数据 记录 公众号 10-08 阅读=3000 关注=4800")
    bot.send("/数据 记录 公众号 10-30 阅读=8000 关注=5100")
    return bot


def test_the_review_goes_out_on_the_first_workday_of_the_month_once(
    make_bot: BotFactory,
) -> None:
    bot = october(make_bot)

    assert tick(bot, "2026-11-01T10:00:00+08:00").kinds() == []  # a Sunday
    sent = tick(bot, "2026-11-02T10:00:00+08:00")
    again = tick(bot, "2026-11-02T10:05:00+08:00")

    assert sent.kinds() == [("monthly_review", "team")] and again.kinds() == []
    assert ("monthly_review", "2026-10", "done") in runs(bot, "monthly_review")
    text = render_text(sent.sent[0].reply)
    assert "内容组 · 2026年10月复盘" in text
    # 3,000 + 8,000 reads of 10,000; followers are a level: 5,100 at the month's end.
    assert "公众号 阅读 11,000/10,000（110%，月累计）✅" in text
    assert "公众号 关注 5,100/5,000（102%，月末）✅" in text
    assert "🏆 最佳  《双十一预热》公众号 · 阅读 5,200" in text
    assert "📉 最弱  《秋季护肤》公众号 · 阅读 800" in text
    # Bob: 2 posts, the second 3.5 h late; 1 of 2 tasks; answered 2 of October's 18
    # workdays (8–30 October less the weekends, 10 October a make-up workday).
    assert "Bob：发布 2 篇（准时 1）· 任务 1/2 · 站会 2/18 天" in text
    assert "Carol：发布 1 篇（准时 1）· 任务 0/0 · 站会 0/18 天" in text
    assert "#1 预热文提前一周发 #双十一" in text
    assert "十一月的经验" not in text


def test_summary_month_shows_it_on_demand_in_both_languages(make_bot: BotFactory) -> None:
    bot = october(make_bot)
    zh = bot.send("/周报 月报 2026-10")
    assert "2026年10月复盘" in zh and "Bob：发布 2 篇" in zh
    assert "一次看一个月" in bot.send("/周报 月报 2026-10 2026-11")
    assert "2026-13" in bot.send("/summary month 2026-13")
    assert "9999-12" in bot.send("/summary month 9999-12")  # refused, not a crash

    english = make_bot(now=OPENED + timedelta(days=30), locale="en")  # the same database
    reply = english.send("/summary month last")
    assert "Oct 2026 review" in reply
    assert "WeChat reads 11,000/10,000 (110%, month total) ✅" in reply
    assert "no targets were set for 2026-11" in english.send("/summary month")


def test_a_month_is_named_as_people_write_it_and_the_future_is_refused(
    make_bot: BotFactory,
) -> None:
    bot = october(make_bot)
    assert "2026年10月复盘" in bot.send("/周报 月报 10月")
    assert "2026年10月复盘" in bot.send("/周报 月报 2026年10月")
    assert "还没到" in bot.send("/周报 月报 2027-01")


def test_a_month_under_way_is_judged_against_its_pace(make_bot: BotFactory) -> None:
    bot = make_bot(now=at("2026-11-10T09:00"))
    bot.send("/数据 目标 公众号 2026-11 阅读=30000")
    bot.send("/数据 记录 公众号 11-09 阅读=12000")
    # 12,000 of 30,000 is 40%, ahead of the 33% of November gone by on the 10th.
    reply = bot.send("/周报 月报")
    assert "公众号 阅读 12,000/30,000（40%，月累计，时间进度 33%）✅" in reply
