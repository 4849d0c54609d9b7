"""Week and month plans in the important/urgent matrix, and each morning's tasks taken
from them. Alice is admin, Bob and Carol editors, Dave a member; the week starts on
Monday 23 November 2026 (ISO week 48) in Shanghai, where the workday holds 8 hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.outbound import OutgoingMessage
from bot.core.render.text import render_text
from bot.runtime.delivery import deliver_due
from bot.runtime.scheduler import Scheduler
from tests.conftest import BotDriver, BotFactory
from tests.sql_counting import statements

MONDAY = datetime.fromisoformat("2026-11-23T08:00:00+08:00")
USAGE_ADD = "用法：/task add <内容> [q1|q2|q3|q4] [~时长] [@成员] [日期|本周|本月|下周|下月|YYYY-Www|YYYY-MM]"


def _task(bot: BotDriver, task_id: int) -> dict[str, Any]:
    return next(row for row in bot.export()["tasks"] if row["id"] == task_id)


def _scope(bot: BotDriver) -> list[tuple[int, str | None, str | None, str | None, str]]:
    return [
        (row["id"], row["day"], row["week"], row["month"], row["status"])
        for row in bot.export()["tasks"]
    ]


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)


def _prompts(bot: BotDriver, when: str) -> dict[str, str]:
    """The stand-up prompts the scheduler sends at `when`, by member, as text."""
    bot.clock.set(datetime.fromisoformat(when))
    Scheduler(bot.bot).tick()
    sender = RecordingSender()
    deliver_due(bot.bot.engine, {"console": sender}, bot.clock)
    return {
        message.target.removeprefix("member:"): render_text(message.reply)
        for message in sender.sent
        if message.kind == "standup_prompt"
    }


@pytest.fixture
def week_plan(make_bot: BotFactory) -> BotDriver:
    """Monday morning: Bob sorts his week into the matrix, and one thing into the month."""
    bot = make_bot(now=MONDAY)
    assert bot.send("@bob /任务 新增 策划双十二活动 q1 ~3h 本周") == (
        "✅ 任务 #1 已添加：策划双十二活动 · Q1 · 3h · Bob · 第 48 周（11-23 – 11-29）"
    )
    assert bot.send("@bob /任务 新增 年终盘点初稿 q1 ~4h 本周") == (
        "✅ 任务 #2 已添加：年终盘点初稿 · Q1 · 4h · Bob · 第 48 周（11-23 – 11-29）"
    )
    assert bot.send("@bob /任务 新增 整理粉丝画像 ~2h 本周") == (
        "✅ 任务 #3 已添加：整理粉丝画像 · Q2 · 2h · Bob · 第 48 周（11-23 – 11-29）"
    )
    assert bot.send("@bob /任务 新增 回复合作邮件 q3 ~1h 本周") == (
        "✅ 任务 #4 已添加：回复合作邮件 · Q3 · 1h · Bob · 第 48 周（11-23 – 11-29）"
    )
    assert bot.send("@bob /任务 新增 竞品账号分析 q2 ~4h 本月") == (
        "✅ 任务 #5 已添加：竞品账号分析 · Q2 · 4h · Bob · 2026年11月"
    )
    return bot


def test_a_week_plan_is_shown_as_the_matrix_with_what_fits_today(week_plan: BotDriver) -> None:
    assert week_plan.send("@bob /任务 计划").splitlines() == [
        "🗂 Bob · 第 48 周（11-23 – 11-29）计划 · 剩余工作日 5 天 · 可用约 40 小时",
        "Q1 重要紧急 · 7h",
        "  #1  策划双十二活动 (3h)",
        "  #2  年终盘点初稿 (4h)",
        "Q2 重要不紧急 · 2h",
        "  #3  整理粉丝画像 (2h)",
        "Q3 紧急不重要 · 1h",
        "  #4  回复合作邮件 (1h)",
        "Q4 不重要不紧急 · 0h",
        "  –",
        "  📋 今天还能从计划里拿：#1 策划双十二活动 (3h)、#2 年终盘点初稿 (4h)、#4 回复合作邮件 (1h)"
        " → /任务 今天 1 2 4",
    ]
    assert week_plan.send("@bob /任务 计划 本月").splitlines()[:4] == [
        "🗂 Bob · 2026年11月计划 · 剩余工作日 6 天 · 可用约 48 小时",
        "Q1 重要紧急 · 0h",
        "  –",
        "Q2 重要不紧急 · 4h",
    ]
    # The plan items have a week or a month and no day; nothing is on today's timeline.
    assert _scope(week_plan) == [
        (1, None, "2026-W48", None, "open"),
        (2, None, "2026-W48", None, "open"),
        (3, None, "2026-W48", None, "open"),
        (4, None, "2026-W48", None, "open"),
        (5, None, None, "2026-11", "open"),
    ]
    assert week_plan.send("@bob /任务 列表").splitlines() == [
        "👥 任务 · 11-23 周一",
        "Bob · 还没有任务",
        "  📋 今天还能从计划里拿：#1 策划双十二活动 (3h)、#2 年终盘点初稿 (4h)、#4 回复合作邮件 (1h)"
        " → /任务 今天 1 2 4",
    ]


def test_a_week_taken_into_each_day_and_what_is_left_carries_over(week_plan: BotDriver) -> None:
    bot = week_plan
    bot.send("@bob /任务 新增 写周报 q1 ~2h")  # a day task of Monday: 6 h are left
    assert bot.send("@bob /task list").splitlines()[-1] == (
        "  📋 今天还能从计划里拿：#1 策划双十二活动 (3h)、#3 整理粉丝画像 (2h)、#4 回复合作邮件 (1h)"
        " → /任务 今天 1 3 4"
    )  # the 4 h draft would not fit after the 3 h campaign; the 2 h and 1 h items do
    assert bot.send("@bob /任务 今天 1").splitlines() == [
        "✅ 已放进今天（11月23日 周一）的时间线：#1",
        "Bob · 计划 5 小时",
        "  Q1  09:30–14:00  策划双十二活动 (3h)  #1  ⤷ 来自第 48 周计划",
    ]
    assert _task(bot, 1)["day"] == "2026-11-23" and _task(bot, 1)["week"] == "2026-W48"
    bot.send("@bob /任务 完成 1")

    # Done today is done in the plan: it is the same task.
    plan = bot.send("@bob /任务 计划").splitlines()
    assert plan[1:4] == [
        "Q1 重要紧急 · 7h",
        "  #2  年终盘点初稿 (4h)",
        "  #1  策划双十二活动 (3h)  ✅ 已完成",
    ]

    # Tuesday: the draft goes into the day; the mail goes in too, and stays undone.
    bot.clock.set(MONDAY + timedelta(days=1, hours=1))
    assert bot.send("@bob /task today 2 #4").splitlines() == [
        "✅ 已放进今天（11月24日 周二）的时间线：#2 #4",
        "Bob · 计划 7 小时",
        "  Q1  11:30–17:00  年终盘点初稿 (4h)  #2  ⤷ 来自第 48 周计划",
        "  Q3  17:00–18:00  回复合作邮件 (1h)  #4  ⤷ 来自第 48 周计划",
    ]  # 写周报 (2h) waited a day and comes first
    bot.send("@bob /任务 完成 2")
    assert bot.send("@bob /任务 计划").splitlines()[1:9] == [
        "Q1 重要紧急 · 7h",
        "  #1  策划双十二活动 (3h)  ✅ 已完成",
        "  #2  年终盘点初稿 (4h)    ✅ 已完成",
        "Q2 重要不紧急 · 2h",
        "  #3  整理粉丝画像 (2h)",
        "Q3 紧急不重要 · 1h",
        "  #4  回复合作邮件 (1h)  📅 11-24 周二",
        "Q4 不重要不紧急 · 0h",
    ]

    # Next Monday (week 49): the open items of week 48 belong to this week and say so;
    # the done ones stay in week 48. Nothing was rewritten to get there.
    bot.clock.set(MONDAY + timedelta(days=7, hours=2))
    this_week = bot.send("@bob /任务 计划").splitlines()
    assert this_week[:9] == [
        "🗂 Bob · 第 49 周（11-30 – 12-06）计划 · 剩余工作日 5 天 · 可用约 40 小时",
        "Q1 重要紧急 · 0h",
        "  –",
        "Q2 重要不紧急 · 2h",
        "  #3  整理粉丝画像 (2h)  ⤷ 从第 48 周顺延",
        "Q3 紧急不重要 · 1h",
        "  #4  回复合作邮件 (1h)  ⤷ 从第 48 周顺延 · 📅 11-24 周二",
        "Q4 不重要不紧急 · 0h",
        "  –",
    ]
    assert bot.send("@bob /任务 计划").splitlines() == this_week  # reading again: the same
    assert [row[2] for row in _scope(bot)[:4]] == ["2026-W48"] * 4
    assert bot.send("@bob /任务 计划 上周").splitlines()[:3] == [
        "🗂 Bob · 第 48 周（11-23 – 11-29）计划 · 剩余工作日 0 天 · 可用约 0 小时",
        "Q1 重要紧急 · 7h",
        "  #1  策划双十二活动 (3h)  ✅ 已完成",
    ]
    # The month item is carried into December the same way.
    bot.clock.set(datetime.fromisoformat("2026-12-01T10:00:00+08:00"))
    assert "  #5  竞品账号分析 (4h)  ⤷ 从11月顺延" in bot.send("@bob /任务 计划 本月").splitlines()


def test_the_standup_prompt_offers_the_plan_and_the_answer_takes_items_by_id(
    week_plan: BotDriver,
) -> None:
    bot = week_plan
    bot.send("@bob /任务 新增 写周报 q1 ~6h")  # 2 h left today
    prompts = _prompts(bot, "2026-11-23T09:30:00+08:00")
    assert prompts["bob"].splitlines() == [
        "🧍 早上好，Bob！今天的站会",
        "  昨天做了什么？",
        "  直接回复这条消息就行，一项一项来；也可以一次写完：昨天：… | 今天：… | 阻碍：…，或点「填写」",
        "  📋 你的计划里今天还放得下：#3 整理粉丝画像 (2h)。在「今天」里写 #3 并加 +任务，就会放进今天",
    ]
    assert "📋" not in prompts["alice"]  # nothing planned

    assert bot.send("@bob /站会 今天：#3，剪视频 q1 ~1h +任务").splitlines() == [
        "✅ 已记录 Bob 的站会（11-23）",
        "  今天：#3，剪视频 q1 ~1h",
        "  已新增任务 #7",
        "  从计划放进今天：整理粉丝画像 #3",
    ]
    assert _task(bot, 3)["day"] == "2026-11-23"
    # Answered again: nothing is taken or added twice.
    assert bot.send("@bob /站会 今天：#3，剪视频 q1 ~1h +任务").splitlines()[-1] == (
        "  已有任务，未重复新增：整理粉丝画像 #3、剪视频 #7"
    )
    # A day task of today named by id is already in today's timeline.
    assert bot.send("@bob /站会 今天：#6 +任务").splitlines()[-1] == (
        "  已有任务，未重复新增：写周报 #6"
    )
    before = bot.export()
    assert bot.send("@bob /站会 今天：#2，#99 +任务") == (
        "❌ 没有编号为 #99 的任务。用法：/standup [昨天：… | 今天：… | 阻碍：…] [+任务]"
    )
    assert bot.export() == before  # the bad item refused the whole answer: #2 stays out
    assert _task(bot, 2)["day"] is None


def test_q1_over_full_on_the_national_day_week(make_bot: BotFactory) -> None:
    """国庆 2026: 1–7 October are off, so on Monday 28 September three workdays are left."""
    bot = make_bot(now=datetime.fromisoformat("2026-09-28T10:00:00+08:00"))
    bot.send("/任务 新增 国庆活动复盘 q1 ~16h 本周")
    bot.send("/任务 新增 节后选题 q1 ~8h 本周")
    assert bot.send("/任务 计划").splitlines()[0] == (
        "🗂 Alice · 第 40 周（09-28 – 10-04）计划 · 剩余工作日 3 天 · 可用约 24 小时"
    )
    assert "⚠️" not in bot.send("/任务 计划")  # 24 h fit exactly
    bot.send("/任务 新增 双十一预热 q1 ~1h 本周")
    assert bot.send("/任务 计划").splitlines()[-2] == (
        "  ⚠️ 重要紧急还有 25 小时没做，超过剩下 3 个工作日能做的 24 小时（每天 8 小时）"
    )
    # Done work no longer counts against the days left.
    bot.send("/任务 今天 3")
    bot.send("/任务 完成 3")
    assert "⚠️" not in bot.send("/任务 计划")


def test_q1_over_full_on_the_new_year_week(make_bot: BotFactory) -> None:
    """元旦 2027 falls on Friday of ISO week 2026-W53. The chinese-calendar package does not
    know 2027 yet (it then counts weekdays), so the team lists the day as a holiday."""
    bot = make_bot(
        now=datetime.fromisoformat("2026-12-28T10:00:00+08:00"),
        team={"holidays": ["2027-01-01"]},
    )
    bot.send("/任务 新增 年终总结 q1 ~16h 本周")
    bot.send("/任务 新增 新年海报 q1 ~16h 本周")
    bot.send("/任务 新增 开年选题 q1 ~1h 本周")
    assert bot.send("/任务 计划").splitlines()[0] == (
        "🗂 Alice · 第 53 周（12-28 – 01-03）计划 · 剩余工作日 4 天 · 可用约 32 小时"
    )
    assert bot.send("/任务 计划").splitlines()[-2] == (
        "  ⚠️ 重要紧急还有 33 小时没做，超过剩下 4 个工作日能做的 32 小时（每天 8 小时）"
    )
    # On Thursday the 31st one workday is left: the warning grows with the week.
    bot.clock.set(datetime.fromisoformat("2026-12-31T10:00:00+08:00"))
    assert bot.send("/任务 计划").splitlines()[-2] == (
        "  ⚠️ 重要紧急还有 33 小时没做，超过剩下 1 个工作日能做的 8 小时（每天 8 小时）"
    )
    # 2027-W01 is named with its year, and next month is January.
    assert bot.send("/任务 新增 开年计划 q2 下周") == (
        "✅ 任务 #4 已添加：开年计划 · Q2 · 未估时 · Alice · 2027年第 1 周（01-04 – 01-10）"
    )
    assert bot.send("/任务 新增 一月复盘 q2 下月") == (
        "✅ 任务 #5 已添加：一月复盘 · Q2 · 未估时 · Alice · 2027年1月"
    )


def test_english_forms(make_bot: BotFactory) -> None:
    bot = make_bot(locale="en", now=MONDAY)
    assert bot.send("/task add Plan the December campaign q1 ~3h next week") == (
        "✅ Task #1 added: Plan the December campaign · Q1 · 3h · Alice · week 49 (11-30 – 12-06)"
    )
    assert bot.send("/task add Review competitors ~2h 2026-W48 @bob") == (
        "✅ Task #2 added: Review competitors · Q2 · 2h · Bob · week 48 (11-23 – 11-29)"
    )
    assert bot.send("/task add Year in review q2 2026-12") == (
        "✅ Task #3 added: Year in review · Q2 · no estimate · Alice · Dec 2026"
    )
    assert bot.send("/task add Fan survey q3 ~1h month") == (
        "✅ Task #4 added: Fan survey · Q3 · 1h · Alice · Nov 2026"
    )
    assert bot.send("/task plan next week").splitlines()[:3] == [
        "🗂 Alice · plan for week 49 (11-30 – 12-06) · 5 workdays left · about 40 h available",
        "Q1 important & urgent · 3h",
        "  #1  Plan the December campaign (3h)",
    ]
    assert bot.send("/task plan week all").splitlines() == [
        "🗂 Plan for week 48 (11-23 – 11-29) · 5 workdays left · about 40 h each",
        "Alice · nothing planned yet",
        "Bob · Q1 0h · Q2 2h · Q3 0h · Q4 0h",
        "  Q2  #2  Review competitors (2h)",
        "Carol · nothing planned yet",
        "Dave · nothing planned yet",
    ]
    assert bot.send("/task plan month").splitlines()[-1] == (
        "  📋 From your plan, today still has room for: #4 Fan survey (1h) → /task today 4"
    )
    assert bot.send("/task today 4").splitlines() == [
        "✅ Taken into today's timeline (Mon 23 Nov): #4",
        "Alice · 1 h planned",
        "  Q3  09:30–10:30  Fan survey (1h)  #4  ⤷ from the Nov plan",
    ]
    assert bot.send("/task edit 4 ~2h") == (
        "✅ Task #4 changed: Fan survey · Q3 · 2h · Alice · Mon 23 Nov · from the Nov plan"
    )
    assert bot.send("/task edit 1 next month") == (
        "✅ Task #1 changed: Plan the December campaign · Q1 · 3h · Alice · Dec 2026"
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "/任务 新增 写稿 2026-W60",
            "「2026-W60」不是一周，请写 本周、下周 或 2026-W48 这样的 ISO 周",
        ),
        (
            "/任务 新增 写稿 2026-13",
            "「2026-13」不是月份，请写 本月、下月 或 2026-12 这样的 YYYY-MM",
        ),
        (
            "/任务 新增 写稿 上周",
            "「上周」是第 47 周（11-16 – 11-22），已经过去了：计划只能放到本周、本月或以后",
        ),
        (
            "/task add 写稿 last month",
            "「last month」是2026年10月，已经过去了：计划只能放到本周、本月或以后",
        ),
        ("/任务 新增 写稿 明天 下周", "同一个选项给了两次（明天、下周），请只留一个"),
        ("/任务 新增 写稿 本周 本月", "同一个选项给了两次（本周、本月），请只留一个"),
        ("/任务 新增 本周", "缺少任务内容"),
    ],
)
def test_a_week_or_month_not_understood_is_refused_and_nothing_stored(
    bot: BotDriver, line: str, reason: str
) -> None:
    assert bot.send(line) == f"❌ {reason}。{USAGE_ADD}"
    assert bot.export()["tasks"] == []


def test_a_plan_word_is_only_read_where_a_date_would_be(bot: BotDriver) -> None:
    assert bot.send("/任务 新增 写本周周报 ~1h") == (
        "✅ 任务 #1 已添加：写本周周报 · Q2 · 1h · Alice · 今天（11月23日 周一）"
    )
    assert bot.send("/task add Plan next week offsite ~1h") == (
        "✅ 任务 #2 已添加：Plan next week offsite · Q2 · 1h · Alice · 今天（11月23日 周一）"
    )
    assert bot.send('/task add "review next week" q1') == (
        "✅ 任务 #3 已添加：review next week · Q1 · 未估时 · Alice · 今天（11月23日 周一）"
    )
    assert bot.send("/任务 新增 和 @bob 对齐 下周 周三") == (
        "✅ 任务 #4 已添加：和 @bob 对齐 · Q2 · 未估时 · Alice · 12月2日 周三"
    )  # 下周 周三 is a day


def test_taking_into_today_is_refused_whole(week_plan: BotDriver) -> None:
    bot = week_plan
    bot.send("@bob /任务 新增 周四的会 ~1h 周四")
    bot.send("@bob /任务 完成 3")
    before = bot.export()["tasks"]
    assert bot.send("@bob /任务 今天 1 99") == "❌ 没有编号为 #99 的任务。用法：/task today <编号>…"
    assert bot.send("@bob /任务 今天 1 6") == (
        "❌ 任务 #6 排在 11月26日 周四，不是计划里的任务；要改到今天请用 /任务 改期 6 今天"
    )
    assert bot.send("@bob /任务 今天 1 3") == "❌ 任务 #3 已完成"
    assert bot.send("@dave /任务 今天 1") == (
        "❌ #1 不是你的任务，只有负责人、添加人、编辑和管理员可以修改"
    )
    assert bot.send("@bob /任务 今天 x") == "❌ 「x」不是有效的编号。用法：/task today <编号>…"
    assert bot.export()["tasks"] == before
    assert bot.send("/任务 计划 foo") == (
        "❌ 看不懂「foo」：请写 本周、本月、下周、下月、2026-W48 或 2026-12。"
        "用法：/task plan [本周|本月|下周|下月|YYYY-Www|YYYY-MM] [@成员|mine|all]"
    )
    # A lead may take someone's item in: it lands in the owner's timeline.
    assert bot.send("/任务 今天 1").splitlines()[:2] == [
        "✅ 已放进今天（11月23日 周一）的时间线：#1",
        "Bob · 计划 3 小时",
    ]


def test_a_day_task_becomes_a_plan_item_and_back(bot: BotDriver) -> None:
    bot.send("/任务 新增 写方案 q1 ~2h")
    assert bot.send("/任务 修改 1 下周") == (
        "✅ 任务 #1 已修改：写方案 · Q1 · 2h · Alice · 第 49 周（11-30 – 12-06）"
    )
    assert _scope(bot) == [(1, None, "2026-W49", None, "open")]
    assert bot.send("/任务 改期 1 周三") == "✅ 任务 #1 改到 11月25日 周三：写方案"
    assert _scope(bot) == [(1, "2026-11-25", "2026-W49", None, "open")]


def test_the_prompt_reads_the_plan_in_the_same_statements_for_any_team_size(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    def tasks_read(members: int) -> int:
        bot = make_bot(
            url=f"sqlite:///{tmp_path / f'team-of-{members}.db'}",
            now=MONDAY,
            team={
                "members": [
                    {"id": f"m{n}", "name": f"M{n}", "role": "admin" if n == 0 else "member"}
                    for n in range(members)
                ]
            },
        )
        for n in range(members):
            bot.send(f"@m{n} /task add 周计划 q1 ~1h 本周")
            bot.send(f"@m{n} /task add 今天的事 ~1h")
        with statements(bot.bot.engine) as sent:
            prompts = _prompts(bot, "2026-11-23T09:30:00+08:00")
        assert len(prompts) == members and all("📋" in text for text in prompts.values())
        return sum("FROM tasks" in statement for statement in sent)

    assert tasks_read(2) == tasks_read(12)  # the prompt's two and the digest's


@pytest.mark.parametrize(
    "line",
    ["/任务 新增 十二月活动 12月", "/任务 新增 活动 下下周", "/任务 新增 整理 本月底",
     "/任务 新增 复盘 2026.12", "/task add Review nextweek", "/task add Review Dec"],
)  # fmt: skip
def test_a_time_it_cannot_read_is_refused_not_kept_as_text(make_bot: BotFactory, line: str) -> None:
    bot = make_bot()
    assert "像时间，但看不懂" in bot.send(line) or "looks like a time" in bot.send(line)
    assert bot.export()["tasks"] == []
    assert "已添加" in bot.send('/任务 新增 "十二月活动 12月"')


def test_ids_as_a_chinese_keyboard_types_them_and_one_plan_at_a_time(
    week_plan: BotDriver,
) -> None:
    assert "已放进今天" in week_plan.send("@bob /任务 今天 #3，＃４")
    assert (_task(week_plan, 3)["day"], _task(week_plan, 4)["day"]) == ("2026-11-23",) * 2
    assert "说了不止一个人" in week_plan.send("/任务 计划 @bob @carol")
