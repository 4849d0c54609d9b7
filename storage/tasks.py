"""Data access for daily tasks."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from storage.models import Task


def add_task(session: Session, task: Task) -> Task:
    session.add(task)
    session.flush()
    return task


def tasks_for_day(
    session: Session, *, team_id: str, day: date, today: date, owner: str | None = None
) -> list[Task]:
    """The tasks a day's plan shows: that day's tasks, and for today also every open
    task of earlier days (carried over)."""
    statement = select(Task).where(Task.team_id == team_id, Task.status != "dropped")
    if owner is not None:
        statement = statement.where(Task.owner == owner)
    if day == today:
        statement = statement.where(
            (Task.day == day) | ((Task.day < day) & (Task.status == "open"))
        )
    else:
        statement = statement.where(Task.day == day)
    return list(session.exec(statement.order_by(col(Task.day), col(Task.id))))


def tasks_between(session: Session, *, team_id: str, start: date, end: date) -> list[Task]:
    """Tasks planned for days in [start, end]."""
    statement = select(Task).where(Task.team_id == team_id, Task.day >= start, Task.day <= end)
    return list(session.exec(statement.order_by(col(Task.day), col(Task.id))))
