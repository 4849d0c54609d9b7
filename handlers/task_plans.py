"""Week and month plans: which week or month a task belongs to, and the plan as the
important/urgent matrix.

A plan item is a task with a `week` (`2026-W48`) or a `month` (`2026-12`) and no day.
Taking it into today gives it a day and keeps its week or month, so the plan still shows
it and finishing it there finishes it in the plan: one row. A week or month that is over
hands its open items to the current one on read (`⤷ 从第 47 周顺延`): nothing rewrites
them, so the carry-over needs no job and happens the same however often it is read.

Pure functions of the items, the period, the workday settings and the team's workdays,
shared by `/task plan`, `/task list`, `/task today` and the stand-up prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, Protocol

from bot.core.errors import CommandError

Scope = Literal["week", "month"]
QUADRANT_ORDER = ("q1", "q2", "q3", "q4")

_RELATIVE: dict[str, tuple[Scope, int]] = {
    "week": ("week", 0), "this week": ("week", 0), "本周": ("week", 0), "这周": ("week", 0),
    "本星期": ("week", 0), "这星期": ("week", 0),
    "next week": ("week", 1), "下周": ("week", 1), "下星期": ("week", 1),
    "last week": ("week", -1), "上周": ("week", -1), "上星期": ("week", -1),
    "month": ("month", 0), "this month": ("month", 0), "本月": ("month", 0),
    "这个月": ("month", 0), "这月": ("month", 0),
    "next month": ("month", 1), "下月": ("month", 1), "下个月": ("month", 1),
    "last month": ("month", -1), "上月": ("month", -1), "上个月": ("month", -1),
}  # fmt: skip
_ISO_WEEK = re.compile(r"^(?:(?:(\d{4})-?)?w(\d{1,2})|第(\d{1,2})周)$", re.IGNORECASE)
_WEEK_LIKE = re.compile(r"^(?:\d{4}-?)?w\d+$|^第\d+周$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})(?:-|年)(\d{1,2})月?$")
_MONTH_LIKE = re.compile(r"^\d{4}-\d+$|^\d{4}年\d+月$")
_YEARS = range(1970, 2101)  # what a plan may name; beyond, dates overflow or mean a typo


@dataclass(frozen=True, order=True)
class PlanPeriod:
    """A week (Monday to Sunday, ISO) or a calendar month that a plan item belongs to."""

    scope: Scope
    start: date

    @classmethod
    def containing(cls, scope: Scope, day: date) -> PlanPeriod:
        if scope == "week":
            return cls("week", day - timedelta(days=day.weekday()))
        return cls("month", day.replace(day=1))

    @classmethod
    def from_key(cls, scope: Scope, key: str) -> PlanPeriod:
        """`2026-W48` or `2026-12`, as stored."""
        year, _, number = key.partition("-W" if scope == "week" else "-")
        if scope == "week":
            return cls("week", date.fromisocalendar(int(year), int(number), 1))
        return cls("month", date(int(year), int(number), 1))

    @property
    def end(self) -> date:
        if self.scope == "week":
            return self.start + timedelta(days=6)
        return self.shifted(1).start - timedelta(days=1)

    @property
    def key(self) -> str:
        if self.scope == "week":
            iso = self.start.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def number(self) -> int:
        """The ISO week number, or the month."""
        return self.start.isocalendar().week if self.scope == "week" else self.start.month

    @property
    def year(self) -> int:
        return self.start.isocalendar().year if self.scope == "week" else self.start.year

    def shifted(self, count: int) -> PlanPeriod:
        if self.scope == "week":
            return PlanPeriod("week", self.start + timedelta(days=7 * count))
        months = self.start.year * 12 + self.start.month - 1 + count
        return PlanPeriod("month", date(months // 12, months % 12 + 1, 1))

    def days(self) -> Iterable[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


def _fold(words: Sequence[str]) -> str:
    return " ".join(word.casefold() for word in words)


def parse_period_word(word: str, *, today: date) -> PlanPeriod | None:
    """One word naming a week or month (`下周`, `month`, `2026-W48`, `W48` and `第48周` for
    this year's, `2026-12`, `2026年12月`); None for other words. A word shaped like one
    that names none (`2026-W60`, `2026-13`) is refused, never taken as text."""
    folded = word.casefold()
    if folded in _RELATIVE:
        scope, shift = _RELATIVE[folded]
        return PlanPeriod.containing(scope, today).shifted(shift)
    if (match := _ISO_WEEK.match(word)) is not None:
        year = int(match.group(1) or today.isocalendar().year)
        if year not in _YEARS:
            raise CommandError("task.error.bad_week", value=word[:20])
        try:
            number = int(match.group(2) or match.group(3))
            return PlanPeriod("week", date.fromisocalendar(year, number, 1))
        except ValueError:
            raise CommandError("task.error.bad_week", value=word[:20]) from None
    if _WEEK_LIKE.match(word):
        raise CommandError("task.error.bad_week", value=word[:20])
    match = _MONTH.match(word)
    if match is not None and int(match.group(1)) in _YEARS and 1 <= int(match.group(2)) <= 12:
        return PlanPeriod("month", date(int(match.group(1)), int(match.group(2)), 1))
    if match is not None or _MONTH_LIKE.match(word):
        raise CommandError("task.error.bad_month", value=word[:20])
    return None


# Words that read as a time but are none the bot understands (`12月`, `下下周`, `本月底`,
# `2026.12`, `nextweek`, `Dec`): at the end of a task they are refused, never kept as
# text with the task put on today. (`may` and `march` are left out: ordinary words.)
_TIME_LIKE = re.compile(
    r"^(?:\d{1,2}月[底初中]?|(?:下下|上上)(?:周|个?月)|(?:本|这个?|下个?|上个?)(?:周|月)[底初末]"
    r"|\d{4}年第\d+周|\d{4}[./]\d{1,2}|(?:next|last|this)(?:week|month)"
    r"|jan(?:uary)?|feb(?:ruary)?|apr(?:il)?|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)$",
    re.IGNORECASE,
)


def looks_like_time(word: str) -> bool:
    """Whether a last word reads as a week, a month or a date the bot cannot read."""
    return _TIME_LIKE.match(word.strip()) is not None


def split_trailing_period(
    words: Sequence[str], *, today: date
) -> tuple[list[str], PlanPeriod | None, str]:
    """A week or month at the end of `words` (`next week` is two): the words before it,
    the period, and the words that named it; (words, None, "") when there is none."""
    if len(words) >= 2 and _fold(words[-2:]) in _RELATIVE:
        scope, shift = _RELATIVE[_fold(words[-2:])]
        named = PlanPeriod.containing(scope, today).shifted(shift)
        return list(words[:-2]), named, " ".join(words[-2:])
    if words and (period := parse_period_word(words[-1], today=today)) is not None:
        return list(words[:-1]), period, words[-1]
    return list(words), None, ""


def parse_plan_choice(words: Sequence[str], *, today: date) -> PlanPeriod:
    """The period `/task plan` shows: this week unless the words name another."""
    if not words:
        return PlanPeriod.containing("week", today)
    rest, period, _ = split_trailing_period(words, today=today)
    if period is None or rest:
        raise CommandError("task.error.bad_plan_period", value=" ".join(words)[:40])
    return period


class PlanLine(Protocol):
    """What a plan reads of a task: a `Task`, or a row of `task_store.plan_items`."""

    @property
    def id(self) -> int | None: ...
    @property
    def owner(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def quadrant(self) -> str: ...
    @property
    def estimate_minutes(self) -> int | None: ...
    @property
    def day(self) -> date | None: ...
    @property
    def status(self) -> str: ...
    @property
    def week(self) -> str | None: ...
    @property
    def month(self) -> str | None: ...


def period_of(task: PlanLine) -> PlanPeriod | None:
    """The week or month a task belongs to; None for a day task."""
    if task.week:
        return PlanPeriod.from_key("week", task.week)
    if task.month:
        return PlanPeriod.from_key("month", task.month)
    return None


@dataclass(frozen=True)
class PlanEntry:
    task: PlanLine
    carried_from: PlanPeriod | None  # the earlier week or month it is carried over from


@dataclass
class Quadrant:
    name: str  # q1 … q4
    entries: list[PlanEntry] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return sum(entry.task.estimate_minutes or 0 for entry in self.entries)

    @property
    def open_minutes(self) -> int:
        return sum(
            entry.task.estimate_minutes or 0
            for entry in self.entries
            if entry.task.status == "open"
        )


@dataclass(frozen=True)
class PlanMatrix:
    period: PlanPeriod
    quadrants: list[Quadrant]
    workdays_left: int
    capacity_minutes: int  # workdays left × the hours a day holds
    finished: bool  # the period is over: its open items are carried into the current one

    @property
    def q1_over(self) -> bool:
        """More important-and-urgent work open than the workdays left can hold (said of
        a period still to come or under way; one that is over has handed its work on)."""
        return not self.finished and self.quadrants[0].open_minutes > self.capacity_minutes

    @property
    def is_empty(self) -> bool:
        return not any(quadrant.entries for quadrant in self.quadrants)


def workdays_left(period: PlanPeriod, *, today: date, is_workday: Callable[[date], bool]) -> int:
    """The team's workdays of the period from today on (today counts; none once it is over)."""
    return sum(1 for day in period.days() if day >= today and is_workday(day))


def plan_matrix(
    tasks: Iterable[PlanLine],
    *,
    period: PlanPeriod,
    today: date,
    day_minutes: int,
    is_workday: Callable[[date], bool],
) -> PlanMatrix:
    """The period's items in their quadrants: open ones first (the oldest carried-over
    first), then the done ones; dropped items are not shown."""
    quadrants = {name: Quadrant(name) for name in QUADRANT_ORDER}
    entries = []
    for task in tasks:
        own = period_of(task)
        if task.status == "dropped" or own is None:
            continue
        entries.append(PlanEntry(task, own if own < period else None))
    entries.sort(
        key=lambda entry: (
            entry.task.status != "open",
            entry.carried_from is None,
            entry.carried_from.start if entry.carried_from else period.start,
            entry.task.id or 0,
        )
    )
    for entry in entries:
        quadrants[entry.task.quadrant].entries.append(entry)
    days = workdays_left(period, today=today, is_workday=is_workday)
    return PlanMatrix(
        period, list(quadrants.values()), days, days * day_minutes, period.end < today
    )


def pick_for_today(items: Iterable[PlanLine], *, minutes_left: int) -> list[PlanLine]:
    """The open plan items not yet in a day that fit the minutes left today, in quadrant
    order (Q1 first; the week's before the month's, older first): each is taken when it
    still fits, so a smaller item after one too large may be. Items with no estimate are
    not offered: whether they fit is not known."""
    candidates = sorted(
        (
            task
            for task in items
            if task.status == "open" and task.day is None and task.estimate_minutes
        ),
        key=lambda task: (
            task.quadrant,
            task.week is None,
            task.week or task.month or "",
            task.id or 0,
        ),
    )
    picked = []
    left = minutes_left
    for task in candidates:
        estimate = task.estimate_minutes or 0
        if estimate <= left:
            picked.append(task)
            left -= estimate
    return picked
