"""The digest shows each person's first eight tasks of the day's timeline, and says how
many more there are and where they are: a post the whole team reads stays readable."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import BotDriver, BotFactory


def test_a_long_day_is_cut_at_eight_with_the_command_for_the_rest(bot: BotDriver) -> None:
    for number in range(1, 11):
        bot.send(f"@bob /任务 新增 第{number}件事 q2 ~15m")

    digest = bot.send("/日报")

    shown = [line for line in digest.splitlines() if "件事" in line]
    assert len(shown) == 8 and "第1件事" in shown[0] and "第8件事" in shown[-1]
    assert "…还有 2 项：/任务 列表 @bob" in digest
    assert "第10件事" in bot.send("@bob /任务 列表")  # nothing lost: one command away


def test_the_first_eight_and_their_times_are_those_of_the_whole_plan(bot: BotDriver) -> None:
    """Picked and summed in SQL, the digest's head of a plan is the plan's own: the same
    order (quadrant, then the longest waiting), the same times around lunch, the same
    total and overload flag; done, dropped and later tasks count nowhere."""
    for number, (quadrant, estimate) in enumerate(
        [("q3", "1h"), ("q1", "2h"), ("q2", "45m"), ("q4", "3h"), ("q1", "30m")], start=1
    ):
        bot.send(f"@bob /task add 旧事{number} {quadrant} ~{estimate}")
    bot.send("@bob /task add 做完了 q1 ~4h")
    bot.send("@bob /task done 6")
    bot.clock.advance(timedelta(days=1))  # the first five carried over, waiting a day
    for number, quadrant in enumerate(["q2", "q1", "q4", "q3", "q1"], start=1):
        bot.send(f"@bob /task add 新事{number} {quadrant} ~1h")
    bot.send("@bob /task add 不做了 q1 ~1h")
    bot.send("@bob /task drop 12")
    bot.send("@bob /task add 明天的事 q1 ~1h 明天")

    plan = bot.send("/task list @bob").splitlines()[1:]
    digest = bot.send("/日报").splitlines()

    assert plan[0] == "Bob · 计划 12.2 小时 ⚠️ 超过 8 小时" and len(plan) == 11
    heading = [line.strip() for line in digest].index(plan[0])
    shown = [line.strip() for line in digest[heading + 1 : heading + 9]]
    assert shown == [line.strip() for line in plan[1:9]]
    assert "18:15–19:15  新事4 (1h)" in shown[-1]  # times run on past lunch as in the plan
    assert digest[heading + 9].strip() == "…还有 2 项：/任务 列表 @bob"


def test_each_person_s_head_and_counts_are_their_own(
    make_bot: BotFactory, database_url: str
) -> None:
    """One statement picks every head (on SQLite and PostgreSQL alike)."""
    bot = make_bot(url=database_url)
    for number in range(1, 11):
        bot.send(f"@bob /task add 鲍勃{number} q{1 + number % 4} ~30m")
    bot.send("/task add 爱丽丝的事 q3 ~2h")
    bot.send("@carol /task add 卡罗尔的事 q1 ~15m")
    bot.send("@carol /task add 卡罗尔做完了 q1 ~1h")
    bot.send("@carol /task done 13")

    digest = [line.strip() for line in bot.send("/日报").splitlines()]

    def section(heading: str) -> list[str]:
        start = digest.index(heading) + 1
        end = next(n for n in range(start, len(digest)) if "·" in digest[n] or not digest[n])
        return digest[start:end]

    assert [line.split()[-1] for line in section("Alice · 计划 2 小时")] == ["#11"]
    assert [line.split()[-1] for line in section("Carol · 计划 0.2 小时")] == ["#12"]
    bob = section("Bob · 计划 5 小时")
    assert [line.split()[-1] for line in bob[:8]] == [
        "#4", "#8", "#1", "#5", "#9", "#2", "#6", "#10",
    ]  # fmt: skip
    assert bob[8] == "…还有 2 项：/任务 列表 @bob"
