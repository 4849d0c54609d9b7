"""Data access for stand-up answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage import prepared
from storage.models import Standup


def get_standup(session: Session, *, team_id: str, member: str, day: date) -> Standup | None:
    statement = select(Standup).where(
        Standup.team_id == team_id, Standup.member == member, Standup.day == day
    )
    return session.exec(statement).first()


class StandupLine(Protocol):
    """What a day's overview reads of an answer: a `Standup`, or a row of `standups_for_day`."""

    @property
    def member(self) -> str: ...
    @property
    def day(self) -> date: ...
    @property
    def yesterday(self) -> str | None: ...
    @property
    def today(self) -> str | None: ...
    @property
    def blockers(self) -> str | None: ...
    @property
    def answered_at(self) -> datetime: ...


def standups_for_day(session: Session, *, team_id: str, day: date) -> Sequence[StandupLine]:
    """The day's answers, first answered first: rows, since every team's digest and
    stand-up reminder reads them and none changes them."""
    return prepared.rows(session, _OF_DAY, {"team_id": team_id, "day": day})


_TABLE = Standup.__table__  # type: ignore[attr-defined]
_OF_DAY = (  # built once: every team's digest reads it
    core_select(*_TABLE.c)
    .where(_TABLE.c.team_id == bindparam("team_id"), _TABLE.c.day == bindparam("day"))
    .order_by(_TABLE.c.answered_at)
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
