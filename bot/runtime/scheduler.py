"""What the bot posts on its own (SPEC §4), exactly once per team and period.

Every tick looks at each team's jobs, as the features declare them
(`handlers.registry.ALL_JOBS`):
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

What a tick costs does not grow with the teams but where there is work:
- The cron arithmetic is done once per schedule, not per team: teams with the same cron,
  zone, calendar and grace share one list of the runs in the tick's window (`_Plan`).
- The ledger is read once for a batch of teams (which of those runs it already has);
  only a run it lacks opens a transaction, to be claimed there.
- An event job whose `due` can also name, in one read, the teams that may have an
  occurrence (`SetBasedDue`) is asked about those teams only.
- Ticks started together (several `opsbot tick` processes on PostgreSQL) share the
  teams: a round cuts them into batches and each tick takes the next one left
  (`storage.ledger.join_round`); a tick that finds every batch taken has nothing to do.
  A round is over when its last batch is done, so ticks one after another each walk
  every team. Sharing only saves work: a team walked twice still runs each job once,
  because the ledger decides.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol, runtime_checkable

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.core.commands import Context
from bot.core.config import TeamSettings
from bot.core.jobs import Build, CronJob, EventJob, Occurrence
from bot.runtime.app import OpsBot
from bot.runtime.posting import post
from bot.vocab.cron import fire_times, means_workdays, parse_cron
from storage import inbound, ledger
from storage import outbox as outbox_store
from storage.db import snapshot, transaction

log = logging.getLogger(__name__)

SKIP_LOOKBACK = timedelta(days=1)
INBOUND_KEPT = timedelta(days=1)  # Slack retries for minutes, Feishu and WeCom for hours
SENT_KEPT = timedelta(days=30)
JUST_BEFORE = timedelta(seconds=1)  # a run at the very instant the team began is not missed
DEFERRAL_DAYS = 14  # the longest run of days off (Spring Festival) is shorter
# PostgreSQL: how many teams a tick takes at a time from the round it shares. SQLite
# admits one writer, so there a tick takes every team at once (one batch).
BATCH_TEAMS = 100
ROUND_WITHIN = timedelta(minutes=1)  # a tick joins a round begun this close to its time
ROUNDS_KEPT = timedelta(days=1)


@dataclass
class TickReport:
    ran: list[tuple[str, str, str]] = field(default_factory=list)  # (team, job, period)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)  # walked by this tick (the rest: others)


@runtime_checkable
class SetBasedDue(Protocol):
    """An event job's `due` that can also tell, in one read for many teams, which of
    them may have an occurrence at `now`: the scheduler calls `due` for those only."""

    def __call__(self, ctx: Context) -> list[Occurrence]: ...

    def teams_due(
        self, session: Session, teams: Sequence[TeamSettings], now: datetime
    ) -> set[str]: ...


@dataclass(frozen=True)
class _Run:
    """A cron job's run: when it fires, the day it is scheduled for, its ledger period."""

    fire: datetime
    scheduled: date
    period: str


@dataclass(frozen=True)
class _Plan:
    """A cron job's runs in one tick's window, shared by the teams of the same schedule:
    all of them, from `since`, and the one that is due (of the runs missed within the
    grace period only the latest goes out: a bot that was down for an hour posts one
    digest, not a backlog of them)."""

    job: str
    runs: tuple[_Run, ...]
    due: tuple[_Run, ...]
    since: datetime
    grace: timedelta

    def from_start(
        self, started: datetime, now: datetime
    ) -> tuple[tuple[_Run, ...], tuple[_Run, ...]]:
        """The runs and the due run of a team whose jobs began at `started`: nothing
        scheduled before the team's jobs began counts as missed (but a clock set back,
        as in a preview, knows no start)."""
        since = started - JUST_BEFORE
        if started > now or since <= self.since:  # most teams: every run of the window
            return self.runs, self.due
        runs = tuple(run for run in self.runs if run.fire > since)
        return runs, _latest_due(runs, now, self.grace)


class Scheduler:
    def __init__(self, bot: OpsBot, *, batch_teams: int | None = None) -> None:
        self.bot = bot
        self._started: dict[str, datetime] = {}
        self._plans: dict[tuple[object, ...], _Plan] = {}
        self._batch_teams = batch_teams

    def tick(self) -> TickReport:
        """Run every job that is due at the clock's time (and missed ones within grace)."""
        report = TickReport()
        now = self.bot.clock.now()
        self._plans = {}  # the runs in the window of this tick's `now`
        self._prune(now)
        teams = self.bot.settings.teams
        self._walk(teams, now, report)
        log.info(
            "tick at %s: %d of %d teams here, %d runs, %d skipped",
            now.isoformat(), len(report.teams), len(teams), len(report.ran), len(report.skipped),
        )  # fmt: skip
        return report

    def _prune(self, now: datetime) -> None:
        """Keep the tables that only grow small: deliveries past the platforms' retry
        window, outbox items delivered long ago, rounds of ticks that are over."""
        with transaction(self.bot.engine) as session:
            inbound.prune(session, before=now - INBOUND_KEPT)
            outbox_store.prune_sent(session, before=now - SENT_KEPT)
            ledger.prune_rounds(session, before=now - ROUNDS_KEPT)

    def _walk(self, teams: Sequence[TeamSettings], now: datetime, report: TickReport) -> None:
        """Tick this tick's share of the teams, a batch at a time.

        Each batch is taken from the round that ticks started together share, so that
        no two of them walk the same teams, and marked done once walked (or failed: the
        next tick sees to it). A part of the teams has the ledger read for its own only.
        """
        size = self._batch_teams or (
            BATCH_TEAMS if self.bot.engine.dialect.name == "postgresql" else len(teams)
        )
        size = max(size, 1)
        batches = max(-(-len(teams) // size), 1)
        teams_hash = hashlib.sha256("\n".join(team.id for team in teams).encode()).hexdigest()
        with transaction(self.bot.engine) as session:
            round_id = ledger.join_round(
                session, teams_hash=teams_hash, batches=batches, now=now, within=ROUND_WITHIN
            )
            number = ledger.take_batch(session, round_id=round_id, now=now)
        while number is not None:
            walked = False
            try:
                batch = teams[number * size : (number + 1) * size]
                self._tick_teams(batch, now, report, shared=batches > 1)
                walked = True
            finally:
                with transaction(self.bot.engine) as session:
                    ledger.finish_batch(session, round_id=round_id, now=now)
                    last = not walked or number == batches - 1
                    number = None if last else ledger.take_batch(session, round_id=round_id,
                                                                 now=now)  # fmt: skip

    def _tick_teams(
        self, teams: Sequence[TeamSettings], now: datetime, report: TickReport, *, shared: bool
    ) -> None:
        """Tick a batch of teams: decide on what the data says, read in a few statements
        for all of them, then claim and run each run the ledger does not have yet."""
        started = self._starts(teams, now)
        cron_jobs = [job for job in self.bot.jobs if isinstance(job, CronJob)]
        cron_runs: dict[tuple[str, str], tuple[_Run, ...]] = {}
        due_runs: dict[tuple[str, str], tuple[_Run, ...]] = {}
        for team in teams:
            for cron_job in cron_jobs:
                if not cron_job.applies(team):
                    cron_runs[(team.id, cron_job.name)] = due_runs[(team.id, cron_job.name)] = ()
                    continue
                plan = self._plan(team, cron_job, now)
                runs, due = plan.from_start(started[team.id], now)
                cron_runs[(team.id, cron_job.name)], due_runs[(team.id, cron_job.name)] = runs, due
        keys = {(plan.job, run.period) for plan in self._plans.values() for run in plan.runs}
        with snapshot(self.bot.engine) as session:
            team_ids = [team.id for team in teams] if shared else None
            recorded = ledger.recorded_runs(session, keys=keys, team_ids=team_ids)
            occurrences = self._occurrences(session, teams, now)
            recorded |= ledger.recorded_among(
                session,
                runs=[
                    (team_id, job, occurrence.period)
                    for (team_id, job), found in occurrences.items()
                    for occurrence in found
                ],
            )
        for team in teams:  # in the order of the jobs, as the features declare them
            for job in self.bot.jobs:
                if isinstance(job, CronJob):
                    due = due_runs[(team.id, job.name)]
                    for run in cron_runs[(team.id, job.name)]:
                        if (team.id, job.name, run.period) in recorded:
                            continue
                        recorded.add((team.id, job.name, run.period))
                        if run in due:
                            build = self._prepared(team, job, run.scheduled)
                            if build is not None:
                                self.run(team, job.name, run.period, build, now, report)
                        else:
                            self._skip(team, job.name, run.period, now, report)
                else:
                    for occurrence in occurrences.get((team.id, job.name), []):
                        if (team.id, job.name, occurrence.period) in recorded:
                            continue
                        recorded.add((team.id, job.name, occurrence.period))
                        self.run(team, job.name, occurrence.period, occurrence.build, now,
                                 report)  # fmt: skip
            report.teams.append(team.id)

    def _starts(self, teams: Sequence[TeamSettings], now: datetime) -> dict[str, datetime]:
        """When each team's jobs began (kept for the life of this scheduler)."""
        missing = [team.id for team in teams if team.id not in self._started]
        if missing:
            with transaction(self.bot.engine) as session:
                self._started.update(ledger.team_starts(session, team_ids=missing, now=now))
        return self._started

    # -- cron jobs ---------------------------------------------------------------------

    def _trigger(self, team: TeamSettings, job: CronJob) -> CronTrigger:
        expression = job.cron(team)
        fields = expression.split()
        if job.next_workday:
            # Every day at that time: which day carries a run is chosen below, so that a
            # monthly run on a 1st that is a day off still finds the next workday.
            fields[2] = fields[3] = fields[4] = "*"
        elif means_workdays(expression):
            fields[4] = "*"  # every day at that time; workdays are chosen below
        return parse_cron(" ".join(fields), team.zone)

    def _plan(self, team: TeamSettings, job: CronJob, now: datetime) -> _Plan:
        """The job's runs in (now - max(grace, a day), now] on the team's schedule:
        worked out once a tick for all the teams that share the schedule."""
        signature = (job.name, job.cron(team), team.timezone, team.calendar,
                     tuple(team.holidays), team.schedule.misfire_grace_minutes)  # fmt: skip
        plan = self._plans.get(signature)
        if plan is None:
            grace = timedelta(minutes=team.schedule.misfire_grace_minutes)
            since = now - max(grace, SKIP_LOOKBACK)
            fires = fire_times(self._trigger(team, job), since, now)
            days = self._days_carried(team, job, sorted({fire.date() for fire in fires}))
            runs = tuple(
                _Run(fire, scheduled, job.period(scheduled, fire))
                for fire in fires
                for scheduled in days[fire.date()]
            )
            due = _latest_due(runs, now, grace)
            plan = self._plans[signature] = _Plan(job.name, runs, due, since, grace)
        return plan

    def _scheduled_days(self, team: TeamSettings, job: CronJob, day: date) -> list[date]:
        """The scheduled days whose run falls on `day`.

        Usually `day` itself (or nothing, on a day off). A `next_workday` job is the
        exception: when its day is a day off it moves to the next workday, so a run on a
        Tuesday after a holiday Monday carries the run scheduled for that Monday.
        """
        return self._days_carried(team, job, [day])[day]

    def _days_carried(
        self, team: TeamSettings, job: CronJob, days: Sequence[date]
    ) -> dict[date, list[date]]:
        """`_scheduled_days` of each of `days`, with one pass of the cron arithmetic
        over all of them (not one per day and day looked back)."""
        expression = job.cron(team)
        if not job.next_workday:
            workdays_only = means_workdays(expression)
            return {
                day: [] if workdays_only and not team.is_workday(day) else [day] for day in days
            }
        carried: dict[date, list[date]] = {day: [] for day in days}
        if not days:
            return carried
        first, last = min(days) - timedelta(days=DEFERRAL_DAYS), max(days)
        start, end = (
            datetime.combine(midnight, time(0), tzinfo=team.zone) - JUST_BEFORE
            for midnight in (first, last + timedelta(days=1))
        )
        scheduled = {fire.date() for fire in fire_times(parse_cron(expression, team.zone),
                                                        start, end)}  # fmt: skip
        for day in days:
            if not team.is_workday(day):
                continue
            for back in range(DEFERRAL_DAYS, -1, -1):
                candidate = day - timedelta(days=back)
                if candidate not in scheduled:
                    continue
                first_workday = candidate
                while not team.is_workday(first_workday):
                    first_workday += timedelta(days=1)
                if first_workday == day:
                    carried[day].append(candidate)
        return carried

    # -- event jobs --------------------------------------------------------------------

    def _occurrences(
        self, session: Session, teams: Sequence[TeamSettings], now: datetime
    ) -> dict[tuple[str, str], list[Occurrence]]:
        """What each event job has to post about, per (team, job): asked of the teams a
        set-based job names, or of every team."""
        found: dict[tuple[str, str], list[Occurrence]] = {}
        for job in self.bot.jobs:
            if not isinstance(job, EventJob):
                continue
            asked = teams
            if isinstance(job.due, SetBasedDue):
                named = job.due.teams_due(session, teams, now)
                asked = [team for team in teams if team.id in named]
            for team in asked:
                try:
                    occurrences = job.due(self.bot.system_context(session, team))
                except SQLAlchemyError:
                    raise  # the database is in trouble: this tick is over
                except Exception:  # a bug in one job must not keep the batch's runs back
                    log.exception("%s %s: what is due could not be worked out; it will be "
                                  "tried again", team.id, job.name)  # fmt: skip
                    continue
                if occurrences:
                    found[(team.id, job.name)] = occurrences
        return found

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

    def _prepared(self, team: TeamSettings, job: CronJob, scheduled: date) -> Build | None:
        """The run's build, after the job's `prepare` (if any) did its remote work on a
        read-only snapshot; None when that failed (logged; the next tick tries again)."""
        if job.prepare is None:
            return _on_day(job, scheduled)
        try:
            with snapshot(self.bot.engine) as session:
                return job.prepare(self.bot.system_context(session, team), scheduled)
        except Exception:
            log.exception("%s %s: preparing the run failed; it will be tried again",
                          team.id, job.name)  # fmt: skip
            return None

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


def _latest_due(runs: tuple[_Run, ...], now: datetime, grace: timedelta) -> tuple[_Run, ...]:
    return tuple(run for run in runs if run.fire >= now - grace)[-1:]


def _on_day(job: CronJob, day: date) -> Build:
    """The job's build for one scheduled day."""
    return lambda ctx: job.build(ctx, day)
