"""Data access for daily tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.models import Task


def add_task(session: Session, task: Task) -> Task:
    session.add(task)
    session.flush()
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
    return session.connection().execute(statement, params).all()


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


TASK_LINE_COLUMNS = ("id", "owner", "text", "quadrant", "estimate_minutes", "day", "status")


def tasks_between(session: Session, *, team_id: str, start: date, end: date) -> list[Task]:
    """Tasks planned for days in [start, end]."""
    statement = select(Task).where(Task.team_id == team_id, Task.day >= start, Task.day <= end)
    return list(session.exec(statement.order_by(col(Task.day), col(Task.id))))


def find_same_task(
    session: Session, *, team_id: str, owner: str, day: date, text: str
) -> Task | None:
    """The open or done task of this owner, day and text, if there is one.

    A stand-up answered again with `+tasks` repeats the items it already turned into
    tasks; matching on (team, owner, day, text) finds them without marking where a task
    came from. A dropped task does not count: it was given up, so naming it again plans
    it anew.
    """
    statement = select(Task).where(
        Task.team_id == team_id,
        Task.owner == owner,
        Task.day == day,
        Task.text == text,
        col(Task.status).in_(("open", "done")),
    )
    return session.exec(statement.order_by(col(Task.id))).first()
