"""Each morning the team plans its day in the important/urgent matrix and shares the
stand-up. Alice is admin, Bob and Carol editors, Dave a member; it is Monday
23 November 2026, 10:00 in Shanghai."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from handlers.standup import parse_standup, standup_missing, standup_prompt_recipients
from storage import members as member_store
from storage import standups as standup_store
from storage.db import transaction
from tests.conftest import BotDriver


def test_add_tasks_for_yourself_and_a_colleague(bot: BotDriver) -> None:
    assert bot.send("/task add 写推文初稿 q1 ~2h") == (
        "✅ 任务 #1 已添加：写推文初稿 · Q1 · 2h · Alice · 今天（11月23日 周一）"
    )
    assert bot.send("/任务 新增 整理用户反馈 q3 ~30m @bob 明天") == (
        "✅ 任务 #2 已添加：整理用户反馈 · Q3 · 30m · Bob · 11月24日 周二"
    )
    assert [
        {
            key: row[key]
            for key in ("id", "owner", "text", "quadrant", "estimate_minutes", "day", "status")
        }
        for row in bot.export()["tasks"]
    ] == [
        {
            "id": 1,
            "owner": "alice",
            "text": "写推文初稿",
            "quadrant": "q1",
            "estimate_minutes": 120,
            "day": "2026-11-23",
            "status": "open",
        },
        {
            "id": 2,
            "owner": "bob",
            "text": "整理用户反馈",
            "quadrant": "q3",
            "estimate_minutes": 30,
            "day": "2026-11-24",
            "status": "open",
        },
    ]


def test_the_day_as_a_plan_with_timeline_and_total(bot: BotDriver) -> None:
    bot.send("/task add 回复用户留言 q3 ~30m")
    bot.send("/task add 写推文初稿 q1 ~2h")
    bot.send("/task add 策划 12 月活动 ~1.5h")
    bot.send("/task add 审核抖音脚本 q1 ~30m")

    assert bot.send("/task list").splitlines() == [
        "👥 任务 · 11-23 周一",
        "Alice · 计划 4.5 小时",
        "  Q1  09:30–11:30  写推文初稿 (2h)        #2",
        "  Q1  11:30–12:00  审核抖音脚本 (30m)     #4",
        "  Q2  13:30–15:00  策划 12 月活动 (1.5h)  #3",
        "  Q3  15:00–15:30  回复用户留言 (30m)     #1",
    ]


def test_more_than_eight_hours_is_flagged(bot: BotDriver) -> None:
    bot.send("@bob /task add 大项目 q1 ~8h")
    bot.send("@bob /task add 小事 ~1h")

    assert bot.send("/task list @bob").splitlines()[1] == "Bob · 计划 9 小时 ⚠️ 超过 8 小时"


def test_unfinished_tasks_carry_over_with_the_days_they_waited(bot: BotDriver) -> None:
    bot.send("/task add 写推文初稿 q1 ~2h")
    bot.send("/task add 回复留言 q3 ~30m")
    bot.send("/task done 2")

    bot.clock.advance(timedelta(days=2))  # Wednesday
    bot.send("/task add 今天的新任务 q1 ~1h")

    assert bot.send("/task list").splitlines() == [
        "👥 任务 · 11-25 周三",
        "Alice · 计划 3 小时",
        "  Q1  09:30–11:30  写推文初稿 (2h)    #1  ↩ 已顺延 2 天",
        "  Q1  11:30–14:00  今天的新任务 (1h)  #3",  # half before lunch, half after
    ]
    assert bot.send("/task list 11-23").splitlines()[1:] == [
        "Alice · 计划 2 小时",
        "  Q1  09:30–11:30  写推文初稿 (2h)  #1",
        "  ✅ 已完成 1 项",
    ]
    assert bot.export()["tasks"][0]["day"] == "2026-11-23"  # carrying over rewrites nothing


def test_a_long_day_shows_the_head_of_the_plan_and_counts_the_rest(bot: BotDriver) -> None:
    for n in range(1, 34):
        bot.send(f"/task add 小事 {n} q{1 + n % 2} ~10m")
    bot.send("/task add 改标题 q1 ~1h")
    bot.send("/task done 1")

    listing = bot.send("/task list").splitlines()

    assert listing[1] == "Alice · 计划 6.3 小时"  # every open task counted, not only those shown
    rows = listing[2:-2]
    shown = [int(row.rsplit("#", 1)[1]) for row in rows]
    assert shown == [*range(2, 33, 2), 34, *range(3, 28, 2)]  # plan order: Q1, then Q2
    assert rows[-1] == "  Q2  16:40–16:50  小事 27 (10m)  #27"  # the times of the whole plan
    assert listing[-2:] == ["  … 还有 3 条：#29 #31 #33", "  ✅ 已完成 1 项"]  # the rest by id
    assert bot.send("/task done 33").startswith("✅")
    assert bot.send("/task list").splitlines()[-2] == "  … 还有 2 条：#29 #31"


def test_everyone_s_plan(bot: BotDriver) -> None:
    bot.send("@bob /task add 剪视频 q2 ~1h")
    listing = bot.send("/task list all").splitlines()
    assert listing[1:] == [
        "Alice · 还没有任务",
        "Bob · 计划 1 小时",
        "  Q2  09:30–10:30  剪视频 (1h)  #1",
        "Carol · 还没有任务",
        "Dave · 还没有任务",
    ]


def test_finish_drop_and_move(bot: BotDriver) -> None:
    bot.send("/task add 一 ~1h")
    bot.send("/task add 二 ~1h")
    bot.send("/task add 三 ~1h")

    assert bot.send("/task done 1") == "✅ 任务 #1 已完成：一"
    assert bot.send("/任务 删除 2") == "✅ 任务 #2 已删除：二"
    assert bot.send("/task move 3 周三") == "✅ 任务 #3 改到 11月25日 周三：三"
    assert [(row["id"], row["status"], row["day"]) for row in bot.export()["tasks"]] == [
        (1, "done", "2026-11-23"),
        (2, "dropped", "2026-11-23"),
        (3, "open", "2026-11-25"),
    ]
    assert bot.export()["tasks"][0]["done_at"] == "2026-11-23T10:00:00+08:00"
    assert bot.send("/task done 1") == "❌ 任务 #1 已完成"


def test_a_member_cannot_change_someone_else_s_task(bot: BotDriver) -> None:
    bot.send("@bob /task add 鲍勃的任务")
    assert bot.send("@dave /task done 1") == (
        "❌ #1 不是你的任务，只有负责人、添加人、编辑和管理员可以修改"
    )
    assert bot.send("@carol /task done 1").startswith("✅")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/task add 写推文 q7", "「q7」不是象限，请写 q1、q2、q3 或 q4"),
        (
            "/task add 写推文 ~-3h",
            "「~-3h」不是时长，请写 ~30m、~2h、~1.5h 或 ~1h30m（不超过 16 小时）",
        ),
        ("/task add 写推文 @zed", "团队里没有 @zed。现有成员：alice, bob, carol, dave"),
        ("/task add", "缺少任务内容"),
        ("/task add q1 ~2h", "缺少任务内容"),
    ],
)
def test_bad_tasks_get_the_usage_line_and_store_nothing(
    bot: BotDriver, line: str, reason: str
) -> None:
    assert bot.send(line) == (
        f"❌ {reason}。用法：/task add <内容> [q1|q2|q3|q4] [~时长] [@成员]"
        " [日期|本周|本月|下周|下月|YYYY-Www|YYYY-MM]"
    )
    assert bot.export()["tasks"] == []


def test_standup_in_parts_with_chinese_labels(bot: BotDriver) -> None:
    assert bot.send(
        "/站会 昨天：完成选题会 | 今天：写推文初稿 | 阻碍：等设计素材"
    ).splitlines() == [
        "✅ 已记录 Alice 的站会（11-23）",
        "  昨天：完成选题会",
        "  今天：写推文初稿",
        "  🚧 阻碍：等设计素材",
    ]
    (row,) = bot.export()["standups"]
    assert row == {
        "team": "content", "member": "alice", "day": "2026-11-23", "yesterday": "完成选题会",
        "today": "写推文初稿", "blockers": "等设计素材", "answered_at": "2026-11-23T10:00:00+08:00",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "yesterday: shot the video | today: edit it | blockers: none",
            ("shot the video", "edit it", None),
        ),
        ("Yesterday: a | Today: b | Blockers: c", ("a", "b", "c")),
        ("昨天：选题会｜今天：写稿｜卡点：无", ("选题会", "写稿", None)),
        ("今日: 写稿 | 问题: 素材没到", (None, "写稿", "素材没到")),
        ("just writing all day", (None, "just writing all day", None)),
        ("today: a | b", (None, "a; b", None)),
    ],
)
def test_standup_parsing_in_both_languages(text: str, parts: tuple[str | None, ...]) -> None:
    answer = parse_standup(text)
    assert (answer.yesterday, answer.today, answer.blockers) == parts


def test_answering_again_the_same_day_replaces_the_answer(bot: BotDriver) -> None:
    bot.send("/standup today: write the draft")
    bot.clock.advance(timedelta(minutes=40))

    assert bot.send("/standup today: edit the video | blockers: no footage").splitlines()[0] == (
        "✅ 已更新 Alice 的站会（11-23）：今天、阻碍"
    )  # names the parts it replaced; parts not named keep what was stored
    (row,) = bot.export()["standups"]
    assert (row["today"], row["blockers"], row["answered_at"]) == (
        "edit the video", "no footage", "2026-11-23T10:40:00+08:00",
    )  # fmt: skip
    bot.clock.advance(timedelta(days=1))
    bot.send("/standup today: next day")
    assert len(bot.export()["standups"]) == 2


def test_items_under_today_become_tasks_with_the_flag(bot: BotDriver) -> None:
    reply = bot.send("/站会 今天：写推文初稿 q1 ~2h，回复留言 q3 ~30m、剪视频 +任务")

    assert reply.splitlines()[-1] == "  已新增任务 #1 #2 #3"
    assert [(t["text"], t["quadrant"], t["estimate_minutes"]) for t in bot.export()["tasks"]] == [
        ("写推文初稿", "q1", 120),
        ("回复留言", "q3", 30),
        ("剪视频", "q2", None),
    ]


def test_a_bad_item_rejects_the_whole_answer(bot: BotDriver) -> None:
    assert bot.send("/standup today: a q1, b q9 +tasks").startswith("❌ 「q9」不是象限")
    assert bot.export()["standups"] == []
    assert bot.export()["tasks"] == []


def test_who_has_answered_who_is_missing_and_who_is_away(bot: BotDriver) -> None:
    assert (
        bot.send("/team away @carol 11-23 11-28")
        == "✅ Carol 11月23日 周一 至 11月28日 周六 请假，期间不提醒站会"
    )
    bot.send("/standup today: 写稿")
    bot.send("@bob /standup today: 剪视频 | blockers: 等设计素材")

    assert bot.send("/standup").splitlines() == [
        "🧍 站会 11-23 · 已回复 2/3",
        "  未回复：Dave",
        "  请假：Carol",
        "  Alice  写稿",
        "  Bob    剪视频",
        "🚧 阻碍",
        "  Bob：等设计素材",
    ]


def test_marking_away_yourself_or_by_an_admin(bot: BotDriver) -> None:
    assert bot.send("@dave /team away @me 11-24 11-25").startswith(
        "✅ Dave 11月24日 周二 至 11月25日 周三 请假"
    )
    dave = next(m for m in bot.export()["members"] if m["id"] == "dave")
    assert (dave["away_from"], dave["away_to"]) == ("2026-11-24", "2026-11-25")  # stored
    assert bot.send("@dave /team away @bob 11-24 11-25") == "❌ 只有管理员可以这样做"
    assert bot.send("/team away @dave off") == "✅ Dave 的请假已取消"
    assert bot.send("/team away @dave 11-25 11-24").startswith("❌ 结束日期不能早于开始日期")
    dave = next(m for m in bot.export()["members"] if m["id"] == "dave")
    assert (dave["away_from"], dave["away_to"]) == (None, None)


def test_prompt_and_reminder_recipients_for_the_scheduler(bot: BotDriver) -> None:
    bot.send("/team away @carol 11-23 11-24")
    bot.send("@bob /standup today: 剪视频")
    now = datetime.fromisoformat("2026-11-23T09:30:00+08:00")
    zone = bot.bot.settings.team().zone
    with transaction(bot.bot.engine) as session:
        members = member_store.list_members(session, team_id="content")
        answers = standup_store.standups_for_day(session, team_id="content", day=date(2026, 11, 23))

    assert standup_prompt_recipients(members, now=now, zone=zone) == ["alice", "bob", "dave"]
    assert standup_missing(members, answers, now=now, zone=zone) == ["alice", "dave"]
    later = now + timedelta(days=2)  # Carol is back on Wednesday
    assert standup_prompt_recipients(members, now=later, zone=zone) == [
        "alice",
        "bob",
        "carol",
        "dave",
    ]


def test_english_stand_up_and_plan(bot_en: BotDriver) -> None:
    bot_en.send("/task add Draft post q1 ~2h")
    assert bot_en.send("/task list").splitlines()[1:] == [
        "Alice · 2 h planned",
        "  Q1  09:30–11:30  Draft post (2h)  #1",
    ]
    assert bot_en.send("/standup today: draft | blockers: no footage").splitlines() == [
        "✅ Stand-up of Alice saved (11-23)",
        "  Today: draft",
        "  🚧 Blockers: no footage",
    ]
    assert bot_en.send("/standup").splitlines()[0] == "🧍 Stand-up 11-23 · 1/4 answered"
