"""Figures a KPI source fetched land in the daily-KPI table once per (team, source, day):
what `/kpi show` and the weekly summary then read. Against the fake 公众号 datacube on
127.0.0.1; it is Monday 2026-11-23, 09:00 in China."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest

from bot.core.clock import FrozenClock
from bot.runtime.scheduler import Scheduler
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


def configured(make_bot: BotFactory, fake: FakeWechat) -> BotDriver:
    entry = {"source": "wechat", "app_id": WECHAT_APP_ID, "app_secret": WECHAT_SECRET,
             "base_url": fake.url}  # fmt: skip
    return make_bot(now=MONDAY, team={"kpi_sources": [entry]})


def test_the_morning_job_fetches_yesterday_once(make_bot: BotFactory, tmp_path: Path) -> None:
    with fake_wechat(FrozenClock(MONDAY)) as fake:
        a_week_of_figures(fake)
        driver = configured(make_bot, fake)
        assert ("content", "kpi_sync", "2026-11-23T09:00") in Scheduler(driver.bot).tick().ran
        assert Scheduler(driver.bot).tick().ran == []  # a second tick at once: nothing
        # The week before today, as far as the catch-up reaches; then never again.
        assert sorted(stored(driver, "followers")) == WEEK
        calls = len(fake.calls)
        driver.clock.advance(timedelta(minutes=1))
        Scheduler(driver.bot).tick()
        assert len(fake.calls) == calls


def test_opsbot_kpi_sync_backfills_a_range(tmp_path: Path) -> None:
    with fake_wechat(FrozenClock(MONDAY)) as fake:
        a_week_of_figures(fake)
        config = tmp_path / "config.yaml"
        config.write_text(
            f"""storage: {{url: "sqlite:///{tmp_path / "opsbot.db"}"}}
teams:
  - id: content
    kpi_sources:
      - source: wechat
        app_id: {WECHAT_APP_ID}
        app_secret: "${{WX_SECRET}}"
        base_url: "{fake.url}"
""",
            encoding="utf-8",
        )
        run = partial(subprocess.run, capture_output=True, text=True, timeout=60, check=False)
        env = {**os.environ, "OPSBOT_NOW": MONDAY.isoformat(), "WX_SECRET": WECHAT_SECRET}
        command = [sys.executable, "-m", "bot", "--config", str(config), "kpi", "sync",
                   "--since", "2026-11-16", "--until", "2026-11-22"]  # fmt: skip

        first = run(command, env=env)
        again = run(command, env=env)

    assert first.returncode == 0, first.stderr
    assert "content · wechat：2026-11-16 – 2026-11-22，取回 7/7 天" in first.stdout
    assert "取回 0/0 天" in again.stdout
    assert fake.ranges("getusersummary") == [(WEEK[0], WEEK[-1])]  # once, in one range
