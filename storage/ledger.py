"""The job ledger: claiming a (team, job, period) is what makes a scheduled post run once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import JobRun


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
