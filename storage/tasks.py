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
