"""Crontab expressions from the config, with their standard meaning, as APScheduler triggers.

Crontab counts the day of the week from 0 = Sunday (7 is Sunday too); APScheduler 3
counts from 0 = Monday and `CronTrigger.from_crontab` passes the numbers through, so
`1-5` would mean Tuesday–Saturday. This module translates day numbers into names
(`mon-fri`) before APScheduler sees them.

An expression is parsed once per time zone (`parse_cron` keeps what it built): a config
of ten thousand teams on the default schedule has four triggers, not forty thousand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
WEEKDAYS_FIELDS = {"1-5", "mon-fri"}
MAX_FIRE_TIMES = 10_000


class CronError(ValueError):
    pass


def _day_number(text: str) -> int:
    text = text.strip().lower()
    if text in DAY_NAMES:
        return DAY_NAMES.index(text)
    if not text.isdigit() or int(text) > 7:
        raise CronError(f"{text!r} is not a day of the week (0-7 or sun-sat)")
    return int(text) % 7


def translate_day_of_week(field: str) -> str:
    """A crontab day-of-week field (`1-5`, `0,6`, `*/2`, `sat-sun`) in APScheduler's names."""
    if field == "*":
        return "*"
    days: list[int] = []
    for part in field.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise CronError(f"bad step in {part!r}")
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            start, end = body.split("-", 1)
            first, last = _day_number(start), _day_number(end)
            if end.strip().lower() in ("7", "sun"):
                last = 7  # a range may end on Sunday: 5-7, fri-sun
            if last < first:
                raise CronError(f"range {body!r} runs backwards")
        else:
            first = last = _day_number(body)
        days.extend(day % 7 for day in range(first, last + 1, step))
    return ",".join(DAY_NAMES[day] for day in sorted(set(days)))


@lru_cache(maxsize=4096)
def parse_cron(expression: str, zone: ZoneInfo) -> CronTrigger:
    """A 5-field crontab expression (`minute hour day month day-of-week`) in a timezone.

    The trigger is shared by every caller that asks for the same expression and zone;
    APScheduler's `get_next_fire_time` only reads it.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(f"{expression!r} needs 5 fields: minute hour day month day-of-week")
    minute, hour, day, month, day_of_week = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=translate_day_of_week(day_of_week),
            timezone=zone,
        )
    except ValueError as error:
        raise CronError(f"{expression!r}: {error}") from None


def means_workdays(expression: str) -> bool:
    """`* * * * 1-5` is how people say "on workdays": with a holiday calendar, a make-up
    Saturday counts and a holiday Monday does not."""
    fields = expression.split()
    return len(fields) == 5 and fields[4].lower() in WEEKDAYS_FIELDS


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in (start, end]."""
    times: list[datetime] = []
    previous = None
    cursor = start
    while True:
        fire = trigger.get_next_fire_time(previous, cursor)
        if fire is None or fire > end:
            return times
        if fire > start:
            times.append(fire)
        previous = fire
        # Step in real time (UTC): wall-clock arithmetic would loop inside a repeated hour.
        cursor = (fire.astimezone(UTC) + timedelta(seconds=1)).astimezone(fire.tzinfo)
        if len(times) > MAX_FIRE_TIMES:
            return times
