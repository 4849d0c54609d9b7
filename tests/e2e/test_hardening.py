"""Input that is out of range or hostile is refused, and changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.chat.console.adapter import printable
from storage.db import transaction
from storage.models import KpiDaily, Target
from tests.conftest import BotDriver


@pytest.mark.parametrize(
    "line",
    ["/topic add 标题\x00截断", "/topic add \x1b[31m红色\x1b]0;标题\x07", "/task add 写稿\x08"],
)
def test_control_characters_are_refused_and_nothing_is_stored(bot: BotDriver, line: str) -> None:
    before = bot.export()
    assert bot.send(line).startswith("❌ 消息里有控制字符")
    assert bot.export() == before


def test_the_console_never_prints_raw_escape_sequences() -> None:
    assert printable("\x1b[31m红色\x1b]0;标题\x07\n第二行") == (
        "\\x1b[31m红色\\x1b]0;标题\\x07\n第二行"
    )


@pytest.mark.parametrize(
    "line",
    ["/summary 9999-W52", "/digest 9999-12-31", "/summary 1900-W01", "/task add 写 0001-01-01"],
)
def test_dates_outside_1970_to_2100_are_refused(bot: BotDriver, line: str) -> None:
    assert bot.send(line).startswith("❌")


def test_nobody_can_be_called_me(bot: BotDriver) -> None:
    assert bot.send("/team add @me").startswith("❌")
    assert "me" not in [row["id"] for row in bot.export()["members"]]


def test_post_figures_are_for_the_people_of_the_post(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 今天 11:00 @carol")
    bot.send("@bob /publish done 1")

    assert bot.send("@dave /kpi post 1 reads=100").startswith("❌ 只有这篇稿子的作者")
    assert bot.export()["post_metrics"] == []
    assert bot.send("@bob /kpi post 1 reads=100").startswith("✅")
    assert bot.send("@carol /kpi post 1 shares=5").startswith("✅")  # the reviewer


@pytest.mark.parametrize(
    "line",
    [
        "/topic vote " + "9" * 5000,
        "/topic add 冬至节气海报 t:" + "5" * 5000,
        "/task done " + "0" * 5000 + "1",
        "/kpi post " + "9" * 5000 + " reads=1",
    ],
)
def test_an_id_or_rating_of_thousands_of_digits_is_refused(bot: BotDriver, line: str) -> None:
    # int() raises ValueError past 4,300 digits: this was an internal error.
    before = bot.export()
    reply = bot.send(line)
    assert reply.startswith("❌")
    assert "出了点问题" not in reply
    assert bot.export() == before


def test_a_metric_value_over_the_largest_kept_is_refused(bot: BotDriver) -> None:
    assert bot.send("/kpi log wechat reads=1000000000000001").startswith(
        "❌ 「reads=1000000000000001」：「1000000000000001」太大了，数值最多 1,000,000,000,000,000。"
    )
    assert "太大了" in bot.send("/kpi log wechat reads=" + "9" * 308)  # a float, shown whole
    assert bot.export()["kpi_daily"] == []
    assert bot.send("/kpi log wechat reads=1000000000000000").startswith("✅")


def test_the_weekly_summary_adds_up_the_largest_values_kept(bot: BotDriver) -> None:
    # What the cap is for: two values of 308 nines were kept, added up to infinity in the
    # summary, and rounding the target's pace raised (an internal error).
    assert bot.send("/kpi log wechat reads=1,000,000,000,000,000").startswith("✅")
    assert bot.send("/kpi log wechat 昨天 reads=1,000,000,000,000,000").startswith("✅")
    assert bot.send("/kpi target wechat 2026-11 reads=1").startswith("✅")
    assert bot.send("/summary this").startswith("📊")


def test_a_file_value_over_the_largest_kept_is_rejected_with_its_reason(bot: BotDriver) -> None:
    from handlers.kpi_import import import_kpi_csv, render_import_report
    from storage.db import transaction

    data = "date,platform,reads\n2026-11-20,wechat,1200\n2026-11-21,wechat,1e400\n".replace(
        "1e400", "1" + "0" * 400
    ).encode()
    with transaction(bot.bot.engine) as session:
        report = import_kpi_csv(
            session, data, team_id="content", content_platforms=bot.bot.content_platforms,
            default_platform=None, today=bot.clock.now().date(), now=bot.clock.now(),
        )  # fmt: skip
    assert [(r.line, r.key, r.params["column"]) for r in report.rejected] == [
        (3, "import.reject.number", "reads")  # beyond a float: not a number, as before
    ]
    data = b"date,platform,reads\n2026-11-20,wechat,1200\n2026-11-21,wechat,10000000000000001\n"
    with transaction(bot.bot.engine) as session:
        report = import_kpi_csv(
            session, data, team_id="content", content_platforms=bot.bot.content_platforms,
            default_platform=None, today=bot.clock.now().date(), now=bot.clock.now(),
        )  # fmt: skip
    lines = [line for section in render_import_report(report, bot.bot.t).sections
             for line in section.lines]  # fmt: skip
    assert "第 3 行：reads 的「10000000000000001」太大了，数值最多 1,000,000,000,000,000" in lines
    assert [row["value"] for row in bot.export()["kpi_daily"]] == [1200]


def test_a_newcomers_long_chat_name_is_cut_to_fit(database_url: str) -> None:
    # PostgreSQL refused the 150-character name (an internal error); SQLite kept it whole.
    from datetime import datetime

    from bot.core.clock import FrozenClock
    from bot.core.dispatch import Delivery
    from bot.core.messages import Command
    from bot.runtime.app import OpsBot
    from tests.conftest import make_settings

    settings = make_settings(
        database_url,
        platforms={"slack": {"bot_token": "x", "signing_secret": "y", "mode": "http"}},
        team={"channels": {"slack": "C0123"}},
    )
    bot = OpsBot.open(settings, FrozenClock(datetime.fromisoformat("2026-11-23T10:00:00+08:00")))
    command = Command(
        text="/topic add 冬至节气海报", team_id=None, user_id="U99", user_name="名" * 150,
        channel_id="C0123",
    )  # fmt: skip
    reply = bot.dispatch(command, Delivery("slack"))
    assert reply is not None and not reply.is_error, reply and reply.title
    members = BotDriver(bot, bot.clock).export()["members"]  # type: ignore[arg-type]
    assert [row["name"] for row in members if row["slack"] == "U99"] == ["名" * 100]
    bot.engine.dispose()


def test_values_over_the_cap_stored_before_it_are_left_out_of_reports(bot: BotDriver) -> None:
    """A database may hold values the bot now refuses (over a thousand trillion, stored
    before the cap); two of them add up to infinity. Reports still answer, with the rest."""
    bot.send("/kpi log wechat 11-17 reads=1200")
    huge = datetime(2026, 11, 20, tzinfo=UTC)
    with transaction(bot.bot.engine) as session:
        for day in range(1, 23):
            for metric in ("shares", "followers", "new_followers"):
                session.add(KpiDaily(team_id="content", platform="wechat", metric=metric,
                                     day=date(2026, 11, day), value=1e308, updated_at=huge))  # fmt: skip
        session.add(Target(team_id="content", platform="wechat", month="2026-11",
                           metric="shares", value=1e308, updated_at=huge))  # fmt: skip

    for line in ("/summary last", "/summary 2026-W46", "/kpi show month", "/kpi show wechat"):
        assert "出了点问题" not in bot.send(line)
    assert "1,200" in bot.send("/summary last")
    assert "1,200" in bot.send("/kpi show month")
    assert len(bot.export()["kpi_daily"]) == 1 + 22 * 3  # left out, not deleted


def test_a_stand_up_item_too_long_for_a_task_says_so(bot: BotDriver) -> None:
    before = bot.export()
    reply = bot.send(f"/standup today: 回复留言，{'写' * 201} +tasks")
    assert reply.startswith("❌ 「今天」第 2 项太长，做不了任务（201 字，任务最多 200 字）")
    assert "去掉 +任务" in reply
    assert bot.export() == before


def test_a_link_too_long_is_called_too_long_not_a_non_link(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 今天 11:00 @carol")
    reply = bot.send(f"@bob /publish done 1 https://mp.weixin.qq.com/s/{'a' * 1000}")
    assert reply.startswith("❌ 链接太长（1027 个字符），最多 1000 个")
    assert bot.export()["posts"][0]["status"] != "published"
