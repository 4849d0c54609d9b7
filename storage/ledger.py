"""The job ledger: claiming a (team, job, period) is what makes a scheduled post run once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from storage.models import JobRun, Member


def has_run(session: Session, *, team_id: str, job: str, period: str) -> bool:
    statement = select(JobRun.id).where(
        JobRun.team_id == team_id, JobRun.job == job, JobRun.period == period
    )
    return session.exec(statement).first() is not None


def claim_run(
    session: Session, *, team_id: str, job: str, period: str, now: datetime, status: str = "done"
) -> bool:
    """Record the run; False when another process (or an earlier tick) already has.

    The unique key decides: under concurrency the loser's INSERT fails (PostgreSQL makes
    it wait for the winner's commit first), so exactly one caller gets True.
    """
    if has_run(session, team_id=team_id, job=job, period=period):
        return False
    try:
        with session.begin_nested():
            session.add(JobRun(team_id=team_id, job=job, period=period, status=status, ran_at=now))
    except IntegrityError:
        return False
    return True


TEAM_STARTED = "team_started"  # the ledger's row that says when a team's jobs began


def team_started_at(session: Session, *, team_id: str, now: datetime) -> datetime:
    """When the team's scheduled jobs began: when its first member or ledger row was
    written, or now (recorded) for a team that has neither yet.

    A run scheduled before the team existed is not "missed": a new team's first tick
    must not catch up on (or warn about) a day of jobs it never had.
    """
    first_member: datetime | None = session.exec(
        select(func.min(Member.created_at)).where(Member.team_id == team_id)
    ).one()
    first_run: datetime | None = session.exec(
        select(func.min(JobRun.ran_at)).where(JobRun.team_id == team_id)
    ).one()
    known = [instant for instant in (first_member, first_run) if instant is not None]
    if known:
        return min(_aware(instant) for instant in known)
    claim_run(session, team_id=team_id, job=TEAM_STARTED, period="-", now=now)
    return now


def _aware(instant: datetime) -> datetime:
    """MIN() bypasses the column type on SQLite, which hands back a naive UTC value."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
