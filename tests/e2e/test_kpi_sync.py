"""Figures a KPI source fetched land in the daily-KPI table once per (team, source, day):
what `/kpi show` and the weekly summary then read. Against the fake 公众号 datacube on
127.0.0.1; it is Monday 2026-11-23, 09:00 in China."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from bot.core.clock import FrozenClock
from bot.runtime.scheduler import Scheduler
from bot.sources.wechat_mp import WechatMpSource
from handlers.kpi_sync import SyncReport, days_to_sync, fetch, store, sync_days
from storage import posts as post_store
from storage.db import transaction
from storage.models import Post
from tests.conftest import BotDriver, BotFactory
from tests.fake_kpi_sources import WECHAT_APP_ID, WECHAT_SECRET, FakeWechat, fake_wechat
from tests.test_kpi_source_wechat import CHINA, MONDAY, WEEK, a_week_of_figures


@pytest.fixture
def bot(make_bot: BotFactory) -> BotDriver:
    return make_bot(now=MONDAY)


@pytest.fixture
def wechat(bot: BotDriver) -> Iterator[FakeWechat]:
    with fake_wechat(bot.clock) as fake:
        a_week_of_figures(fake)
        yield fake


def source(fake: FakeWechat, bot: BotDriver) -> WechatMpSource:
    settings = {"app_id": WECHAT_APP_ID, "app_secret": WECHAT_SECRET, "api_url": fake.url,
                "name": "wechat"}  # fmt: skip
    return WechatMpSource(settings, clock=bot.clock)


def sync(bot: BotDriver, fake: FakeWechat, start: date, end: date) -> tuple[list[date], SyncReport]:
    wechat = source(fake, bot)
    with transaction(bot.bot.engine) as session:
        days = days_to_sync(session, team_id="content", source=wechat, start=start, end=end)
        report = sync_days(
            session, team_id="content", source=wechat, days=days, now=bot.clock.now()
        )
    return report.days, report


def sources(bot: BotDriver) -> dict[tuple[str, str, str], str]:
    """(platform, day, metric) → where the stored figure came from."""
    return {
        (row["platform"], row["day"], row["metric"]): row["source"]
        for row in bot.export()["kpi_daily"]
    }


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


def test_each_figure_remembers_where_it_came_from_and_the_summary_says_it(
    bot: BotDriver, wechat: FakeWechat
) -> None:
    bot.send("/kpi log 小红书 11-20 阅读=3000")
    sync(bot, wechat, WEEK[0], WEEK[-1])

    origin = sources(bot)
    assert origin[("xiaohongshu", "2026-11-20", "reads")] == "manual"
    assert origin[("wechat", "2026-11-22", "followers")] == "wechat"
    summary = bot.send("/summary 2026-W47")
    assert "来源：公众号接口" in summary
    assert "来源：手动" in summary


def test_a_figure_typed_after_the_sync_is_newer_and_stays(
    bot: BotDriver, wechat: FakeWechat
) -> None:
    sync(bot, wechat, WEEK[-1], WEEK[-1])
    bot.send("/kpi log wechat 11-22 followers=10130")  # a correction, after the sync

    sync(bot, wechat, WEEK[0], WEEK[-1])  # a backfill over the same day

    assert stored(bot, "followers")[WEEK[-1]] == 10130
    assert sources(bot)[("wechat", "2026-11-22", "followers")] == "manual"


def test_a_fetch_that_returns_the_same_figures_changes_nothing(
    bot: BotDriver, wechat: FakeWechat
) -> None:
    """Two runs that fetched the same days at once (a tick and a backfill): the one that
    stores second finds the days claimed and writes none of their figures."""
    wechat_source = source(wechat, bot)
    first = fetch(wechat_source, WEEK, posts=None)
    second = fetch(wechat_source, WEEK, posts=None)
    with transaction(bot.bot.engine) as session:
        done = store(session, team_id="content", fetched=first, now=bot.clock.now())
    before = bot.export()["kpi_daily"]
    bot.clock.advance(timedelta(minutes=5))
    with transaction(bot.bot.engine) as session:
        late = store(session, team_id="content", fetched=second, now=bot.clock.now())

    assert done.days == WEEK and late.days == []
    assert sum(late.totals().values()) == 0
    assert bot.export()["kpi_daily"] == before
    runs = [r for r in bot.export()["job_runs"] if r["job"] == "kpi_sync:wechat"]
    assert sorted(r["period"] for r in runs) == [day.isoformat() for day in WEEK]


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
        unknown = run([*command[:7], "--source", "weibo"], env=env)

    assert (
        unknown.returncode == 2
        and "没有名为「weibo」的 KPI 数据源；配置里有：wechat" in unknown.stderr
    )
    assert first.returncode == 0, first.stderr
    assert "content · wechat：2026-11-16 – 2026-11-22，取回 7/7 天" in first.stdout
    assert "  新增关注：新增 7 · 更新 0 · 未变 0" in first.stdout.splitlines()  # per metric
    assert "取回 0/0 天" in again.stdout
    assert fake.ranges("getusersummary") == [(WEEK[0], WEEK[-1])]  # once, in one range


def published(driver: BotDriver, title: str, when: datetime) -> int:
    """A post that went out on 公众号 at `when` (China time), as `/publish done` leaves it."""
    with transaction(driver.bot.engine) as session:
        post = post_store.add_post(session, Post(
            team_id="content", title=title, platform="wechat", planned_at=when, owner="bob",
            status="published", published_at=when, created_by="bob", created_at=when,
            updated_at=when,
        ))  # fmt: skip
        assert post.id is not None
        return post.id


def test_the_morning_job_gives_the_posts_their_totals(make_bot: BotFactory) -> None:
    with fake_wechat(FrozenClock(MONDAY)) as fake:
        a_week_of_figures(fake)
        fake.articles = {date(2026, 11, 20): [
            {"msgid": "2247490098_1", "title": "双十一复盘", "publish_type": 0, "detail_list": [
                {"stat_date": "2026-11-22", "read_user": 4123, "share_user": 366,
                 "like_user": 386, "comment_count": 33, "collection_user": 233},
            ]},
            {"msgid": "2247490098_2", "title": "没有记录的次条", "publish_type": 0,
             "detail_list": [{"stat_date": "2026-11-22", "read_user": 10}]},
        ]}  # fmt: skip
        driver = configured(make_bot, fake)
        post_id = published(driver, "双十一复盘", datetime(2026, 11, 20, 20, 0, tzinfo=CHINA))

        Scheduler(driver.bot).tick()

    metrics = {
        row["metric"]: row["value"]
        for row in driver.export()["post_metrics"]
        if row["post_id"] == post_id
    }
    assert metrics == {"users": 4123, "shares": 366, "likes": 386, "comments": 33,
                       "favorites": 233}  # fmt: skip
    assert len(driver.export()["post_metrics"]) == 5  # the unknown post matched nothing
    assert "🏆 本周最佳  《双十一复盘》" in driver.send("/summary 2026-W47")


def test_no_database_lock_is_held_while_the_api_answers(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    """A slow API must not stop the team's commands: while the fake answers the morning
    job, another connection can write."""
    written: list[str] = []

    def write_meanwhile(path: str) -> None:
        connection = sqlite3.connect(tmp_path / "opsbot.db", timeout=0)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
            written.append(path)
        except sqlite3.OperationalError as error:
            written.append(f"{path}: {error}")
        finally:
            connection.close()

    with fake_wechat(FrozenClock(MONDAY)) as fake:
        a_week_of_figures(fake)
        driver = configured(make_bot, fake)
        fake.on_request = write_meanwhile
        assert ("content", "kpi_sync", "2026-11-23T09:00") in Scheduler(driver.bot).tick().ran

    assert written and not [line for line in written if "locked" in line]
    assert sorted(stored(driver, "followers")) == WEEK


def test_doctor_checks_each_source_and_says_what_to_change(tmp_path: Path) -> None:
    with fake_wechat(FrozenClock(MONDAY)) as fake:
        config = tmp_path / "config.yaml"
        config.write_text(
            f"""storage: {{url: "sqlite:///{tmp_path / "opsbot.db"}"}}
teams:
  - id: content
    kpi_sources:
      - source: wechat
        app_id: {WECHAT_APP_ID}
        app_secret: {WECHAT_SECRET}
        base_url: "{fake.url}"
""",
            encoding="utf-8",
        )
        run = partial(subprocess.run, capture_output=True, text=True, timeout=60, check=False)
        env = {**os.environ, "OPSBOT_NOW": MONDAY.isoformat()}
        command = [sys.executable, "-m", "bot", "--config", str(config), "doctor"]

        healthy = run(command, env=env)
        fake.ip_whitelisted = False
        refused = run(command, env=env)

    assert f"✓ KPI 数据源 content · wechat：可以读取数据（AppID {WECHAT_APP_ID}）" in healthy.stdout
    assert healthy.returncode == 0, healthy.stdout
    assert refused.returncode == 1
    line = next(line for line in refused.stdout.splitlines() if "40164" in line)
    assert line.startswith("✗ 团队 content：KPI 数据源 wechat")
    assert "IP白名单 中加入 127.0.0.1" in line
