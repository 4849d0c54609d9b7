"""Data access for the content calendar."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import Post

# Still going out: a post sent back for changes keeps its topic scheduled.
ACTIVE_POST_STATUSES = ("planned", "author_confirmed", "confirmed", "changes_requested")


def add_post(session: Session, post: Post) -> Post:
    session.add(post)
    session.flush()
    return post


def posts_between(
    session: Session,
    *,
    team_id: str,
    start: datetime,
    end: datetime,
    statuses: Iterable[str] | None = None,
) -> list[Post]:
    """Posts planned in [start, end), in time order."""
    statement = select(Post).where(
        Post.team_id == team_id, Post.planned_at >= start, Post.planned_at < end
    )
    if statuses is not None:
        statement = statement.where(col(Post.status).in_(list(statuses)))
    return list(session.exec(statement.order_by(col(Post.planned_at), col(Post.id))))


def active_posts_of_topic(session: Session, *, topic_id: int) -> list[Post]:
    statement = select(Post).where(
        Post.topic_id == topic_id, col(Post.status).in_(ACTIVE_POST_STATUSES)
    )
    return list(session.exec(statement))


def posts_published_between(
    session: Session, *, team_id: str, start: datetime, end: datetime
) -> list[Post]:
    statement = select(Post).where(
        Post.team_id == team_id,
        Post.status == "published",
        col(Post.published_at) >= start,
        col(Post.published_at) < end,
    )
    return list(session.exec(statement.order_by(col(Post.published_at))))


def posts_touching(session: Session, *, team_id: str, start: datetime, end: datetime) -> list[Post]:
    """Posts planned, created or published in [start, end): what a week's summary reads."""

    def within(column: Any) -> Any:
        return (column >= start) & (column < end)

    statement = select(Post).where(
        Post.team_id == team_id,
        within(col(Post.planned_at))
        | within(col(Post.created_at))
        | within(col(Post.published_at)),
    )
    return list(session.exec(statement.order_by(col(Post.planned_at), col(Post.id))))
