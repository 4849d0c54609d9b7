"""`/calendar` (`/日历`): the marketing calendar — solar terms and holidays from the
maintained packages, commercial dates from the repo's data, a team's own dates and the
ones it hid — with the topics and posts tied to each, and the morning digest's warning
`lead_days` ahead (冬至 2026 is 22 December, 立春 2027 is 4 February)."""

from __future__ import annotations

from datetime import date, datetime

from bot.vocab.marketing_dates import builtin_dates, find_builtin
from tests.conftest import BotDriver, BotFactory


def _at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+08:00")


def _calendar_lines(digest: str) -> list[str]:
    """The digest's marketing-calendar lines (empty when it has none)."""
    lines = digest.splitlines()
    if not any(line.startswith("🗓") for line in lines):
        return []
    start = next(i for i, line in enumerate(lines) if line.startswith("🗓")) + 1
    return [line.removeprefix("  · ") for line in lines[start:] if line.startswith("  · ")]


def test_the_dates_come_from_the_maintained_sources_and_the_repos_data() -> None:
    december = {
        found.zh: found.day for found in builtin_dates(date(2026, 12, 1), date(2026, 12, 31))
    }
    assert december["冬至"] == date(2026, 12, 22)  # chinese-calendar's solar terms
    assert december["双十二"] == date(2026, 12, 12)
    spring = {found.zh: found.day for found in builtin_dates(date(2027, 2, 1), date(2027, 2, 28))}
    assert spring["立春"] == date(2027, 2, 4)
    assert spring["春节"] == date(2027, 2, 6) and spring["除夕"] == date(2027, 2, 5)  # lunar
    qixi = [found.day for found in builtin_dates(date(2025, 1, 1), date(2030, 12, 31))
            if found.key == "qixi"]  # fmt: skip
    assert qixi == [date(2025, 8, 29), date(2026, 8, 19), date(2027, 8, 8), date(2028, 8, 26),
                    date(2029, 8, 16), date(2030, 8, 5)]  # fmt: skip
    may_june = {found.zh: found.day for found in builtin_dates(date(2026, 5, 1), date(2026, 6, 30))}
    assert may_june["母亲节"] == date(2026, 5, 10)  # the 2nd Sunday of May
    assert may_june["父亲节"] == date(2026, 6, 21)  # the 3rd Sunday of June
    assert may_june["520"] == date(2026, 5, 20) and may_june["618"] == date(2026, 6, 18)
    assert find_builtin("双11") == find_builtin("Singles' Day") == find_builtin("双十一")
    assert find_builtin("winter solstice") == ("winter-solstice", "冬至", "Winter Solstice")


def test_the_digest_warns_of_winter_solstice_from_lead_days_ahead(make_bot: BotFactory) -> None:
    bot = make_bot(now=_at("2026-12-11T08:00:00"))
    assert not [line for line in _calendar_lines(bot.send("/日报")) if "冬至" in line]

    bot.clock.set(_at("2026-12-12T08:00:00"))  # 10 days ahead: the default lead_days
    assert _calendar_lines(bot.send("/日报")) == [
        "双十二 就是今天 · 还没有排期的选题",
        "冬至 还有 10 天 · 还没有排期的选题",
    ]

    bot.clock.set(_at("2026-12-15T08:00:00"))
    assert "冬至 还有 7 天 · 还没有排期的选题" in _calendar_lines(bot.send("/日报"))

    bot.send("/选题 新增 冬至节气海报 #节日 p:xhs t:5 v:4 c:4")
    assert "冬至 还有 7 天 · 1 个选题还没有排期：#1「冬至节气海报」" in _calendar_lines(
        bot.send("/日报")
    )

    bot.send("/发布 新增 冬至海报 p:公众号 12月21日 20:00")
    lines = _calendar_lines(bot.send("/日报"))
    assert "冬至 还有 7 天 · 已排期 1 篇：《冬至海报》12-21" in lines

    bot.clock.set(_at("2026-12-22T08:00:00"))
    assert "冬至 就是今天 · 已排期 1 篇：《冬至海报》12-21" in _calendar_lines(bot.send("/日报"))
    bot.clock.set(_at("2026-12-23T08:00:00"))
    assert not [line for line in _calendar_lines(bot.send("/日报")) if "冬至" in line]


def test_start_of_spring_2027_with_the_teams_own_lead_days(make_bot: BotFactory) -> None:
    bot = make_bot(now=_at("2027-01-31T08:00:00"), team={"marketing_calendar": {"lead_days": 3}})
    assert not [line for line in _calendar_lines(bot.send("/日报")) if "立春" in line]
    bot.clock.set(_at("2027-02-01T08:00:00"))
    assert "立春 还有 3 天 · 还没有排期的选题" in _calendar_lines(bot.send("/日报"))


def test_the_warning_in_english(make_bot: BotFactory) -> None:
    bot = make_bot(locale="en", now=_at("2027-01-28T08:00:00"))
    bot.send("/publish add Start of Spring poster p:wechat 2027-02-03 20:00")
    lines = _calendar_lines(bot.send("/digest"))
    assert 'Start of Spring in 7 days · 1 planned: "Start of Spring poster" 02-03' in lines
    assert any(line.startswith("Spring Festival in 9 days · nothing planned") for line in lines)


def test_a_month_lists_its_dates_with_the_topics_and_posts_tied_to_them(bot: BotDriver) -> None:
    bot.send("/选题 新增 冬至节气海报 #节日 p:xhs t:5 v:4 c:4")  # 1: names 冬至 in its title
    bot.send("/选题 新增 年末好物清单 #双十二 p:xhs t:4 v:4 c:4")  # 2: by its tag
    bot.send("/选题 新增 冬至推文 p:wechat t:4 v:4 c:4")  # 3: scheduled below
    bot.send("/发布 新增 冬至推文 p:公众号 12月20日 20:00")  # a post of topic 3? no: by title
    bot.send("/发布 新增 冬至回顾 p:公众号 12月10日 20:00")  # 12 days before: not for it
    bot.send("/发布 新增 周末随笔 p:公众号 12月21日 20:00")  # names no date

    reply = bot.send("/日历 2026-12")

    lines = reply.splitlines()
    assert lines[0] == "🗓 内容组 · 营销日历 · 2026年12月1日–12月31日"
    dates = [line.strip() for line in lines[1:] if not line.startswith("      ")]
    assert dates[:4] == [
        "12-07 周一  大雪（节气）· 还有 14 天",
        "12-12 周六  双十二（营销节点）· 还有 19 天",
        "12-22 周二  冬至（节气）· 还有 29 天",
        "12-25 周五  圣诞节（节日）· 还有 32 天",
    ]
    solstice = reply.split("冬至（节气）")[1].split("圣诞节")[0]
    assert "📅 #1《冬至推文》 12-20 20:00 · 公众号" in solstice
    assert "💡 选题 #1「冬至节气海报」还没有排期" in solstice
    assert "冬至回顾" not in solstice and "周末随笔" not in reply
    double_twelve = reply.split("双十二（营销节点）")[1].split("冬至")[0]
    assert "💡 选题 #2「年末好物清单」还没有排期" in double_twelve
    assert "日期前 7 天内到当天" in reply  # the rule is said


def test_default_next_and_a_bad_month(bot: BotDriver) -> None:
    default = bot.send("/calendar")  # Monday 23 November: the next 30 days
    assert "2026年11月23日–12月23日" in default and "感恩节（营销节点）· 还有 3 天" in default
    assert "冬至" in default and "圣诞节" not in default
    following = bot.send("/日历 下个月")
    assert "2026年12月1日–12月31日" in following
    assert "看不懂「2026-13」" in bot.send("/日历 2026-13")
    assert "看不懂「明年」" in bot.send("/日历 明年")
    assert "2000–2099" in bot.send("/日历 2150-01")


def test_english_names(bot_en: BotDriver) -> None:
    reply = bot_en.send("/calendar 2026-12")
    assert "Marketing calendar · 1 Dec–31 Dec 2026" in reply
    assert "12-22 Tue  Winter Solstice (solar term) · in 29 days" in reply
    assert "Double 12 (12.12) (shopping date)" in reply


def test_a_team_date_is_stored_echoed_listed_warned_of_and_deleted(bot: BotDriver) -> None:
    reply = bot.send("/日历 新增 2027-03-15 公司周年庆")

    assert reply == (
        "✅ 已加入营销日历：2027年3月15日 周一 · 公司周年庆（团队日期 #1），早报提前 10 天提醒"
    )
    (row,) = bot.export()["calendar_dates"]
    assert (row["kind"], row["day"], row["name"], row["created_by"]) == (
        "own", "2027-03-15", "公司周年庆", "alice",
    )  # fmt: skip
    assert "03-15 周一  公司周年庆（团队日期）" in bot.send("/日历 2027-03")
    bot.clock.set(_at("2027-03-10T08:00:00"))
    assert "公司周年庆 还有 5 天 · 还没有排期的选题" in _calendar_lines(bot.send("/日报"))

    assert "不能删除" in bot.send("/日历 删除 冬至")
    assert "只有加这个日子的人" in bot.send("@dave /日历 删除 公司周年庆")
    deleted = bot.send("/日历 删除 公司周年庆")
    assert deleted == "✅ 已删除团队日期「公司周年庆」（1 个：3月15日 周一）"
    assert bot.export()["calendar_dates"] == []


def test_a_hidden_date_is_gone_from_the_calendar_and_digest_until_shown(bot: BotDriver) -> None:
    assert "感恩节" in bot.send("/日历") and "感恩节" in bot.send("/日报")

    reply = bot.send("/日历 隐藏 Thanksgiving")  # any of its names

    assert reply == "✅ 已隐藏「感恩节」：日历和早报不再显示它。恢复：/日历 恢复 感恩节"
    (row,) = bot.export()["calendar_dates"]
    assert (row["kind"], row["day"], row["name"]) == ("hidden", None, "感恩节")
    assert "感恩节" not in bot.send("/日历") and "感恩节" not in bot.send("/日报")
    assert "已经隐藏了" in bot.send("/日历 隐藏 感恩节")
    assert len(bot.export()["calendar_dates"]) == 1
    assert "只有编辑和管理员" in bot.send("@dave /日历 恢复 感恩节")

    assert bot.send("/日历 恢复 感恩节") == "✅ 已恢复「感恩节」：日历和早报会再显示它"
    assert "感恩节" in bot.send("/日历")
    assert bot.export()["calendar_dates"] == []


def test_what_it_cannot_understand_it_refuses_and_stores_nothing(bot: BotDriver) -> None:
    refusals = {
        "/日历 新增 2026-02-30 周年庆": "「2026-02-30」不是日期",
        "/日历 新增 周年庆": "缺少日期，所以什么都没存",
        "/日历 新增 2027-03-15": "缺少名字，所以什么都没存",
        "/日历 新增": "缺少日期",
        "/日历 新增 2026-11-01 周年庆": "11月1日 周日 已经过去了",
        "/日历 新增 2027-03-15 " + "长" * 101: "最多 100 字",
        "/日历 隐藏 不存在的节日": "没有叫「不存在的节日」的内置日期",
        "@dave /日历 隐藏 感恩节": "只有编辑和管理员",
        "/日历 恢复 感恩节": "「感恩节」没有隐藏",
        "/日历 删除 周年庆": "团队没有叫「周年庆」的日子",
    }
    for line, why in refusals.items():
        reply = bot.send(line)
        assert reply.startswith("❌") and why in reply, (line, reply)
    assert bot.export()["calendar_dates"] == []

    bot.send("/日历 新增 2027-03-15 周年庆")
    assert "已经有「周年庆」了" in bot.send("/日历 新增 3月15日 周年庆")  # the same day
    assert len(bot.export()["calendar_dates"]) == 1
    assert "团队自己加的日子" in bot.send("/日历 隐藏 周年庆")


def test_the_name_may_come_first_or_be_quoted(bot: BotDriver) -> None:
    assert "2027年1月8日 周五 · 新品发布会" in bot.send("/calendar add 新品发布会 2027-01-08")
    assert "12月30日 周三 · 年终 盘点 直播" in bot.send("/calendar add 12-30 「年终 盘点 直播」")
    assert [row["name"] for row in bot.export()["calendar_dates"]] == [
        "新品发布会", "年终 盘点 直播",
    ]  # fmt: skip
