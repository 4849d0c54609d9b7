"""The weekly summary tells the truth on partial and missing data (hand-computed)."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import BotFactory


def test_the_week_so_far_is_compared_with_the_same_days_of_last_week(
    make_bot: BotFactory,
) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-25T10:00:00+08:00"))  # a Wednesday
    for day, reads in (("11-16", 100), ("11-17", 200), ("11-18", 300), ("11-19", 1000),
                       ("11-23", 150), ("11-24", 250), ("11-25", 50)):  # fmt: skip
        bot.send(f"/kpi log wechat {day} reads={reads}")

    lines = bot.send("/周报 本周").splitlines()

    assert lines[0] == "📊 内容组 · 第 48 周数据周报 (11月23日–25日，本周到目前为止，对比上周同期)"
    # Monday to Wednesday: 150 + 250 + 50 = 450 against 100 + 200 + 300 = 600: -25%.
    assert lines[2].startswith("  阅读 450 ↓25.0%")
    # Only Wednesday has passed since the members joined (they were added today): 4 due.
    assert "🧍 站会   参与 0% (0/4) · 任务完成 0/0 · 阻碍 0 条" in lines


def test_a_member_who_joined_mid_week_counts_from_that_day(make_bot: BotFactory) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-16T08:00:00+08:00"))  # Monday, week 47
    bot.send("/standup 今天：写稿")
    bot.clock.set(datetime.fromisoformat("2026-11-17T09:00:00+08:00"))
    bot.send("/standup 今天：排版")
    bot.clock.set(datetime.fromisoformat("2026-11-18T09:00:00+08:00"))
    bot.send("/team add @erin")  # Wednesday
    bot.clock.set(datetime.fromisoformat("2026-11-23T10:00:00+08:00"))

    lines = bot.send("/summary last").splitlines()

    # 4 members × 5 workdays + Erin Wednesday to Friday = 23 due; Alice answered 2: 9%.
    assert "🧍 站会   参与 9% (2/23) · 任务完成 0/0 · 阻碍 0 条" in lines


def test_a_platform_without_figures_that_week_is_left_out(make_bot: BotFactory) -> None:
    bot = make_bot()  # Monday 23 November: the summary covers week 47
    bot.send("/kpi log wechat 11-10 reads=1000 new_followers=50")  # week 46 only

    summary = bot.send("/summary")

    assert "公众号" not in summary  # no "+0 ↓100%" rows for a week without figures
    assert "本周还没有数据" in summary
    assert "↓100.0%" not in summary
