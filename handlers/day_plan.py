"""A member's day as a plan: open tasks ordered Q1→Q4, laid out from the start of the
working day around lunch, with the total and a flag when it is more than a day's work.

Pure functions of tasks, the day and the workday settings, shared by `/task list` and
the morning digest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, time
from typing import Protocol

from bot.core.config import WorkdaySettings

MINUTES_PER_DAY = 24 * 60


class TaskLine(Protocol):
    """What a plan reads of a task: a `Task`, or a row of `task_store.tasks_for_day`."""

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
    def day(self) -> date: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class PlannedTask:
    task: TaskLine
    start: time | None  # None: no estimate, or it would run past midnight
    end: time | None
    waited_days: int  # 0 for today's tasks; >0 for tasks carried over


@dataclass(frozen=True)
class DayPlan:
    day: date
    items: list[PlannedTask]
    done: list[TaskLine]
    total_minutes: int
    over_limit: bool
    more: int = 0  # open tasks after `items`, when only the head of the plan was laid out


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _clock(minutes: int) -> time | None:
    if minutes > MINUTES_PER_DAY:
        return None
    if minutes == MINUTES_PER_DAY:
        return time(23, 59)
    return time(minutes // 60, minutes % 60)


def plan_day(tasks: Iterable[TaskLine], *, day: date, workday: WorkdaySettings) -> DayPlan:
    """Lay out the open tasks of a day (older carried-over ones first in each quadrant)."""
    tasks = list(tasks)
    open_tasks = sorted(
        (task for task in tasks if task.status == "open"),
        key=lambda task: (task.quadrant, task.day, task.id or 0),
    )
    lunch_start, lunch_end = _minutes(workday.lunch_start), _minutes(workday.lunch_end)
    cursor = _minutes(workday.start)
    items = []
    for task in open_tasks:
        waited = max((day - task.day).days, 0)
        if not task.estimate_minutes:
            items.append(PlannedTask(task, None, None, waited))
            continue
        if lunch_start <= cursor < lunch_end:
            cursor = lunch_end
        end = cursor + task.estimate_minutes
        if cursor < lunch_start < end:
            end += lunch_end - lunch_start
        start_clock, end_clock = _clock(cursor), _clock(end)
        if start_clock is None or end_clock is None:
            items.append(PlannedTask(task, None, None, waited))
        else:
            items.append(PlannedTask(task, start_clock, end_clock, waited))
        cursor = end
    total = sum(task.estimate_minutes or 0 for task in open_tasks)
    return DayPlan(
        day=day,
        items=items,
        done=[task for task in tasks if task.status == "done" and task.day <= day],
        total_minutes=total,
        over_limit=total > workday.planned_hours_limit * 60,
    )


def plan_head(
    head: Iterable[TaskLine],
    *,
    open_count: int,
    open_minutes: int,
    day: date,
    workday: WorkdaySettings,
) -> DayPlan:
    """The start of a plan whose first open tasks are `head` (in plan order) out of
    `open_count` open tasks estimated at `open_minutes` in all: the same times as the
    whole plan's, since a task's slot depends only on the tasks before it."""
    plan = plan_day(head, day=day, workday=workday)
    return replace(
        plan,
        total_minutes=open_minutes,
        over_limit=open_minutes > workday.planned_hours_limit * 60,
        more=open_count - len(plan.items),
    )
