"""Figures a KPI source fetched land in the daily-KPI table once per (team, source, day):
what `/kpi show` and the weekly summary then read. Against the fake 公众号 datacube on
127.0.0.1; it is Monday 2026-11-23, 09:00 in China."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from bot.sources.wechat_mp import WechatMpSource
from handlers.kpi_sync import SyncReport, days_to_sync, sync_days
from storage.db import transaction
from tests.conftest import BotDriver, BotFactory
from tests.fake_kpi_sources import WECHAT_APP_ID, WECHAT_SECRET, FakeWechat, fake_wechat
from tests.test_kpi_source_wechat import MONDAY, WEEK, a_week_of_figures


@pytest.fixture
def bot(make_bot: BotFactory) -> BotDriver:
    return make_bot(now=MONDAY)


@pytest.fixture
def wechat(bot: BotDriver) -> Iterator[FakeWechat]:
    with fake_wechat(bot.clock) as fake:
        a_week_of_figures(fake)
        yield fake


def source(fake: FakeWechat, bot: BotDriver) -> WechatMpSource:
    settings = {"app_id": WECHAT_APP_ID, "app_secret": WECHAT_SECRET, "api_url": fake.url}
    return WechatMpSource(settings, clock=bot.clock)


def sync(bot: BotDriver, fake: FakeWechat, start: date, end: date) -> tuple[list[date], SyncReport]:
    wechat = source(fake, bot)
    with transaction(bot.bot.engine) as session:
        days = days_to_sync(session, team_id="content", source=wechat, start=start, end=end)
        report = sync_days(
            session, team_id="content", source=wechat, days=days, now=bot.clock.now()
        )
    return report.days, report


def stored(bot: BotDriver, metric: str) -> dict[date, float]:
    return {
        date.fromisoformat(row["day"]): row["value"]
        for row in bot.export()["kpi_daily"]
        if row["metric"] == metric and row["platform"] == "wechat"
    }


def test_a_synced_week_is_what_the_summary_reads(bot: BotDriver, wechat: FakeWechat) -> None:
    days, report = sync(bot, wechat, WEEK[0], WEEK[-1])

    assert days == WEEK
    assert sum(stored(bot, "new_followers").values()) == 149  # user_source rows summed
    assert stored(bot, "followers")[WEEK[-1]] == 10125
    summary = bot.send("/summary 2026-W47")
    assert "7,100" in summary  # the week's readers, as worked out by hand
    assert report.counts["new_followers"]["inserted"] == 7


def test_a_day_synced_is_not_fetched_again(bot: BotDriver, wechat: FakeWechat) -> None:
    sync(bot, wechat, WEEK[0], WEEK[-1])
    calls = len(wechat.calls)

    days, _ = sync(bot, wechat, WEEK[0], WEEK[-1])

    assert days == []
    assert len(wechat.calls) == calls


def test_a_day_that_failed_is_fetched_on_the_next_run(bot: BotDriver, wechat: FakeWechat) -> None:
    wechat.outage = True
    days, report = sync(bot, wechat, WEEK[-1], WEEK[-1])
    assert days == [] and report.error is not None
    assert bot.export()["kpi_daily"] == []

    wechat.outage = False
    days, _ = sync(bot, wechat, WEEK[-2], WEEK[-1])

    assert days == [WEEK[-2], WEEK[-1]]
    assert stored(bot, "followers") == {WEEK[-2]: 10111, WEEK[-1]: 10125}


def test_a_hand_logged_figure_is_replaced_by_the_platforms_count(
    bot: BotDriver, wechat: FakeWechat
) -> None:
    bot.send("/kpi log wechat 11-22 followers=9999")
    sync(bot, wechat, WEEK[-1], WEEK[-1] + timedelta(days=0))
    assert stored(bot, "followers") == {WEEK[-1]: 10125}
