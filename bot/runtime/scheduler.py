"""What the bot posts on its own (SPEC §4), exactly once per team and period.

Every tick looks at each team's jobs: the cron jobs (digest, stand-up prompt and
reminder, weekly summary) and the event jobs (publish reminders, hot-topic alerts). A
run is recorded in the `job_runs` ledger under a unique (team, job, period) in the same
transaction that writes its messages to the outbox, so several processes ticking at the
same instant, or a restart, never post twice. APScheduler only provides the cron
arithmetic and, in `opsbot run`, the clock that calls `tick`; its job store is not
shared between processes (see its FAQ), the ledger is.

Decisions, per job:
- A cron whose day-of-week is `1-5` means workdays: with `calendar: CN` a make-up
  Saturday counts and a holiday Monday does not. Configured holidays are days off.
- The weekly summary covers the ISO week before its scheduled day; when that day is a
  day off, it goes out at the same time on the next workday.
- A run missed while the bot was down goes out if it is within `misfire_grace_minutes`,
  else it is recorded as skipped and logged.
- Daylight saving: a wall-clock time skipped by the change runs at the first instant
  after it; a repeated time runs once (the period key is the wall-clock time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.core.commands import Context
from bot.core.config import TeamSettings
from bot.core.messages import Reply, reply_to_dict
from bot.runtime.app import OpsBot
from bot.vocab.cron import fire_times, means_workdays, parse_cron
from bot.vocab.workdays import is_workday
from handlers.digest import digest_reply
from handlers.publish_reminders import reminders_due, render_publish_reminder
from handlers.standup import standup_missing, standup_prompt_recipients
from handlers.summary import previous_week_start, weekly_summary_reply
from storage import ledger
from storage import members as member_store
from storage import outbox as outbox_store
from storage import posts as post_store
from storage import standups as standup_store
from storage import topics as topic_store
from storage.db import transaction

log = logging.getLogger(__name__)

HOT_ALERT_LEAD = timedelta(hours=1)
SKIP_LOOKBACK = timedelta(days=1)
WEEKLY_DEFERRAL_DAYS = 14  # the longest run of days off (Spring Festival) is shorter
CONSOLE = "console"


@dataclass(frozen=True)
class Outgoing:
    target: str  # "team" or "member:<id>"
    reply: Reply


@dataclass
class TickReport:
    ran: list[tuple[str, str, str]] = field(default_factory=list)  # (team, job, period)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


Build = Callable[[Context], list[Outgoing]]


def delivery_platforms(bot: OpsBot, team: TeamSettings) -> list[str]:
    """Where a team's posts go: each configured chat platform the team has a channel on,
    or the console when no chat platform is configured."""
    enabled = [
        name
        for name in bot.settings.platforms.enabled()
        if name in team.channels or name == "wecom"  # WeCom's default channel is the robot
    ]
    return enabled or [CONSOLE]


class Scheduler:
    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot

    # -- the jobs ---------------------------------------------------------------------

    def _digest(self, day: date) -> Build:
        return lambda ctx: [Outgoing("team", digest_reply(ctx, day))]

    def _weekly_summary(self, day: date) -> Build:
        def build(ctx: Context) -> list[Outgoing]:
            reply = weekly_summary_reply(
                ctx.session, team=ctx.team, week_start=previous_week_start(day), now=ctx.now(),
                t=ctx.t, platforms=ctx.platforms,
            )  # fmt: skip
            return [Outgoing("team", reply)]

        return build

    def _standup_prompt(self, day: date) -> Build:
        def build(ctx: Context) -> list[Outgoing]:
            members = member_store.list_members(ctx.session, team_id=ctx.team.id)
            names = {m.id: m.name for m in members}
            recipients = standup_prompt_recipients(members, now=ctx.now(), zone=ctx.team.zone)
            return [
                Outgoing(f"member:{m}", Reply(ctx.t("scheduler.standup_prompt", name=names[m])))
                for m in recipients
            ]

        return build

    def _standup_reminder(self, day: date) -> Build:
        def build(ctx: Context) -> list[Outgoing]:
            members = member_store.list_members(ctx.session, team_id=ctx.team.id)
            names = {m.id: m.name for m in members}
            answers = standup_store.standups_for_day(ctx.session, team_id=ctx.team.id, day=day)
            missing = standup_missing(members, answers, now=ctx.now(), zone=ctx.team.zone)
            return [
                Outgoing(f"member:{m}", Reply(ctx.t("scheduler.standup_reminder", name=names[m])))
                for m in missing
            ]

        return build

    def _cron_jobs(self, team: TeamSettings) -> list[tuple[str, str, Callable[[date], Build]]]:
        schedule = team.schedule
        return [
            ("digest", schedule.digest, self._digest),
            ("standup_prompt", schedule.standup_prompt, self._standup_prompt),
            ("standup_reminder", schedule.standup_reminder, self._standup_reminder),
            ("weekly_summary", schedule.weekly_summary, self._weekly_summary),
        ]

    # -- the tick -----------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Run every job that is due at the clock's time (and missed ones within grace)."""
        report = TickReport()
        now = self.bot.clock.now()
        for team in self.bot.settings.teams:
            for job, expression, make in self._cron_jobs(team):
                self._tick_cron(team, job, expression, make, now, report)
            self._publish_reminders(team, now, report)
            self._hot_topic_alerts(team, now, report)
        return report

    def _trigger(self, team: TeamSettings, expression: str, job: str) -> CronTrigger:
        fields = expression.split()
        if means_workdays(expression) or job == "weekly_summary":
            fields[4] = "*"  # every day at that time; workdays are chosen below
        return parse_cron(" ".join(fields), team.zone)

    def _scheduled_days(
        self, team: TeamSettings, job: str, expression: str, day: date
    ) -> list[date]:
        """The scheduled days whose run falls on `day`.

        Usually `day` itself (or nothing, on a day off). The weekly summary is the
        exception: when its day is a day off it moves to the next workday, so a run on a
        Tuesday after a holiday Monday carries the summary scheduled for that Monday.
        """
        if job != "weekly_summary":
            if means_workdays(expression) and not is_workday(team, day):
                return []
            return [day]
        if not is_workday(team, day):
            return []
        scheduled = parse_cron(expression, team.zone)
        days = []
        for back in range(WEEKLY_DEFERRAL_DAYS, -1, -1):
            candidate = day - timedelta(days=back)
            if not _fires_on(scheduled, candidate, team):
                continue
            first_workday = candidate
            while not is_workday(team, first_workday):
                first_workday += timedelta(days=1)
            if first_workday == day:
                days.append(candidate)
        return days

    def _tick_cron(
        self, team: TeamSettings, job: str, expression: str, make: Callable[[date], Build],
        now: datetime, report: TickReport,
    ) -> None:  # fmt: skip
        grace = timedelta(minutes=team.schedule.misfire_grace_minutes)
        trigger = self._trigger(team, expression, job)
        for fire in fire_times(trigger, now - max(grace, SKIP_LOOKBACK), now):
            for scheduled in self._scheduled_days(team, job, expression, fire.date()):
                if job == "weekly_summary":  # the period is the week it covers
                    year, week, _ = previous_week_start(scheduled).isocalendar()
                    key = f"{year}-W{week:02d}"
                else:
                    key = fire.replace(tzinfo=None).isoformat(timespec="minutes")
                if fire < now - grace:
                    self._skip(team, job, key, now, report)
                else:
                    self._run(team, job, key, make(scheduled), now, report)

    def _skip(
        self, team: TeamSettings, job: str, period: str, now: datetime, report: TickReport
    ) -> None:
        with transaction(self.bot.engine) as session:
            if ledger.claim_run(
                session, team_id=team.id, job=job, period=period, now=now, status="skipped"
            ):
                log.warning(
                    "%s %s for %s was missed beyond the grace period and is skipped",
                    team.id,
                    job,
                    period,
                )
                report.skipped.append((team.id, job, period))

    def _run(
        self,
        team: TeamSettings,
        job: str,
        period: str,
        build: Build,
        now: datetime,
        report: TickReport,
    ) -> bool:
        try:
            with transaction(self.bot.engine) as session:
                if not ledger.claim_run(session, team_id=team.id, job=job, period=period, now=now):
                    return False
                ctx = self.bot.system_context(session, team)
                for outgoing in build(ctx):
                    for platform in delivery_platforms(self.bot, team):
                        key = f"{team.id}:{job}:{period}:{platform}:{outgoing.target}"
                        outbox_store.enqueue(
                            session, team_id=team.id, key=key, platform=platform,
                            target=outgoing.target, kind=job,
                            payload=reply_to_dict(outgoing.reply), now=now,
                        )  # fmt: skip
        except Exception:
            log.exception("%s %s for %s failed; it will be tried again", team.id, job, period)
            return False
        report.ran.append((team.id, job, period))
        return True

    def _publish_reminders(self, team: TeamSettings, now: datetime, report: TickReport) -> None:
        lead = timedelta(minutes=team.schedule.publish_reminder_minutes)
        with transaction(self.bot.engine) as session:
            posts = post_store.posts_between(
                session, team_id=team.id, start=now, end=now + lead + timedelta(seconds=1)
            )
            members = member_store.list_members(session, team_id=team.id)
        by_id = {post.id: post for post in posts}
        names = {m.id: m.name for m in members}
        for reminder in reminders_due(posts, members, now=now, lead=lead):
            post = by_id[reminder.post_id]

            def build(ctx: Context, reminder=reminder, post=post) -> list[Outgoing]:  # type: ignore[no-untyped-def]
                reply = render_publish_reminder(
                    reminder,
                    post,
                    t=ctx.t,
                    platforms=ctx.platforms,
                    zone=ctx.team.zone,
                    names=names,
                )
                return [Outgoing(f"member:{reminder.recipient}", reply)]

            self._run(team, "publish_reminder", reminder.period, build, now, report)

    def _hot_topic_alerts(self, team: TeamSettings, now: datetime, report: TickReport) -> None:
        with transaction(self.bot.engine) as session:
            topics = [
                t for t in topic_store.list_topics(session, team_id=team.id, statuses=("idea",))
                if t.hot and t.deadline is not None and now < t.deadline <= now + HOT_ALERT_LEAD
            ]  # fmt: skip
        for topic in topics:

            def build(ctx: Context, topic=topic) -> list[Outgoing]:  # type: ignore[no-untyped-def]
                text = ctx.t(
                    "scheduler.hot_alert", id=topic.id, title=topic.title,
                    deadline=ctx.local(topic.deadline).strftime("%H:%M"),
                )  # fmt: skip
                return [Outgoing("team", Reply(text))]

            self._run(team, "hot_topic_alert", f"topic-{topic.id}", build, now, report)


def _fires_on(trigger: CronTrigger, day: date, team: TeamSettings) -> bool:
    start = datetime.combine(day, datetime.min.time(), tzinfo=team.zone) - timedelta(seconds=1)
    end = datetime.combine(
        day + timedelta(days=1), datetime.min.time(), tzinfo=team.zone
    ) - timedelta(seconds=1)
    return bool(fire_times(trigger, start, end))
