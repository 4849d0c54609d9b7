"""The weekly KPI summary, checked figure by figure against a small data set computed by
hand. The team logs a week (16–22 November 2026, ISO week 47) through the console and
reads the summary on Monday the 23rd."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from handlers.summary import gather_summary_input
from handlers.weekly_summary import build_weekly_summary
from storage.db import transaction
from tests.conftest import BotDriver, BotFactory

SUNDAY_BEFORE = datetime.fromisoformat("2026-11-15T20:00:00+08:00")
MONDAY_AFTER = datetime.fromisoformat("2026-11-23T10:00:00+08:00")


def at(bot: BotDriver, when: str) -> None:
    bot.clock.set(datetime.fromisoformat(when))


@pytest.fixture
def week_47(make_bot: BotFactory) -> BotDriver:
    bot = make_bot(now=SUNDAY_BEFORE)
    # Topics and posts, lived through the week.
    bot.send("@bob /topic add 冬季护肤指南 #护肤 p:wechat")
    bot.send("/topic add 高分选题 t:5 v:5 c:5")
    bot.send("/topic add 低分选题 t:1 v:1 c:1")
    for topic in (1, 2, 3):  # created on Sunday the 15th: last week, not this one
        assert bot.topic(topic)["created_at"].startswith("2026-11-15")
    at(bot, "2026-11-16T09:00:00+08:00")
    bot.send("/topic add 本周新选题")
    bot.send("@bob /topic schedule 1 wechat 11-18 20:00 @carol")
    bot.send("/publish add 一周热点 p:douyin 11-19 18:00")
    bot.send("/publish add 取消的稿子 p:weibo 11-20 12:00")
    bot.send("/publish add 没发出去的稿子 p:xhs 11-21 12:00")
    bot.send("/team away @carol 11-16 11-22")
    bot.send("/task add 写稿 q1 ~2h")
    bot.send("/task add 剪视频 q2 ~1h")
    bot.send("/task done 1")
    bot.send("/standup today: 写稿")
    bot.send("@bob /standup today: 排版 | blockers: 等设计素材")
    at(bot, "2026-11-17T09:30:00+08:00")
    bot.send("/standup today: 剪视频")
    bot.send("@bob /publish confirm 1")
    bot.send("@carol /publish confirm 1")
    at(bot, "2026-11-18T20:10:00+08:00")
    bot.send("@bob /publish done 1 https://mp.weixin.qq.com/s/abc")
    at(bot, "2026-11-19T20:00:00+08:00")
    bot.send("/publish done 2")  # two hours late
    bot.send("/publish cancel 3")
    # KPIs, logged on Monday for the two weeks.
    bot.clock.set(MONDAY_AFTER)
    for line in (
        "/kpi log wechat 11-08 followers=40000",
        "/kpi log wechat 11-15 followers=50000",
        "/kpi log wechat 11-09 reads=30000 shares=1000 conversions=100 new_followers=1000 unfollows=200",
        "/kpi log wechat 11-16 reads=20000 shares=600 conversions=50 new_followers=700 unfollows=100",
        "/kpi log wechat 11-20 reads=16000 shares=500 conversions=40 new_followers=600 unfollows=150",
        "/kpi log xhs 11-10 reads=0 favorites=0",
        "/kpi log xhs 11-17 reads=0 shares=5 favorites=40",
        "/kpi target wechat 2026-11 new_followers=3000 reads=200000",
        "/kpi post 1 reads=12000 shares=400 conversions=30",
    ):
        assert bot.send(line).startswith("✅"), line
    return bot


def _summary(bot: BotDriver, week_start: date):  # type: ignore[no-untyped-def]
    with transaction(bot.bot.engine) as session:
        data = gather_summary_input(
            session, team=bot.bot.settings.team(), week_start=week_start, now=bot.clock.now()
        )
    return build_weekly_summary(data)


def test_every_figure_against_hand_computed_values(week_47: BotDriver) -> None:
    summary = _summary(week_47, date(2026, 11, 16))

    assert [p.platform for p in summary.platforms] == ["wechat", "xiaohongshu"]  # douyin: no data
    wechat = summary.platforms[0]
    figures = {name: (f.value, f.previous) for name, f in wechat.figures.items()}
    assert figures == {
        "reads": (36000, 30000),
        "shares": (1100, 1000),
        "conversions": (90, 100),
        "net_followers": (1050, 800),
    }
    assert wechat.figures["reads"].change == pytest.approx(0.2)
    assert wechat.figures["conversions"].change == pytest.approx(-0.1)
    assert wechat.figures["net_followers"].change == pytest.approx(0.3125)
    assert (wechat.new_followers, wechat.unfollows) == (1300, 250)
    assert wechat.read_rate.value == pytest.approx(36000 / 50000)  # followers at the week's start
    assert wechat.read_rate.previous == pytest.approx(30000 / 40000)
    assert wechat.share_rate.value == pytest.approx(1100 / 36000)
    assert wechat.conversion_rate.value == pytest.approx(90 / 36000)

    reads_target, followers_target = wechat.targets
    assert (reads_target.metric, reads_target.actual, reads_target.target) == (
        "reads",
        66000,
        200000,
    )
    assert reads_target.pace == pytest.approx(22 / 30)
    assert not reads_target.on_pace
    assert (followers_target.metric, followers_target.actual) == ("new_followers", 2300)
    assert followers_target.on_pace

    xhs = summary.platforms[1]
    assert xhs.figures["reads"].value == 0
    assert xhs.figures["reads"].change is None  # 0 → 0: no division by zero
    assert xhs.share_rate.value is None  # 5 shares / 0 reads
    assert xhs.figures["favorites"].change is None  # from 0

    assert [top.post.title for top in summary.top_posts] == ["冬季护肤指南"]
    record = summary.publishing
    assert (record.planned, record.published, record.on_time, record.slipped, record.cancelled) == (
        4, 2, 1, 2, 1,
    )  # fmt: skip
    pipeline = summary.pipeline
    assert (pipeline.captured, pipeline.scheduled, pipeline.published) == (1, 1, 1)
    assert pipeline.backlog == {"high": 1, "mid": 1, "low": 1}
    people = summary.participation
    assert (people.answered, people.expected) == (3, 15)  # Carol away all week
    assert (people.tasks_done, people.tasks_total, people.blockers) == (1, 2, 1)


def test_the_summary_as_the_team_reads_it(week_47: BotDriver) -> None:
    assert week_47.send("/周报 2026-W47").splitlines() == [
        "📊 内容组 · 第 47 周数据周报 (11月16日–22日，对比上周)",
        "公众号",
        "  阅读 36,000 ↑20.0%   分享 1,100 ↑10.0%   转化 90 ↓10.0%",
        "  净增关注 +1,050 ↑31.2% (新增 1,300 / 取关 250)",
        "  阅读率 72.0% (上周 75.0%)   分享率 3.1%   转化率 0.25%",
        "  11月目标 阅读 66,000/200,000 (33%，时间进度 73%) ⚠️ · 新增关注 2,300/3,000 (77%，时间进度 73%) ✅",
        "  来源：手动",
        "小红书",
        "  阅读 0 –   分享 5 –   转化 –",
        "  净增关注 –",
        "  阅读率 – (上周 –)   分享率 –   转化率 –",
        "  收藏 40 –",
        "  来源：手动",
        "🏆 本周最佳  《冬季护肤指南》公众号 · 阅读 12,000 · 分享 400 · 转化 30",
        "📅 发布   计划 4 · 已发布 2 · 准时 1 · 延期 2 · 取消 1",
        "💡 选题   新增 1 · 排期 1 · 已发布 1 · 库存 高1 / 中1 / 低1",
        "🧍 站会   参与 20% (3/15) · 任务完成 1/2 · 阻碍 1 条",
        "✨ 亮点",
        "  · 公众号净增关注环比 +31.2%",
        "  · 公众号阅读环比 +20.0%，其中《冬季护肤指南》贡献 33%",
        "  · 公众号 11月新增关注目标完成 77%，领先时间进度 3 个百分点",
        "⚠️ 问题",
        "  · 公众号转化环比 -10.0%",
        "  · 公众号 11月阅读目标完成 33%，落后时间进度 40 个百分点",
        "  · 2 篇稿子没有按时发布",
    ]
    assert week_47.send("/summary") == week_47.send("/summary 2026-W47")  # last week by default


def test_a_week_across_a_month_boundary(make_bot: BotFactory) -> None:
    bot = make_bot(locale="en", now=datetime.fromisoformat("2026-12-07T09:30:00+08:00"))
    for line in (
        "/kpi log wechat 11-30 reads=1000",
        "/kpi log wechat 12-01 reads=2000",
        "/kpi log wechat 12-06 reads=3000",
        "/kpi target wechat 2026-12 reads=31000",
        "/kpi target wechat 2026-11 reads=1",
    ):
        bot.send(line)

    summary = _summary(bot, date(2026, 11, 30))
    (wechat,) = summary.platforms
    assert wechat.figures["reads"].value == 6000  # the whole week, both months
    (target,) = wechat.targets  # the month the week ends in
    assert (target.month, target.actual) == ("2026-12", 5000)  # December to date only
    assert target.pace == pytest.approx(6 / 31)
    lines = bot.send("/summary").splitlines()
    assert lines[0] == "📊 内容组 · Week 49 KPI summary (30 Nov – 6 Dec, vs previous week)"
    assert lines[5] == "  Dec targets reads 5,000/31,000 (16%, pace 19%) ⚠️"


def test_missing_data_shows_dashes_and_no_error(bot: BotDriver) -> None:
    lines = bot.send("/summary").splitlines()
    assert lines[0] == "📊 内容组 · 第 47 周数据周报 (11月16日–22日，对比上周)"
    assert lines[1] == "  本周还没有数据。用 /数据 记录 记下，或 opsbot kpi import 导入文件"
    # The members were added on the 23rd: nobody was in the team that week to answer.
    assert "🧍 站会   参与 – (0/0) · 任务完成 0/0 · 阻碍 0 条" in lines


def test_bad_week(bot: BotDriver) -> None:
    assert bot.send("/summary 2026-W60") == (
        "❌ 「2026-W60」不是一周，请写 2026-W47 这样的 ISO 周。用法：/summary [@成员] [YYYY-Www|this|last]"
    )


def test_this_week_so_far(week_47: BotDriver) -> None:
    week_47.clock.advance(timedelta(days=2))
    assert "第 48 周" in week_47.send("/summary this").splitlines()[0]


def test_eight_weeks_of_main_metrics_as_a_chart(week_47: BotDriver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from handlers.summary import summary_chart_png
    from handlers.weekly_summary import weekly_series
    from storage import kpis as kpi_store

    with transaction(week_47.bot.engine) as session:
        rows = kpi_store.daily_values(
            session, team_id="content", start=date(2026, 9, 28), end=date(2026, 11, 22)
        )
        png = summary_chart_png(
            session, team=week_47.bot.settings.team(), week_start=date(2026, 11, 16),
            t=week_47.bot.t, content_platforms=week_47.bot.content_platforms,
        )  # fmt: skip
    series = weekly_series(rows, last_week_start=date(2026, 11, 16))

    assert series["wechat"]["reads"] == [None] * 6 + [30000, 36000]
    assert series["wechat"]["net_followers"] == [None] * 6 + [800, 1050]
    assert series["xiaohongshu"]["reads"] == [None] * 6 + [0, 0]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
