"""What the bot posts on its own (SPEC §4), exactly once per team and period.

Every tick looks at each team's jobs, as the features declare them (`handlers.ALL_JOBS`):
cron jobs (the digest, the stand-up prompt, the weekly summary …) and event jobs
(publish reminders, hot-topic alerts). The scheduler knows no job by name. A run is
recorded in the `job_runs` ledger under a unique (team, job, period) in the same
transaction that writes its messages to the outbox, so several processes ticking at the
same instant, or a restart, never post twice. APScheduler only provides the cron
arithmetic and, in `opsbot run`, the clock that calls `tick`; its job store is not
shared between processes (see its FAQ), the ledger is.

Decisions, per job:
- A cron whose day-of-week is `1-5` means workdays: with `calendar: CN` a make-up
  Saturday counts and a holiday Monday does not. Configured holidays are days off.
- A job declared `next_workday` (the weekly summary) whose day is a day off goes out at
  the same time on the next workday.
- A run missed while the bot was down goes out if it is within `misfire_grace_minutes`,
  else it is recorded as skipped and logged.
- Daylight saving: a wall-clock time skipped by the change runs at the first instant
  after it; a repeated time runs once (the period key is the wall-clock time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.core.config import TeamSettings
from bot.core.jobs import Build, CronJob, EventJob
from bot.runtime.app import OpsBot
from bot.runtime.posting import post
from bot.vocab.cron import fire_times, means_workdays, parse_cron
from storage import inbound, ledger
from storage import outbox as outbox_store
from storage.db import transaction

log = logging.getLogger(__name__)

SKIP_LOOKBACK = timedelta(days=1)
INBOUND_KEPT = timedelta(days=1)  # Slack retries for minutes, Feishu and WeCom for hours
SENT_KEPT = timedelta(days=30)
JUST_BEFORE = timedelta(seconds=1)  # a run at the very instant the team began is not missed
DEFERRAL_DAYS = 14  # the longest run of days off (Spring Festival) is shorter


@dataclass
class TickReport:
    ran: list[tuple[str, str, str]] = field(default_factory=list)  # (team, job, period)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


class Scheduler:
    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        self._started: dict[str, datetime] = {}

    def _started_at(self, team: TeamSettings, now: datetime) -> datetime:
        if team.id not in self._started:
            with transaction(self.bot.engine) as session:
                self._started[team.id] = ledger.team_started_at(session, team_id=team.id, now=now)
        return self._started[team.id]

    def tick(self) -> TickReport:
        """Run every job that is due at the clock's time (and missed ones within grace)."""
        report = TickReport()
        now = self.bot.clock.now()
        self._prune(now)
        for team in self.bot.settings.teams:
            for job in self.bot.jobs:
                if isinstance(job, CronJob):
                    self._tick_cron(team, job, now, report)
                else:
                    self._tick_event(team, job, now, report)
        return report

    def _prune(self, now: datetime) -> None:
        """Keep the tables that only grow small: deliveries past the platforms' retry
        window, and outbox items delivered long ago."""
        with transaction(self.bot.engine) as session:
            inbound.prune(session, before=now - INBOUND_KEPT)
            outbox_store.prune_sent(session, before=now - SENT_KEPT)

    # -- cron jobs ---------------------------------------------------------------------

    def _trigger(self, team: TeamSettings, job: CronJob) -> CronTrigger:
        expression = job.cron(team)
        fields = expression.split()
        if means_workdays(expression) or job.next_workday:
            fields[4] = "*"  # every day at that time; workdays are chosen below
        return parse_cron(" ".join(fields), team.zone)

    def _scheduled_days(self, team: TeamSettings, job: CronJob, day: date) -> list[date]:
        """The scheduled days whose run falls on `day`.

        Usually `day` itself (or nothing, on a day off). A `next_workday` job is the
        exception: when its day is a day off it moves to the next workday, so a run on a
        Tuesday after a holiday Monday carries the run scheduled for that Monday.
        """
        expression = job.cron(team)
        if not job.next_workday:
            if means_workdays(expression) and not team.is_workday(day):
                return []
            return [day]
        if not team.is_workday(day):
            return []
        scheduled = parse_cron(expression, team.zone)
        days = []
        for back in range(DEFERRAL_DAYS, -1, -1):
            candidate = day - timedelta(days=back)
            if not _fires_on(scheduled, candidate, team):
                continue
            first_workday = candidate
            while not team.is_workday(first_workday):
                first_workday += timedelta(days=1)
            if first_workday == day:
                days.append(candidate)
        return days

    def _tick_cron(
        self, team: TeamSettings, job: CronJob, now: datetime, report: TickReport
    ) -> None:
        grace = timedelta(minutes=team.schedule.misfire_grace_minutes)
        trigger = self._trigger(team, job)
        # Nothing scheduled before the team's jobs began counts as missed.
        since = now - max(grace, SKIP_LOOKBACK)
        started = self._started_at(team, now)
        if started <= now:  # (a clock set back, as in a preview, knows no start)
            since = max(since, started - JUST_BEFORE)
        runs = [
            (fire, scheduled)
            for fire in fire_times(trigger, since, now)
            for scheduled in self._scheduled_days(team, job, fire.date())
        ]
        # Of the runs missed within the grace period only the latest goes out: a bot that
        # was down for an hour posts one digest, not a backlog of them.
        due = [run for run in runs if run[0] >= now - grace][-1:]
        for fire, scheduled in runs:
            period = job.period(scheduled, fire)
            if (fire, scheduled) in due:
                self.run(team, job.name, period, _on_day(job, scheduled), now, report)
            else:
                self._skip(team, job.name, period, now, report)

    # -- event jobs --------------------------------------------------------------------

    def _tick_event(
        self, team: TeamSettings, job: EventJob, now: datetime, report: TickReport
    ) -> None:
        with transaction(self.bot.engine) as session:
            occurrences = job.due(self.bot.system_context(session, team))
        for occurrence in occurrences:
            self.run(team, job.name, occurrence.period, occurrence.build, now, report)

    # -- running once ------------------------------------------------------------------

    def _skip(
        self, team: TeamSettings, job: str, period: str, now: datetime, report: TickReport
    ) -> None:
        with transaction(self.bot.engine) as session:
            if ledger.claim_run(
                session, team_id=team.id, job=job, period=period, now=now, status="skipped"
            ):
                log.info(  # the bot was down: worth a line, not an alarm
                    "%s %s for %s was missed (the bot was not running) and is skipped",
                    team.id, job, period,
                )  # fmt: skip
                report.skipped.append((team.id, job, period))

    def run(
        self,
        team: TeamSettings,
        job: str,
        period: str,
        build: Build,
        now: datetime,
        report: TickReport | None = None,
    ) -> bool:
        """Claim (team, job, period) and post what `build` makes, in one transaction;
        False when the period was claimed before (or the run failed, to be tried again)."""
        try:
            with transaction(self.bot.engine) as session:
                if not ledger.claim_run(session, team_id=team.id, job=job, period=period, now=now):
                    return False
                outgoing = build(self.bot.system_context(session, team))
                post(session, self.bot.settings, team, job=job, period=period, outgoing=outgoing,
                     now=now)  # fmt: skip
        except Exception:
            log.exception("%s %s for %s failed; it will be tried again", team.id, job, period)
            return False
        if report is not None:
            report.ran.append((team.id, job, period))
        return True


def _on_day(job: CronJob, day: date) -> Build:
    """The job's build for one scheduled day."""
    return lambda ctx: job.build(ctx, day)


def _fires_on(trigger: CronTrigger, day: date, team: TeamSettings) -> bool:
    start = datetime.combine(day, datetime.min.time(), tzinfo=team.zone) - timedelta(seconds=1)
    end = datetime.combine(
        day + timedelta(days=1), datetime.min.time(), tzinfo=team.zone
    ) - timedelta(seconds=1)
    return bool(fire_times(trigger, start, end))
