"""What the bot posts on its own: on time, on workdays, exactly once, through the outbox."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from bot.core.outbound import OutgoingMessage
from bot.core.render.text import render_text
from bot.runtime.delivery import deliver_due
from bot.runtime.scheduler import Scheduler
from tests.conftest import BotDriver, BotFactory


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)

    def kinds(self) -> list[tuple[str, str]]:
        return [(message.kind, message.target) for message in self.sent]

    def to_team(self) -> list[str]:
        """What went to the team's channel (each member's own lines go by DM besides)."""
        return [message.kind for message in self.sent if message.target == "team"]


def tick(bot: BotDriver, when: str | None = None) -> RecordingSender:
    if when is not None:
        bot.clock.set(datetime.fromisoformat(when))
    Scheduler(bot.bot).tick()
    sender = RecordingSender()
    deliver_due(bot.bot.engine, {"console": sender}, bot.clock)
    return sender


def runs(bot: BotDriver, job: str | None = None) -> list[tuple[str, str, str]]:
    return [
        (row["job"], row["period"], row["status"])
        for row in bot.export()["job_runs"]
        if job is None or row["job"] == job
    ]


@pytest.fixture
def quiet_bot(make_bot: BotFactory) -> BotDriver:
    """Only the digest is scheduled at a time that matters here."""
    return make_bot(
        now=datetime.fromisoformat("2026-11-23T08:00:00+08:00"),
        team={"schedule": {"standup_prompt": "0 23 * * *", "standup_reminder": "5 23 * * *",
                           "weekly_summary": "10 23 * * 0"}},
    )  # fmt: skip


def test_the_digest_goes_out_once_at_its_time(quiet_bot: BotDriver) -> None:
    quiet_bot.send("/publish add 冬季护肤指南 p:wechat 今天 20:00 @bob")

    assert tick(quiet_bot, "2026-11-23T08:59:00+08:00").sent == []
    first = tick(quiet_bot, "2026-11-23T09:00:00+08:00")
    assert first.kinds() == [("digest", "team")]
    assert render_text(first.sent[0].reply).startswith(
        "☀️ 内容组 · 11月23日 周一 早报\n📅 今日发布 (1)"
    )
    assert tick(quiet_bot, "2026-11-23T09:01:00+08:00").sent == []
    assert tick(quiet_bot).sent == []
    assert runs(quiet_bot, "digest") == [("digest", "2026-11-23T09:00", "done")]
    assert [(o["kind"], o["status"]) for o in quiet_bot.export()["outbox"]] == [("digest", "sent")]


def test_a_make_up_saturday_gets_the_digest_and_a_holiday_monday_does_not(
    quiet_bot: BotDriver,
) -> None:
    assert tick(quiet_bot, "2026-02-14T09:00:00+08:00").kinds() == [("digest", "team")]  # 调休
    assert tick(quiet_bot, "2026-02-16T09:00:00+08:00").kinds() == []  # Spring Festival
    assert tick(quiet_bot, "2026-02-21T09:00:00+08:00").kinds() == []  # an ordinary Saturday off
    assert [period for _, period, _ in runs(quiet_bot, "digest")] == ["2026-02-14T09:00"]


def test_a_missed_run_goes_out_within_the_grace_period(quiet_bot: BotDriver) -> None:
    tick(quiet_bot, "2026-11-22T20:00:00+08:00")  # the bot ran yesterday evening
    # The bot was down at 09:00 and comes back at 09:55 (grace: 60 minutes).
    assert tick(quiet_bot, "2026-11-23T09:55:00+08:00").kinds() == [("digest", "team")]


def test_a_run_missed_beyond_the_grace_period_is_skipped_and_logged(
    quiet_bot: BotDriver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    tick(quiet_bot, "2026-11-22T20:00:00+08:00")  # the bot ran yesterday evening
    assert tick(quiet_bot, "2026-11-23T10:30:00+08:00").sent == []
    assert runs(quiet_bot, "digest") == [("digest", "2026-11-23T09:00", "skipped")]
    assert "missed (the bot was not running)" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # not an alarm
    caplog.clear()
    tick(quiet_bot, "2026-11-23T10:31:00+08:00")
    assert "missed" not in caplog.text  # logged once


def test_a_new_teams_first_tick_misses_nothing_and_warns_of_nothing(
    make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A team that did not exist a second ago had no digest at 09:00 to miss."""
    caplog.set_level(logging.INFO)
    bot = make_bot(now=datetime.fromisoformat("2026-11-23T10:30:00+08:00"))  # a new database

    assert tick(bot).sent == []
    assert runs(bot) == []  # nothing skipped: there was nothing to skip
    assert "missed" not in caplog.text


def test_after_a_long_outage_only_the_latest_run_of_a_job_goes_out(make_bot: BotFactory) -> None:
    bot = make_bot(team={"schedule": {"digest": "* * * * *", "misfire_grace_minutes": 60}})
    tick(bot, "2026-11-22T08:00:00+08:00")  # the bot ran yesterday morning
    sent = tick(bot, "2026-11-23T09:00:00+08:00")  # and comes back a day later

    assert sent.kinds().count(("digest", "team")) == 1  # not 60 catch-up digests
    today = [run for run in runs(bot, "digest") if run[1].startswith("2026-11-23")]
    assert today[-1] == ("digest", "2026-11-23T09:00", "done")
    assert {status for _, _, status in today[:-1]} == {"skipped"}


def test_daylight_saving_in_new_york(make_bot: BotFactory) -> None:
    bot = make_bot(
        locale="en",
        now=datetime.fromisoformat("2026-10-31T12:00:00-04:00"),
        team={"timezone": "America/New_York", "calendar": "none",
              "schedule": {"digest": "30 1 * * *", "standup_prompt": "30 2 * * *",
                           "standup_reminder": "0 23 * * *", "weekly_summary": "10 23 * * 0"}},
    )  # fmt: skip
    # Autumn: 01:30 happens twice on 1 November; the digest goes out once.
    sent = []
    instant = datetime.fromisoformat("2026-11-01T00:00:00-04:00")
    while instant < datetime.fromisoformat("2026-11-01T03:00:00-05:00"):
        sent += tick(bot, instant.isoformat()).kinds()
        instant += timedelta(minutes=10)
    assert sent.count(("digest", "team")) == 1
    # Spring: 02:30 does not exist on 8 March; the prompt runs at the first instant after.
    assert ("standup_prompt", "member:alice") not in tick(bot, "2026-03-08T01:59:00-05:00").kinds()
    assert ("standup_prompt", "member:alice") in tick(bot, "2026-03-08T03:30:00-04:00").kinds()
    assert [p for _, p, s in runs(bot, "standup_prompt") if p.startswith("2026-03-08")] == [
        "2026-03-08T02:30"
    ]


def test_the_weekly_summary_after_a_holiday_monday_goes_out_on_the_next_workday(
    make_bot: BotFactory,
) -> None:
    bot = make_bot(
        now=datetime.fromisoformat("2026-09-28T08:00:00+08:00"),
        team={"schedule": {"digest": "0 23 * * *", "standup_prompt": "1 23 * * *",
                           "standup_reminder": "2 23 * * *"}},
    )  # fmt: skip
    # National Day: Thursday 1 to Wednesday 7 October 2026 are days off.
    assert tick(bot, "2026-09-28T09:30:00+08:00").to_team() == ["weekly_summary"]
    assert tick(bot, "2026-10-05T09:30:00+08:00").kinds() == []  # holiday Monday
    assert tick(bot, "2026-10-08T09:30:00+08:00").to_team() == ["weekly_summary"]
    assert tick(bot, "2026-10-09T09:30:00+08:00").kinds() == []
    assert [period for _, period, _ in runs(bot, "weekly_summary")] == ["2026-W39", "2026-W40"]


def test_stand_up_prompt_and_reminder_reach_the_right_people(make_bot: BotFactory) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-23T08:00:00+08:00"))
    bot.send("/team away @carol 11-23 11-24")

    prompt = tick(bot, "2026-11-23T09:30:00+08:00")
    assert ("standup_prompt", "member:carol") not in prompt.kinds()
    assert {t for k, t in prompt.kinds() if k == "standup_prompt"} == {
        "member:alice",
        "member:bob",
        "member:dave",
    }
    prompts = [m for m in prompt.sent if m.kind == "standup_prompt"]
    assert prompts[0].reply.title == "🧍 早上好，Alice！今天的站会"
    assert prompts[0].reply.sections[0].lines[0] == "昨天做了什么？"  # the first question
    assert [button.command for button in prompts[0].reply.buttons] == ["/standup form"]
    bot.send("@bob /standup today: 剪视频")
    reminder = tick(bot, "2026-11-23T11:00:00+08:00")
    assert reminder.kinds() == [
        ("standup_reminder", "member:alice"),
        ("standup_reminder", "member:dave"),
    ]


def test_publish_reminders_and_hot_topic_alerts(quiet_bot: BotDriver) -> None:
    quiet_bot.clock.set(datetime.fromisoformat("2026-11-23T10:00:00+08:00"))
    quiet_bot.send("@dave /publish add 冬季护肤指南 p:wechat 今天 20:00 @carol")
    quiet_bot.send("/topic hot 双十一战报")

    assert tick(quiet_bot, "2026-11-23T12:59:00+08:00").kinds() == []
    alert = tick(quiet_bot, "2026-11-23T13:00:00+08:00")
    assert alert.kinds() == [("hot_topic_alert", "team")]
    assert alert.sent[0].reply.title.startswith("🔥 热点 #1「双十一战报」14:00 截止")
    assert tick(quiet_bot, "2026-11-23T17:59:00+08:00").kinds() == []
    reminders = tick(quiet_bot, "2026-11-23T18:00:00+08:00")
    assert reminders.kinds() == [
        ("publish_reminder", "member:dave"),
        ("publish_reminder", "member:carol"),
    ]
    assert tick(quiet_bot, "2026-11-23T18:30:00+08:00").kinds() == []
    quiet_bot.send("@dave /publish confirm 1")
    quiet_bot.send(
        "/publish move 1 今天 21:00"
    )  # clears confirmations; reminded again? once per post
    assert tick(quiet_bot, "2026-11-23T19:30:00+08:00").kinds() == []


def test_digest_on_demand(quiet_bot: BotDriver) -> None:
    assert quiet_bot.send("/日报").startswith("☀️ 内容组 · 11月23日 周一 早报")
    assert quiet_bot.send("/digest 明天").startswith("☀️ 内容组 · 11月24日 周二 早报")
    assert runs(quiet_bot) == []  # looking is not posting
