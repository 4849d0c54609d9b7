"""Data access for stand-up answers."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage.models import Standup


def get_standup(session: Session, *, team_id: str, member: str, day: date) -> Standup | None:
    statement = select(Standup).where(
        Standup.team_id == team_id, Standup.member == member, Standup.day == day
    )
    return session.exec(statement).first()


def standups_for_day(session: Session, *, team_id: str, day: date) -> list[Standup]:
    return list(session.exec(_OF_DAY, params={"team_id": team_id, "day": day}))


_OF_DAY = (  # built once: every team's digest reads it
    select(Standup)
    .where(Standup.team_id == bindparam("team_id"), Standup.day == bindparam("day"))
    .order_by(col(Standup.answered_at))
)


def standups_between(session: Session, *, team_id: str, start: date, end: date) -> list[Standup]:
    """Answers of days in [start, end]."""
    statement = select(Standup).where(
        Standup.team_id == team_id, Standup.day >= start, Standup.day <= end
    )
    return list(session.exec(statement.order_by(col(Standup.day), col(Standup.answered_at))))


def latest_before(session: Session, *, team_id: str, member: str, day: date) -> Standup | None:
    """The member's last answer before `day` (what they planned last time)."""
    statement = (
        select(Standup)
        .where(Standup.team_id == team_id, Standup.member == member, Standup.day < day)
        .order_by(col(Standup.day).desc())
        .limit(1)
    )
    return session.exec(statement).first()
