"""Data access for series (栏目): the rules, and which of their days are planned."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.db import dialect_insert
from storage.models import Post, Series, SeriesOccurrence

# Still going out (as storage.posts.ACTIVE_POST_STATUSES).
OPEN_POST_STATUSES = ("planned", "author_confirmed", "confirmed", "changes_requested")


def add_series(session: Session, series: Series) -> Series:
    session.add(series)
    session.flush()
    return series


def series_of_team(session: Session, *, team_id: str, active_only: bool) -> list[Series]:
    statement = select(Series).where(Series.team_id == team_id)
    if active_only:
        statement = statement.where(col(Series.active).is_(True))
    return list(session.exec(statement.order_by(col(Series.id))))


def planned_days(session: Session, *, series_id: int, days: Iterable[date]) -> set[date]:
    """Which of these days of the series were planned already (skipped ones included)."""
    wanted = list(days)
    if not wanted:
        return set()
    statement = select(col(SeriesOccurrence.day)).where(
        SeriesOccurrence.series_id == series_id, col(SeriesOccurrence.day).in_(wanted)
    )
    return set(session.exec(statement))


def claim_occurrence(session: Session, *, series_id: int, day: date, now: datetime) -> bool:
    """Claim one day of a series before its post is made; False when it was claimed
    before (by this or a concurrent transaction, which then made the post)."""
    values = {"series_id": series_id, "day": day, "post_id": None, "created_at": now}
    dialect = session.get_bind().dialect.name
    table = SeriesOccurrence.__table__  # type: ignore[attr-defined]
    statement: Any
    statement = dialect_insert(table, dialect).values(values).on_conflict_do_nothing()
    # RETURNING, as the ledger does: a row back only when this INSERT claimed the day.
    return session.execute(statement.returning(table.c.series_id)).first() is not None


def set_occurrence_post(session: Session, *, series_id: int, day: date, post_id: int) -> None:
    occurrence = session.get(SeriesOccurrence, (series_id, day))
    if occurrence is not None:
        occurrence.post_id = post_id
        session.flush()


def occurrence_of_post(session: Session, *, post_id: int) -> SeriesOccurrence | None:
    statement = select(SeriesOccurrence).where(SeriesOccurrence.post_id == post_id)
    return session.exec(statement).first()


def open_posts_after(session: Session, *, series_id: int, after: datetime) -> list[Post]:
    """The series' posts still going out that are planned after `after`."""
    statement = select(Post).where(
        Post.series_id == series_id,
        col(Post.status).in_(OPEN_POST_STATUSES),
        Post.planned_at > after,
    )
    return list(session.exec(statement.order_by(col(Post.planned_at), col(Post.id))))


def upcoming_posts(session: Session, *, series_ids: Sequence[int], after: datetime) -> list[Post]:
    """The posts of these series planned after `after`, skipped ones included."""
    if not series_ids:
        return []
    statement = select(Post).where(
        col(Post.series_id).in_(list(series_ids)), Post.planned_at > after
    )
    return list(session.exec(statement.order_by(col(Post.planned_at), col(Post.id))))
