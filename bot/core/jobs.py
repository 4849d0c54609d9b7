"""How a feature declares what the bot posts on its own.

A feature module declares its jobs next to its commands (`handlers/digest.py` declares
the morning digest); `handlers/registry.py` lists them, and the runtime's scheduler runs
what is declared, exactly once per team and period, without knowing any job by name.

Two kinds:
- `CronJob`: on a cron expression from the team's settings (the digest, the stand-up
  prompt, the weekly summary). `build` gets the scheduled day.
- `EventJob`: due when the data says so (a publish reminder two hours before a post, a
  hot topic's deadline near). `due` lists the occurrences, each with its own period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.core.commands import Context
from bot.core.config import TeamSettings
from bot.core.messages import Reply

TEAM = "team"


def member_target(member_id: str) -> str:
    """The target of a direct message to one member."""
    return f"member:{member_id}"


@dataclass(frozen=True)
class Outgoing:
    """One post a job makes: to the team's channel (`team`) or to `member:<id>`."""

    target: str
    reply: Reply


Build = Callable[[Context], list[Outgoing]]


def wall_clock_period(scheduled: date, fire: datetime) -> str:
    """A run's period is its wall-clock time (`2026-11-23T09:00`): a repeated hour at a
    daylight-saving change still names one period, so the job runs once."""
    return fire.replace(tzinfo=None).isoformat(timespec="minutes")


@dataclass(frozen=True)
class CronJob:
    """A job on a cron expression of the team's settings.

    `cron` reads the expression from the team; a day-of-week of `1-5` means workdays (the
    team's calendar decides). With `next_workday`, a run whose day is a day off moves to
    the next workday instead of being dropped, and any day-of-week is honoured as given.
    `period` names a run for the ledger (by default its wall-clock time).
    """

    name: str
    cron: Callable[[TeamSettings], str]
    build: Callable[[Context, date], list[Outgoing]]
    period: Callable[[date, datetime], str] = wall_clock_period
    next_workday: bool = False
    # Whether the team has the job at all (the KPI sync: only teams with sources); a
    # team without it has no runs, so nothing is claimed in the ledger for it.
    applies: Callable[[TeamSettings], bool] = lambda team: True
    # What a run does before its transaction opens, so that no database lock is held
    # while a remote API answers (the KPI sync): given a read-only context and the
    # scheduled day, it returns the build that the run's transaction then runs. `build`
    # stays the whole run in one go, for callers that run a job outside the scheduler.
    prepare: Callable[[Context, date], Build] | None = None


@dataclass(frozen=True)
class Occurrence:
    """One thing an event job should post about, once: `period` is its ledger key."""

    period: str
    build: Build


@dataclass(frozen=True)
class EventJob:
    """A job that is due when the data says so; `due` reads and lists the occurrences."""

    name: str
    due: Callable[[Context], list[Occurrence]]


Job = CronJob | EventJob
