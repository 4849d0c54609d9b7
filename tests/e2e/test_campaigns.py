"""A campaign (专题): topics, posts and tasks tagged to it, its progress, the digest's
warning when its posts slip, its line in the weekly summary, and its review — asked of
its owner by DM once when it is over, recorded, put into the playbook, posted once."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.core.render.text import render_text
from tests.conftest import BotDriver
from tests.e2e.test_scheduler import tick

ADD = "/专题 新增 双十一 11-23 11-27 目标:新增关注=2000"


def test_tagging_and_progress(bot: BotDriver) -> None:
    assert bot.send(ADD).splitlines()[0] == (
        "✅ 专题「双十一」已新建 · 11月23日 周一 – 11月27日 周五（5 天）· 目标 新增关注 2,000"
        " · 负责人 Alice"
    )
    assert bot.send("/选题 新增 预热海报 #促销 p:xhs +双十一").endswith(" · 专题「双十一」")
    assert (
        bot.send("/发布 新增 战报 p:公众号 明天 20:00 +双十一")
        .splitlines()[0]
        .endswith(" · 专题「双十一」")
    )
    bot.send("/topic schedule 1 xhs 明天 12:00")  # a tagged topic's post counts too
    bot.send("/task add 剪预热视频 q1 ~2h")
    assert bot.send("/专题 关联 双十一 任务 1") == "✅ 已把任务 #1 归到专题「双十一」"
    bot.send("/publish confirm 1")
    bot.send("@bob /publish confirm 1")

    shown = bot.send("/专题 查看 双十一").splitlines()
    assert (
        shown[0]
        == "🎯 专题「双十一」· 11-23 – 11-27 · 还剩 5 天 · 负责人 Alice · 目标 新增关注 2,000"
    )
    assert shown[1] == ("  发布 计划 2 · 已确认 1 · 已发布 0　任务 未完成 1 · 已完成 0　选题 1")
    assert bot.send("/campaign show") == bot.send("/专题 查看 双十一")  # the running one
    assert "双十一  11-23 – 11-27  还剩 5 天  发布 0/2  目标 新增关注 2,000" in bot.send(
        "/专题 列表"
    )
    links = bot.export()["campaign_links"]
    assert [(row["kind"], row["id"]) for row in links] == [("topic", 1), ("post", 1), ("task", 1)]
    (campaign,) = bot.export()["campaigns"]
    assert (campaign["from"], campaign["to"], campaign["goal_metric"], campaign["goal_value"]) == (
        "2026-11-23", "2026-11-27", "new_followers", 2000,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/专题 新增 双十一 11-27 11-23", "早于开始日期"),
        ("/专题 新增 双十一 11-01 11-11", "已经过去了"),
        ("/专题 新增 双 十一 11-23 11-27", "专题名要是一个词"),
        ("/专题 新增 双十一 11-23 11-27 目标:没有这个=2000", "看不懂目标"),
        ("/专题 新增 双十一 11-23 11-27 目标:新增关注=-5", "看不懂目标"),
        ("/专题 新增 双十一 11-23 11月32日", "❌"),
        ("/专题 新增 618 11-23 11-27", "已经有叫「618」的专题了"),
        ("/选题 新增 预热海报 +没有的专题", "没有叫「没有的专题」的专题"),
        ("/选题 新增 预热海报 +618 p:xhs", "+618 要写在最后"),
        ("/发布 新增 战报 p:公众号 明天 20:00 +没有的", "没有叫「没有的」的专题"),
        ("/专题 关联 618 任务 99", "没有编号为 #99 的任务"),
        ("/专题 关联 618 文件 1", "不是选题、发布或任务"),
        ("/专题 关联 没有 任务 1", "没有叫「没有」的专题"),
        ("/专题 复盘 618 做得好：很好", "到 11月27日 周五 才结束"),
        ("/专题 复盘 618 随便说说", "看不懂「随便说说」"),
    ],
)
def test_refusals_store_nothing(bot: BotDriver, line: str, reason: str) -> None:
    bot.send("/专题 新增 618 11-23 11-27")
    before = bot.export()
    reply = bot.send(line)
    assert reply.startswith("❌") and reason in reply, reply
    assert bot.export() == before


def test_a_quoted_title_may_end_in_a_plus(bot: BotDriver) -> None:
    assert bot.send('/选题 新增 "涨粉 +1"').startswith("✅ 选题 #1")
    assert bot.topic(1)["title"] == "涨粉 +1"


def test_the_digest_flags_a_slipping_campaign_and_one_without_a_confirmed_post(
    bot: BotDriver,
) -> None:
    bot.send(ADD)
    bot.send("/发布 新增 预热 p:公众号 今天 12:00 +双十一")
    bot.clock.set(datetime.fromisoformat("2026-11-24T08:00:00+08:00"))

    digest = bot.send("/日报")
    assert "· 专题「双十一」有 1 篇过了计划时间还没发布：#1《预热》" in digest
    assert "· 专题「双十一」还剩 4 天，还没有已确认的发布" in digest
    bot.send("/publish done 1")
    assert "专题「双十一」" not in bot.send("/日报")


def test_the_weekly_summary_has_a_line_per_campaign(bot: BotDriver) -> None:
    bot.send(ADD)
    bot.send("/发布 新增 战报 p:公众号 今天 12:00 +双十一")
    bot.clock.set(datetime.fromisoformat("2026-11-23T12:30:00+08:00"))
    bot.send("/publish done 1")
    bot.send("/kpi post 1 reads=12300 shares=410")
    bot.clock.set(datetime.fromisoformat("2026-11-30T10:00:00+08:00"))

    summary = bot.send("/周报")
    assert "🎯 专题\n  双十一（11-23 – 11-27）：发布 1/1 篇 · 阅读 12,300 · 分享 410" in summary


def test_the_review_is_asked_once_by_dm_recorded_and_posted_once(bot: BotDriver) -> None:
    bot.send(ADD + " @bob")
    bot.send("/发布 新增 战报 p:公众号 今天 12:00 +双十一")
    bot.clock.set(datetime.fromisoformat("2026-11-23T12:30:00+08:00"))
    bot.send("/publish done 1")
    bot.send("/kpi post 1 reads=12300")
    bot.clock.set(datetime.fromisoformat("2026-11-27T21:00:00+08:00"))
    for day, value in (("11-22", 999), ("11-23", 600), ("11-25", 700)):  # 11-22: before it
        assert bot.send(f"/kpi log wechat 2026-{day} new_followers={value}").startswith("✅")
    assert bot.send("/kpi log xhs 2026-11-26 new_followers=100").startswith("✅")

    assert _review_messages(tick(bot, "2026-11-27T22:00:00+08:00")) == []  # its last day
    assert _review_messages(tick(bot, "2026-11-28T00:01:00+08:00")) == []  # not at night
    asked = _review_messages(tick(bot, "2026-11-28T09:30:00+08:00"))
    assert [(m.target, m.kind) for m in asked] == [("member:bob", "campaign_review")]
    assert render_text(asked[0].reply).splitlines() == [
        "⚠️ 📝 专题「双十一」（11-23 – 11-27）结束了，请写复盘",
        "  新增关注 1,400/2,000（70%）❌",
        "  发布 1/1 篇 · 阅读 12,300",
        "  回复：/专题 复盘 双十一 做得好：… | 不足：…",
    ]
    assert _review_messages(tick(bot, "2026-11-28T09:31:00+08:00")) == []  # once

    assert bot.send("@dave /专题 复盘 双十一 做得好：海报") == (
        "❌ 只有专题负责人、编辑和管理员可以写复盘"
    )
    recorded = bot.send("@bob /专题 复盘 双十一 做得好：预热海报提前三天发 | 不足：直播排期太晚")
    assert recorded.splitlines()[0] == (
        "✅ 已记录专题「双十一」的复盘，马上发到群里；经验已记入手册（#1 #2）"
    )
    posted = _review_messages(tick(bot, "2026-11-28T09:40:00+08:00"))
    assert [(m.target, m.kind) for m in posted] == [("team", "campaign_review")]
    assert render_text(posted[0].reply).splitlines() == [
        "📋 专题复盘 · 双十一（11-23 – 11-27）",
        "结果",
        "  新增关注 1,400/2,000（70%）❌",
        "  发布 1/1 篇 · 阅读 12,300",
        "做得好",
        "  预热海报提前三天发",
        "不足",
        "  直播排期太晚",
        "  复盘：Bob · 经验已记入运营手册 #双十一",
    ]
    assert _review_messages(tick(bot, "2026-11-28T09:41:00+08:00")) == []
    assert (
        bot.send("@bob /专题 复盘 双十一 做得好：再来") == "❌ 专题「双十一」的复盘已经发到群里了"
    )
    lessons = [(row["text"], row["tags"]) for row in bot.export()["playbook"]]
    assert lessons == [
        ("预热海报提前三天发", ["双十一", "成功经验"]),
        ("直播排期太晚", ["双十一", "失败教训"]),
    ]
    assert "预热海报提前三天发" in bot.send("/手册 #双十一")
    runs = [row["period"] for row in bot.export()["job_runs"] if row["job"] == "campaign_review"]
    assert runs == ["campaign-1:ask", "campaign-1:review"]


def test_a_playbook_lesson_may_name_its_campaign(bot: BotDriver) -> None:
    bot.send(ADD)
    assert "#双十一" in bot.send("/手册 新增 直播要提前预约 campaign 双十一")
    assert bot.send("/手册 新增 直播要提前预约 campaign 没有").startswith("❌ 没有叫「没有」的专题")


def _review_messages(sender):  # type: ignore[no-untyped-def]
    return [message for message in sender.sent if message.kind == "campaign_review"]
