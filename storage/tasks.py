"""Data access for tasks: a day's, and the items of week and month plans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Integer, Row, Select, String, and_, bindparam, case, func, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage import prepared
from storage.db import insert_new
from storage.models import Task, TaskFields


def add_task(session: Session, task: TaskFields) -> TaskFields:
    """Store a new task; it comes back with its id, untracked (see `insert_new`)."""
    insert_new(session, Task, task)
    return task


def tasks_for_day(
    session: Session, *, team_id: str, day: date, today: date, owner: str | None = None
) -> Sequence[Row[Any]]:
    """The tasks a day's plan shows: that day's tasks, and for today also every open
    task of earlier days (carried over).

    Rows (`id owner text quadrant estimate_minutes day status`), not ORM objects: a plan
    only reads them, and the digest of a large team reads tens of thousands, whose ORM
    state would cost more than the query and keep the garbage collector busy."""
    statement = _day_statement(owner=owner is not None, today=day == today)
    params: dict[str, object] = {"team_id": team_id, "day": day}
    if owner is not None:
        params["owner"] = owner
    return prepared.rows(session, statement, params)


@lru_cache(maxsize=4)
def _day_statement(*, owner: bool, today: bool) -> Select[Any]:
    """Built once per shape."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    conditions = [tasks.c.team_id == bindparam("team_id"), tasks.c.status != "dropped"]
    if owner:
        conditions.append(tasks.c.owner == bindparam("owner"))
    day: Any = bindparam("day")
    if today:
        conditions.append(
            or_(tasks.c.day == day, and_(tasks.c.day < day, tasks.c.status == "open"))
        )
    else:
        conditions.append(tasks.c.day == day)
    columns = [tasks.c[name] for name in TASK_LINE_COLUMNS]
    return core_select(*columns).where(*conditions).order_by(tasks.c.day, tasks.c.id)


def plan_heads(session: Session, *, team_id: str, day: date, shown: int) -> Sequence[Row[Any]]:
    """The first `shown` open tasks of each owner's plan for `day` (today: carried-over
    ones included), in plan order (quadrant, day, id), each with its owner's whole count
    (`open_count`) and estimate (`open_minutes`).

    What the digest shows of everyone's day: picking and summing in SQL, a team of 500
    with 40 tasks each reads 4,000 rows instead of 20,000.
    """
    params = {"team_id": team_id, "day": day, "shown": shown}
    return prepared.rows(session, _heads_statement(), params)


@dataclass(frozen=True)
class OwnPlan:
    """The head of one person's plan, and the counts of the whole of it."""

    head: Sequence[Row[Any]]  # TASK_LINE_COLUMNS, in plan order
    open_count: int
    open_minutes: int
    done: int  # the day's tasks they have done
    rest: Sequence[int] = ()  # the ids after the head, in plan order (the first `REST_IDS`)


REST_IDS = 50


def own_plan_head(
    session: Session, *, team_id: str, owner: str, day: date, today: date, shown: int
) -> OwnPlan:
    """The first `shown` open tasks of one person's plan for `day` (carried-over ones
    only when `day` is today), with the counts of the whole plan.

    What `/task list` shows: a head and three sums, so that its cost does not grow with a
    day of a hundred tasks (whose lines would not fit a chat message anyway). Two plain
    statements: on SQLite a third of the cost of the digest's windowed one for one owner."""
    params = {"team_id": team_id, "owner": owner, "day": day, "shown": shown}
    carried = day == today
    head = prepared.rows(session, _own_head_statement(carried=carried), params)
    counts = prepared.first(session, _own_counts_statement(carried=carried), params)
    open_count, open_minutes, done = counts if counts is not None else (0, 0, 0)
    rest: Sequence[int] = ()
    if (open_count or 0) > len(head):  # a long day: the ids of the rest, to act on them
        statement = _own_rest_statement(carried=carried)
        rest = [row[0] for row in prepared.rows(session, statement, {**params, "rest": REST_IDS})]
    return OwnPlan(head, open_count or 0, open_minutes or 0, done or 0, rest)


@lru_cache(maxsize=2)
def _own_head_statement(*, carried: bool) -> Select[Any]:
    """Built once per shape: the head's ids in plan order from `ix_tasks_plan_order`
    alone (which holds every column that picks and orders them, so the database reads
    no other index and sorts nothing), then those rows."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    picked = tasks.alias("picked")
    day: Any = bindparam("day")
    head = (
        core_select(picked.c.id)
        .where(
            picked.c.team_id == bindparam("team_id"),
            picked.c.owner == bindparam("owner"),
            picked.c.status == "open",
            picked.c.day <= day if carried else picked.c.day == day,
        )
        .order_by(picked.c.quadrant, picked.c.day, picked.c.id)
        .limit(bindparam("shown", type_=Integer()))
    )
    return (
        core_select(*(tasks.c[name] for name in TASK_LINE_COLUMNS))
        .where(tasks.c.id.in_(head))
        .order_by(tasks.c.quadrant, tasks.c.day, tasks.c.id)
    )


@lru_cache(maxsize=2)
def _own_rest_statement(*, carried: bool) -> Select[Any]:
    """Built once per shape: the ids after the head, in plan order."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    day: Any = bindparam("day")
    return (
        core_select(tasks.c.id)
        .where(
            tasks.c.team_id == bindparam("team_id"),
            tasks.c.owner == bindparam("owner"),
            tasks.c.status == "open",
            tasks.c.day <= day if carried else tasks.c.day == day,
        )
        .order_by(tasks.c.quadrant, tasks.c.day, tasks.c.id)
        .limit(bindparam("rest", type_=Integer()))
        .offset(bindparam("shown", type_=Integer()))
    )


@lru_cache(maxsize=2)
def _own_counts_statement(*, carried: bool) -> Select[Any]:
    """Built once per shape: open tasks, their estimates, and the day's done tasks."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    day: Any = bindparam("day")
    is_open = tasks.c.status == "open"
    done_that_day = and_(tasks.c.status == "done", tasks.c.day == day)
    return core_select(
        func.sum(case((is_open, 1), else_=0)),
        func.sum(case((is_open, func.coalesce(tasks.c.estimate_minutes, 0)), else_=0)),
        func.sum(case((done_that_day, 1), else_=0)),
    ).where(
        tasks.c.team_id == bindparam("team_id"),
        tasks.c.owner == bindparam("owner"),
        tasks.c.day <= day if carried else tasks.c.day == day,
        or_(is_open, done_that_day),
    )


@lru_cache(maxsize=1)
def _heads_statement() -> Select[Any]:
    """Built once: each owner's count and estimate, grouped; and each owner's head, read
    in plan order through `ix_tasks_plan_order` and stopped after `shown` rows, so that
    the team's open tasks are counted but never sorted."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    picked = tasks.alias("picked")

    def open_by(table: Any) -> tuple[Any, ...]:
        return (
            table.c.team_id == bindparam("team_id"),
            table.c.status == "open",
            table.c.day <= bindparam("day"),
        )

    owners = (
        core_select(
            tasks.c.owner,
            func.count().label("open_count"),
            func.coalesce(func.sum(tasks.c.estimate_minutes), 0).label("open_minutes"),
        )
        .where(*open_by(tasks))
        .group_by(tasks.c.owner)
        .cte("owners")
    )
    head = (
        core_select(picked.c.id)
        .where(*open_by(picked), picked.c.owner == owners.c.owner)
        .order_by(picked.c.quadrant, picked.c.day, picked.c.id)
        .limit(bindparam("shown", type_=Integer()))
        .correlate(owners)
    )
    return (
        core_select(
            *(tasks.c[name] for name in TASK_LINE_COLUMNS),
            owners.c.open_count,
            owners.c.open_minutes,
        )
        .select_from(owners.join(tasks, tasks.c.id.in_(head)))
        .order_by(tasks.c.owner, tasks.c.quadrant, tasks.c.day, tasks.c.id)
    )


TASK_LINE_COLUMNS = ("id", "owner", "text", "quadrant", "estimate_minutes", "day", "status")
PLAN_LINE_COLUMNS = (*TASK_LINE_COLUMNS, "week", "month")


def plan_items(
    session: Session,
    *,
    team_id: str,
    scope: Literal["week", "month"],
    period: str,
    carried: bool,
    owner: str | None = None,
) -> Sequence[Row[Any]]:
    """The items of one week's (`2026-W48`) or month's (`2026-12`) plan, dropped ones left
    out; with `carried` (the current week or month) also the open items of earlier ones,
    which a plan that is over hands on. Rows (`PLAN_LINE_COLUMNS`), taken into a day or
    not, oldest period first."""
    params: dict[str, object] = {"team_id": team_id, "period": period}
    if owner is not None:
        params["owner"] = owner
    statement = _plan_statement(scope=scope, carried=carried, owner=owner is not None)
    return prepared.rows(session, statement, params)


@lru_cache(maxsize=8)
def _plan_statement(*, scope: str, carried: bool, owner: bool) -> Select[Any]:
    """Built once per shape."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    column, period = tasks.c[scope], bindparam("period", type_=String())
    conditions = [tasks.c.team_id == bindparam("team_id"), tasks.c.status != "dropped"]
    if owner:
        conditions.append(tasks.c.owner == bindparam("owner"))
    if carried:
        conditions.append(or_(column == period, and_(column < period, tasks.c.status == "open")))
    else:
        conditions.append(column == period)
    columns = [tasks.c[name] for name in PLAN_LINE_COLUMNS]
    return core_select(*columns).where(*conditions).order_by(column, tasks.c.id)


def plan_items_to_offer(
    session: Session, *, team_id: str, week: str, month: str, owner: str | None = None
) -> Sequence[Row[Any]]:
    """Open plan items not yet taken into a day, of this week or month or carried over into
    them: what "today from the plan" may offer. Rows (`PLAN_LINE_COLUMNS`)."""
    params: dict[str, object] = {"team_id": team_id, "week": week, "month": month}
    if owner is not None:
        params["owner"] = owner
    statement = _offer_statement(owner=owner is not None)
    return prepared.rows(session, statement, params)


@lru_cache(maxsize=2)
def _offer_statement(*, owner: bool) -> Select[Any]:
    """Built once per shape."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    conditions = [
        tasks.c.team_id == bindparam("team_id"),
        tasks.c.status == "open",
        tasks.c.day.is_(None),
        or_(tasks.c.week <= bindparam("week"), tasks.c.month <= bindparam("month")),
    ]
    if owner:
        conditions.append(tasks.c.owner == bindparam("owner"))
    columns = [tasks.c[name] for name in PLAN_LINE_COLUMNS]
    return core_select(*columns).where(*conditions).order_by(tasks.c.id)


def tasks_between(session: Session, *, team_id: str, start: date, end: date) -> list[Task]:
    """Tasks planned for days in [start, end] (plan items not yet in a day have none)."""
    statement = select(Task).where(
        Task.team_id == team_id, col(Task.day) >= start, col(Task.day) <= end
    )
    return list(session.exec(statement.order_by(col(Task.day), col(Task.id))))


def find_same_task(
    session: Session,
    *,
    team_id: str,
    owner: str,
    day: date | None,
    text: str,
    week: str | None = None,
    month: str | None = None,
) -> Task | None:
    """The open or done task of this owner, day (or, for a plan item, week or month) and
    text, if there is one.

    A stand-up answered again with `+tasks` repeats the items it already turned into
    tasks; matching on (team, owner, day, text) finds them without marking where a task
    came from. A dropped task does not count: it was given up, so naming it again plans
    it anew.
    """
    scope = (
        [Task.day == day]
        if day is not None
        else [col(Task.day).is_(None), Task.week == week, Task.month == month]
    )
    statement = select(Task).where(
        Task.team_id == team_id,
        Task.owner == owner,
        *scope,
        Task.text == text,
        col(Task.status).in_(("open", "done")),
    )
    return session.exec(statement.order_by(col(Task.id))).first()
