"""`/standup history`: a week of stand-ups read back, with what became of each blocker.

The week of Monday 2026-11-16 (no holiday), China time, the clock moved day by day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import BotDriver, BotFactory

MONDAY = datetime.fromisoformat("2026-11-16T09:30:00+08:00")


@pytest.fixture
def week(make_bot: BotFactory) -> BotDriver:
    """Bob is blocked on Monday and Tuesday by the same thing, free on Wednesday, blocked
    anew on Thursday; Carol answers Monday only; Dave is away from Wednesday; it is
    Friday morning and nobody has answered yet."""
    bot = make_bot(now=MONDAY)
    bot.send("/team away @dave 11-18 11-20")
    days = {
        0: {"bob": "昨天：选题会 | 今天：写初稿 | 阻碍：等设计稿",
            "carol": "今天：排期", "dave": "今天：剪视频"},
        1: {"bob": "今天：改初稿 | 阻碍：还在等设计稿，服务器慢", "dave": "今天：剪视频"},
        2: {"bob": "今天：发布 | 阻碍：无"},
        3: {"bob": "今天：复盘 | 阻碍：API down"},
    }  # fmt: skip
    for offset in range(4):
        bot.clock.set(MONDAY + timedelta(days=offset))
        for member, answer in days[offset].items():
            bot.send(f"@{member} /站会 {answer}")
    bot.clock.set(MONDAY + timedelta(days=4))
    return bot


def test_a_blocker_named_again_the_next_workday_is_still_open(week: BotDriver) -> None:
    reply = week.send("@bob /站会 历史")

    lines = reply.splitlines()
    assert "站会历史 · Bob · 11-16 – 11-20" in lines[0]
    # Two blockers: Monday's (named again on Tuesday, then gone) and Thursday's, not known yet.
    assert "Bob · 回答 4/5 天（80%）· 阻碍 2 个，仍未解决 1 个" in reply
    monday = next(line for line in lines if line.strip().startswith("11-16"))
    assert "🚧 阻碍：等设计稿" in monday and "⚠️ 11-17 又提到，仍未解决" in monday
    tuesday = next(line for line in lines if line.strip().startswith("11-17"))
    assert "✅ 已解决" in tuesday  # Wednesday's answer names no blocker
    thursday = next(line for line in lines if line.strip().startswith("11-19"))
    assert "不知道是否已解决" in thursday  # Friday has no answer yet
    friday = next(line for line in lines if line.strip().startswith("11-20"))
    assert "未回答" in friday


def test_everyone_with_participation_and_days_away(week: BotDriver) -> None:
    reply = week.send("/站会 历史 全部")

    assert "站会历史 · 全员" in reply
    assert "Carol · 回答 1/5 天（20%）· 阻碍 0 个，仍未解决 0 个" in reply
    # Away Wednesday to Friday: two days expected, both answered.
    assert "Dave · 回答 2/2 天（100%）" in reply
    assert reply.count("请假") >= 3
    assert "Alice · 回答 0/5 天（0%）" in reply


def test_a_member_who_joined_mid_week_is_expected_from_that_day(make_bot: BotFactory) -> None:
    bot = make_bot(now=MONDAY)
    bot.clock.set(MONDAY + timedelta(days=2))
    assert "erin" in bot.send("/team add @erin")
    bot.send("@erin /standup today: onboarding")
    bot.clock.set(MONDAY + timedelta(days=4))

    reply = bot.send("/standup history @erin")

    assert "erin · 回答 1/3 天（33%）" in reply
    assert "11-16" not in reply.split("\n", 1)[1]


def test_a_range_in_english_and_a_past_week(week: BotDriver) -> None:
    week.clock.set(MONDAY + timedelta(days=7))
    reply = week.send("@bob /standup history last-week")
    assert "Bob · 回答 4/5 天（80%）" in reply
    assert "11-16 – 11-22" in reply


def test_a_range_it_cannot_read_is_refused(week: BotDriver) -> None:
    assert "看不懂时间范围「昨天 的 事」" in week.send("/站会 历史 昨天 的 事")
    assert "晚于" in week.send("/站会 历史 11-20 11-16")
    assert "最多 92 天" in week.send("/站会 历史 2026-01-01 2026-11-20")
    # Nothing of that was stored as an answer.
    assert all(row["day"] != "2026-11-20" for row in week.export()["standups"])


def test_one_person_or_everyone_and_one_range_never_a_guess(week: BotDriver) -> None:
    assert "说了不止一个人" in week.send("/站会 历史 @bob @carol")
    assert "说了不止一个人" in week.send("/站会 历史 @bob 全部")
    assert "两个时间范围" in week.send("/站会 历史 @bob 上周 本周")
    week.clock.set(MONDAY + timedelta(days=7))
    assert "11-16 – 11-22" in week.send("@bob /standup history last week")
    assert "11-16 – 11-22" in week.send("@bob /standup history all last")


def test_a_mistyped_history_never_replaces_todays_answer(week: BotDriver) -> None:
    week.clock.set(MONDAY + timedelta(days=3, hours=1))  # Thursday, answered already
    before = [row for row in week.export()["standups"] if row["member"] == "bob"]

    for line in ("@bob /standup histroy @carol", "@bob /站会 历史记录 @bob", "@bob /站会 查看记录"):
        reply = week.send(line)
        assert "像是命令" in reply and "没有当作站会记录" in reply

    assert [row for row in week.export()["standups"] if row["member"] == "bob"] == before
    assert "已更新" in week.send("@bob /站会 今天：历史记录整理")  # with a label it is an answer
