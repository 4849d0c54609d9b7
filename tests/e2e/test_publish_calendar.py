"""Posts go into the calendar and are confirmed twice — author, then reviewer — before
they go out. Alice is admin, Bob and Carol editors, Dave a member; it is Monday
23 November 2026, 10:00 in Shanghai."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import BotDriver, BotFactory


def post(bot: BotDriver, post_id: int) -> dict:
    return next(row for row in bot.export()["posts"] if row["id"] == post_id)


def test_the_whole_lifecycle_from_topic_to_published(bot: BotDriver) -> None:
    bot.send("@bob /topic add 冬季护肤指南 #护肤 p:wechat")

    assert bot.send("@bob /topic schedule 1 wechat 明天 20:00 @carol") == (
        "✅ 已排期 #1《冬季护肤指南》 · 11月24日 周二 20:00 · 公众号 · 审核：Carol"
    )
    assert bot.topic(1)["status"] == "scheduled"

    bot.clock.advance(timedelta(hours=1))
    assert bot.send("@bob /publish confirm 1") == (
        "✅ Bob 已确认《冬季护肤指南》（作者）。等待审核：Carol"
    )
    bot.clock.advance(timedelta(hours=1))
    assert bot.send("@carol /发布 确认 1") == (
        "✅ Carol 已审核《冬季护肤指南》，可以发布了 · 11月24日 周二 20:00 公众号"
    )
    bot.clock.set(bot.clock.now().replace(day=24, hour=12, minute=1))
    assert bot.send("@bob /publish done 1 https://mp.weixin.qq.com/s/abc") == (
        "✅ 📤 《冬季护肤指南》已在公众号发布 · 11-24 20:01\n  https://mp.weixin.qq.com/s/abc"
    )

    exported = post(bot, 1)
    assert (
        exported
        | {
            "id": 1,
            "topic_id": 1,
            "title": "冬季护肤指南",
            "platform": "wechat",
            "planned_at": "2026-11-24T20:00:00+08:00",
            "owner": "bob",
            "reviewer": "carol",
            "status": "published",
            "author_confirmed_at": "2026-11-23T11:00:00+08:00",
            "reviewer_confirmed_at": "2026-11-23T12:00:00+08:00",
            "published_at": "2026-11-24T20:01:00+08:00",
            "url": "https://mp.weixin.qq.com/s/abc",
        }
        == exported
    )
    assert bot.topic(1)["status"] == "published"


def test_publish_add_without_a_topic(bot: BotDriver) -> None:
    assert bot.send("/发布 新增 通勤防晒三件套 p:小红书 明天 12:00 @bob") == (
        "✅ 已排期 #1《通勤防晒三件套》 · 11月24日 周二 12:00 · 小红书 · 审核：Bob"
    )
    exported = post(bot, 1)
    assert (exported["topic_id"], exported["owner"], exported["status"]) == (
        None,
        "alice",
        "planned",
    )


def test_today_and_the_week_in_time_order_with_states(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 今天 20:00 @carol")
    bot.send("@dave /publish add 通勤防晒三件套 p:xhs 今天 12:00 @bob")
    bot.send("/publish add 一周热点速览 p:douyin 今天 18:30")
    bot.send("/publish add 周末特辑 p:weibo 周六 10:00")
    bot.send("@bob /publish confirm 1")
    bot.send("@dave /publish confirm 2")
    bot.send("@bob /publish confirm 2")

    assert bot.send("/publish today").splitlines() == [
        "📅 今日发布 · 11-23 周一 (3)",
        "  #2  12:00  小红书  《通勤防晒三件套》  Dave → Bob        ✅ 已确认",
        "  #3  18:30  抖音    《一周热点速览》    Alice → 任一编辑  ⏳ 待作者确认",
        "  #1  20:00  公众号  《冬季护肤指南》    Bob → Carol       ✅ 作者已确认 · ⏳ 待审核",
    ]
    week = bot.send("/publish list week").splitlines()
    assert week[0] == "📅 发布日历 11-23 – 11-29 (4)"
    assert week[1] == "11-23 周一"
    assert week[5] == "11-28 周六"
    assert "周末特辑" in week[6]
    assert bot.send("/发布 列表 周六").splitlines()[0] == "📅 11-28 周六 发布 (1)"
    assert bot.send("/publish list next").splitlines() == [
        "📅 发布日历 11-30 – 12-06 (0)",
        "  这段时间没有排期",
    ]


def test_refusals_each_say_why(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 明天 20:00 @carol")

    assert bot.send("@carol /publish confirm 1") == (
        "❌ 《冬季护肤指南》还在等作者 Bob 确认，审核要在作者之后"
    )
    assert bot.send("@dave /publish confirm 1") == "❌ 《冬季护肤指南》要先由作者 Bob 确认"
    bot.send("@bob /publish confirm 1")
    assert bot.send("@bob /publish confirm 1") == (
        "❌ 你是《冬季护肤指南》的作者，已经确认过了；审核需要另一位编辑或管理员"
    )
    assert bot.send("@dave /publish confirm 1") == (
        "❌ 只有编辑、管理员或指定的审核人（Carol）可以审核"
    )
    assert post(bot, 1)["status"] == "author_confirmed"
    assert post(bot, 1)["reviewer_confirmed_at"] is None


def test_another_editor_may_stand_in_for_the_named_reviewer(bot: BotDriver) -> None:
    bot.send("@dave /publish add 稿子 p:wechat 明天 20:00 @carol")
    bot.send("@dave /publish confirm 1")

    assert bot.send("@bob /publish confirm 1").startswith("✅ Bob 已审核")
    exported = post(bot, 1)
    assert (exported["status"], exported["reviewer"], exported["reviewer_confirmed_by"]) == (
        "confirmed", "carol", "bob",
    )  # fmt: skip


def test_a_member_named_as_reviewer_may_review(bot: BotDriver) -> None:
    bot.send("@bob /publish add 稿子 p:wechat 明天 20:00 @dave")
    bot.send("@bob /publish confirm 1")

    assert bot.send("@dave /publish confirm 1").startswith("✅ Dave 已审核")


def test_without_a_named_reviewer_the_confirming_editor_becomes_the_reviewer(
    bot: BotDriver,
) -> None:
    bot.send("@dave /publish add 稿子 p:wechat 明天 20:00")
    bot.send("@dave /publish confirm 1")
    bot.send("@carol /publish confirm 1")

    assert post(bot, 1)["reviewer"] == "carol"
    assert post(bot, 1)["status"] == "confirmed"


def test_moving_a_post_clears_both_confirmations_and_says_so(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 明天 20:00 @carol")
    bot.send("@bob /publish confirm 1")
    bot.send("@carol /publish confirm 1")

    assert bot.send("@bob /publish move 1 周五 12:00") == (
        "✅ 《冬季护肤指南》已改期到 11月27日 周五 12:00，之前的确认已清除，需要重新确认"
    )
    exported = post(bot, 1)
    assert exported["status"] == "planned"
    assert exported["planned_at"] == "2026-11-27T12:00:00+08:00"
    assert exported["author_confirmed_at"] is None and exported["reviewer_confirmed_at"] is None
    assert (
        bot.send("@bob /publish move 1 周五 13:00")
        == "✅ 《冬季护肤指南》已改期到 11月27日 周五 13:00"
    )


def test_cancelling_the_only_post_returns_the_topic_to_the_backlog(bot: BotDriver) -> None:
    bot.send("/topic add 冬至海报")
    bot.send("/topic schedule 1 xhs 明天 12:00")
    bot.send("/topic schedule 1 wechat 明天 20:00")

    assert bot.send("/publish cancel 1") == "✅ 已取消《冬至海报》"
    assert bot.topic(1)["status"] == "scheduled"
    bot.send("/publish cancel 2")
    assert bot.topic(1)["status"] == "idea"
    assert bot.send("/publish confirm 2") == "❌ 《冬至海报》：✖ 已取消，不能再操作"


def test_publishing_unconfirmed_is_allowed_but_flagged(bot: BotDriver) -> None:
    bot.send("/publish add 突发稿 p:weibo 今天 11:00")
    assert bot.send("/publish done 1").splitlines()[1] == "  ⚠️ 发布前没有完成双人确认"


def test_only_people_involved_or_editors_move_or_cancel(bot: BotDriver) -> None:
    bot.send("@bob /publish add 稿子 p:wechat 明天 20:00")
    assert bot.send("@dave /publish cancel 1") == "❌ 只有作者、审核人、编辑和管理员可以这样做"
    assert bot.send("@dave /publish move 1 周五 20:00") == (
        "❌ 只有作者、审核人、编辑和管理员可以这样做"
    )
    assert post(bot, 1)["status"] == "planned"


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (
            "/publish add 过去的稿子 p:wechat 今天 08:00",
            "❌ 2026-11-23 08:00 已经过去了，请选一个将来的时间。用法：/publish add <标题> p:平台 <时间> [@审核人]",
        ),
        (
            "/publish add 没有平台 明天 20:00",
            "❌ 缺少平台，例如 p:公众号。用法：/publish add <标题> p:平台 <时间> [@审核人]",
        ),
        (
            "/publish add 没有时间 p:wechat",
            "❌ 缺少发布时间，例如 明天 20:00。用法：/publish add <标题> p:平台 <时间> [@审核人]",
        ),
        (
            "/publish add 坏时间 p:wechat 明天 25:00",
            "❌ 「25:00」不是时间；请写 00:00 到 23:59，例如 20:00。用法：/publish add <标题> p:平台 <时间> [@审核人]",
        ),
        (
            "/publish add p:wechat 明天 20:00",
            "❌ 缺少标题。用法：/publish add <标题> p:平台 <时间> [@审核人]",
        ),
        (
            "/publish add 稿子 p:wechat 明天 20:00 @alice",
            "❌ 审核人不能是作者自己。用法：/publish add <标题> p:平台 <时间> [@审核人]",
        ),
        (
            "/publish add 稿子 p:wechat 明天 20:00 @zed",
            "❌ 团队里没有 @zed。现有成员：alice, bob, carol, dave。用法：/publish add <标题> p:平台 <时间> [@审核人]",
        ),
        ("/publish confirm 9", "❌ 没有编号为 #9 的稿子。用法：/publish confirm <编号>"),
        (
            "/publish done 9 notalink",
            "❌ 「notalink」不是链接，请以 http:// 或 https:// 开头。用法：/publish done <编号> [链接]",
        ),
        (
            "/publish list someday",
            "❌ 「someday」不是日期；可以写 2026-11-24、11-24、今天、明天、后天、周三、下周三。用法：/publish list [mine] [日期|week|next|all]",
        ),
        (
            "/topic schedule 9 wechat 明天 20:00",
            "❌ 没有编号为 #9 的选题。用法：/topic schedule <编号> <平台> <时间> [@审核人]",
        ),
        (
            "/publish move 9 明天",
            "❌ 「明天」缺少具体时间，例如「明天 晚上 8点」或「明天 20:00」。用法：/publish move <编号> <时间>",
        ),
    ],
)
def test_bad_input_stores_nothing(bot: BotDriver, line: str, reply: str) -> None:
    assert bot.send(line) == reply
    assert bot.export()["posts"] == []


def test_scheduling_a_dropped_topic_is_refused(bot: BotDriver) -> None:
    bot.send("/topic add 旧选题")
    bot.send("/topic drop 1")

    assert bot.send("/topic schedule 1 wechat 明天 20:00") == "❌ #1 已放弃，不能再修改或投票"
    assert bot.export()["posts"] == []


def test_english_calendar(bot_en: BotDriver) -> None:
    assert bot_en.send("@bob /publish add Winter guide p:wechat tomorrow 20:00 @carol") == (
        '✅ Planned #1 "Winter guide" · Tue 24 Nov 20:00 · WeChat · reviewer: Carol'
    )
    assert bot_en.send("@bob /publish confirm 1") == (
        '✅ Bob confirmed "Winter guide" (author). Waiting for reviewer: Carol'
    )
    assert bot_en.send("/publish list tomorrow").splitlines() == [
        "📅 Publishing Tue 11-24 (1)",
        '  #1  20:00  WeChat  "Winter guide"  Bob → Carol  ✅ author · ⏳ reviewer',
    ]


def test_the_calendar_follows_a_dst_zone(make_bot: BotFactory) -> None:
    from datetime import datetime

    bot = make_bot(
        locale="en",
        team={"timezone": "America/New_York"},
        now=datetime.fromisoformat("2026-03-06T12:00:00-05:00"),
    )

    bot.send("/publish add Spring launch p:wechat mon 09:00")
    assert post(bot, 1)["planned_at"] == "2026-03-09T09:00:00-04:00"
    assert bot.send("/publish add Gap p:wechat 03-08 02:30").startswith(
        "❌ 03-08 02:30 does not exist in America/New_York"
    )
