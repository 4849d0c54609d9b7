"""Data access for the content calendar."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Select, String, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage import prepared
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
    params: dict[str, object] = {"team_id": team_id, "start": start, "end": end}
    if statuses is None:
        return list(session.exec(_PLANNED_BETWEEN, params=params))
    params["statuses"] = list(statuses)
    return list(session.exec(_PLANNED_BETWEEN_IN_STATUSES, params=params))


# Built once: `/publish today`, `/publish list` and the digest read these on every call.
_PLANNED_BETWEEN = (
    select(Post)
    .where(
        Post.team_id == bindparam("team_id"),
        Post.planned_at >= bindparam("start"),
        Post.planned_at < bindparam("end"),
    )
    .order_by(col(Post.planned_at), col(Post.id))
)
_PLANNED_BETWEEN_IN_STATUSES = _PLANNED_BETWEEN.where(
    col(Post.status).in_(bindparam("statuses", expanding=True))
)


class PostLine(Protocol):
    """What a listing reads of a post: a `Post`, or a row of `post_lines_between`."""

    @property
    def id(self) -> int | None: ...
    @property
    def topic_id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def planned_at(self) -> datetime: ...
    @property
    def owner(self) -> str: ...
    @property
    def reviewer(self) -> str | None: ...
    @property
    def reviewer_confirmed_by(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def changes_requested_by(self) -> str | None: ...
    @property
    def changes_requested_reason(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...


def post_lines_between(
    session: Session,
    *,
    team_id: str,
    start: datetime,
    end: datetime,
    statuses: Iterable[str] | None = None,
) -> Sequence[PostLine]:
    """`posts_between` for reading only: rows, not ORM objects.

    The digest and the marketing calendar read these for every team a tick walks, where
    loading them through the ORM cost twice the read itself."""
    params: dict[str, object] = {"team_id": team_id, "start": start, "end": end}
    wanted = None if statuses is None else list(statuses)
    params.update({f"status_{n}": status for n, status in enumerate(wanted or ())})
    statement = _lines_statement(None if wanted is None else len(wanted))
    rows = prepared.rows(session, statement, params)
    return cast(Sequence[PostLine], rows)  # a Row has every column as an attribute


@lru_cache(maxsize=8)
def _lines_statement(statuses: int | None) -> Select[Any]:
    """Built once per shape: None, or how many statuses (one parameter each, so that
    `prepared` can keep the SQL)."""
    posts = Post.__table__  # type: ignore[attr-defined]
    statement = core_select(posts).where(
        posts.c.team_id == bindparam("team_id"),
        posts.c.planned_at >= bindparam("start"),
        posts.c.planned_at < bindparam("end"),
    )
    if statuses is not None:
        wanted = [bindparam(f"status_{n}", type_=String()) for n in range(statuses)]
        statement = statement.where(posts.c.status.in_(wanted))
    return statement.order_by(posts.c.planned_at, posts.c.id)


def active_posts_of_topic(session: Session, *, topic_id: int) -> list[Post]:
    statement = select(Post).where(
        Post.topic_id == topic_id, col(Post.status).in_(ACTIVE_POST_STATUSES)
    )
    return list(session.exec(statement))


def posts_published_between(
    session: Session, *, team_id: str, start: datetime, end: datetime
) -> Sequence[PostLine]:
    """Posts published in [start, end), first published first: rows, since the digest of
    every team reads yesterday's and nobody changes them."""
    params = {"team_id": team_id, "start": start, "end": end}
    rows = prepared.rows(session, _PUBLISHED_BETWEEN, params)
    return cast(Sequence[PostLine], rows)


_POSTS = Post.__table__  # type: ignore[attr-defined]
_PUBLISHED_BETWEEN = (  # built once: the digest of every team reads it
    core_select(_POSTS)
    .where(
        _POSTS.c.team_id == bindparam("team_id"),
        _POSTS.c.status == "published",
        _POSTS.c.published_at >= bindparam("start"),
        _POSTS.c.published_at < bindparam("end"),
    )
    .order_by(_POSTS.c.published_at)
)


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
