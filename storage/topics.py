"""Data access for the topic backlog and votes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Integer, Row, Select, String, and_, bindparam, delete, exists, func, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage import prepared
from storage.db import insert_new, insert_or_nothing
from storage.models import PRIORITIES, Topic, TopicFields, Vote, priority_rank


def add_topic(session: Session, topic: TopicFields) -> TopicFields:
    """Store a new topic; it comes back with its id, untracked (see `insert_new`)."""
    insert_new(session, Topic, topic)
    return topic


def list_topics(
    session: Session, *, team_id: str, statuses: Iterable[str] | None = None
) -> list[Topic]:
    if statuses is None:
        return list(session.exec(_TEAM_TOPICS, params={"team_id": team_id}))
    parameters = {"team_id": team_id, "statuses": list(statuses)}
    return list(session.exec(_TEAM_TOPICS_IN_STATUSES, params=parameters))


# Built once (the backlog is read by most topic commands and by the digest).
_TEAM_TOPICS = select(Topic).where(Topic.team_id == bindparam("team_id")).order_by(col(Topic.id))
_TEAM_TOPICS_IN_STATUSES = (
    select(Topic)
    .where(
        Topic.team_id == bindparam("team_id"),
        col(Topic.status).in_(bindparam("statuses", expanding=True)),
    )
    .order_by(col(Topic.id))
)


def vote_count(session: Session, *, topic_id: int) -> int:
    """How many votes one topic has (what a vote's reply shows)."""
    found = prepared.first(session, _VOTE_COUNT, {"topic_id": topic_id})
    return int(found[0]) if found is not None else 0


_TOPICS = Topic.__table__  # type: ignore[attr-defined]
_VOTE_COUNT = core_select(_TOPICS.c.votes).where(_TOPICS.c.id == bindparam("topic_id"))


def add_vote(session: Session, *, topic_id: int, member_id: str, now: datetime) -> bool:
    """Record a vote; False when this member had already voted for this topic.

    The primary key (topic, member) decides, in one statement: two simultaneous votes by
    the same person still count once, and the surrounding work is never disturbed. The
    topic's count moves only for a vote that was stored, in the same transaction."""
    statement = insert_or_nothing(Vote.__table__, session.get_bind().dialect.name)  # type: ignore[attr-defined]
    vote = {"topic_id": topic_id, "member_id": member_id, "voted_at": now}
    if prepared.write(session, statement, vote) != 1:
        return False
    prepared.write(session, _COUNT_VOTE, {"topic_id": topic_id, "step": 1})
    return True


def remove_vote(session: Session, *, topic_id: int, member_id: str) -> bool:
    """Take a member's vote back; False when they had not voted for this topic."""
    vote = {"topic_id": topic_id, "member_id": member_id}
    if prepared.write(session, _REMOVE_VOTE, vote) != 1:
        return False
    prepared.write(session, _COUNT_VOTE, {"topic_id": topic_id, "step": -1})
    return True


_REMOVE_VOTE = (
    delete(Vote)
    .where(
        col(Vote.topic_id) == bindparam("topic_id"), col(Vote.member_id) == bindparam("member_id")
    )
    .execution_options(synchronize_session=False)
)
# `votes = votes + step` in the database: two people voting at once both count.
_COUNT_VOTE = (
    update(_TOPICS)
    .where(_TOPICS.c.id == bindparam("topic_id"))
    .values(votes=_TOPICS.c.votes + bindparam("step", type_=Integer()))
)


class HotIdea(Protocol):
    """What the digest and the hot-topic alert read of a hot topic."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def deadline(self) -> datetime: ...


def hot_ideas(
    session: Session, *, team_id: str, after: datetime | None = None, until: datetime | None = None
) -> Sequence[HotIdea]:
    """Unscheduled hot topics with a deadline, soonest first; only those whose deadline
    is in (after, until] when given. The digest and the hot-topic alert read these, and
    not the whole backlog, on every tick: as rows of the three columns they show."""
    statement = _hot_statement(after=after is not None, until=until is not None)
    params = {"team_id": team_id, "after": after, "until": until}
    return prepared.rows(session, statement, params)


@lru_cache(maxsize=4)
def _hot_statement(*, after: bool, until: bool) -> Any:
    """Built once per shape: every team's digest reads it."""
    topics = Topic.__table__  # type: ignore[attr-defined]
    statement = core_select(topics.c.id, topics.c.title, topics.c.deadline).where(
        topics.c.team_id == bindparam("team_id"),
        topics.c.status == "idea",
        topics.c.hot.is_(True),
        topics.c.deadline.is_not(None),
    )
    if after:
        statement = statement.where(topics.c.deadline > bindparam("after"))
    if until:
        statement = statement.where(topics.c.deadline <= bindparam("until"))
    return statement.order_by(topics.c.deadline, topics.c.id)


def teams_with_hot_ideas(
    session: Session, *, team_ids: Iterable[str], after: datetime, until: datetime
) -> set[str]:
    """Which of these teams have an unscheduled hot topic due in (after, until]: one read
    for every team, so that a tick asks `hot_ideas` of those only."""
    wanted = list(team_ids)
    statement = select(Topic.team_id).where(
        Topic.status == "idea",
        col(Topic.hot).is_(True),
        col(Topic.deadline) > after,
        col(Topic.deadline) <= until,
    )
    found = {str(team_id) for team_id in session.exec(statement.distinct())}
    return found & set(wanted)


@dataclass(frozen=True)
class BacklogFilter:
    """Which topics a backlog listing shows; every field narrows it."""

    statuses: tuple[str, ...] | None = ("idea",)  # None: every status
    created_by: str | None = None
    platform: str | None = None
    priorities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # each one must be among the topic's tags


PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}


def backlog_page(
    session: Session, *, team_id: str, wanted: BacklogFilter, limit: int
) -> tuple[Sequence[Row[Any]], int]:
    """The first `limit` topics in backlog order, and how many match in all.

    Backlog order is priority, then score, then votes, then age (oldest first), all in
    SQL: one statement whatever the size of the backlog, which reads only the columns a
    listing line shows and only the rows it shows (the count rides along, counted from the
    index), so a team with a thousand ideas waits little longer for its first thirty than
    a new one.
    Rows carry `id title tags platform score priority status hot deadline votes total`.
    """
    dialect = session.get_bind().dialect.name
    statuses = wanted.statuses
    statement = _backlog_statement(
        dialect,
        statuses=None if statuses is None else len(statuses),
        mine=wanted.created_by is not None,
        platform=wanted.platform is not None,
        priorities=len(wanted.priorities),
        tags=len(wanted.tags),
    )
    params: dict[str, object] = {"team_id": team_id, "limit": limit}
    params.update({f"status_{n}": status for n, status in enumerate(statuses or ())})
    if wanted.created_by is not None:
        params["created_by"] = wanted.created_by
    if wanted.platform is not None:
        params["platform"] = wanted.platform
    params.update({f"priority_{n}": priority for n, priority in enumerate(wanted.priorities)})
    params.update({f"tag_{n}": tag for n, tag in enumerate(wanted.tags)})
    rows = prepared.rows(session, statement, params)
    return rows, (rows[0].total if rows else 0)


@lru_cache(maxsize=64)
def _backlog_statement(
    dialect: str, *, statuses: int | None, mine: bool, platform: bool, priorities: int, tags: int
) -> Select[Any]:
    """Built once per shape of filter (and dialect, for the tag test), with a parameter
    for each status and priority asked for: an `IN` over an expanding list would have
    its SQL finished anew on every run, which `prepared` cannot keep."""
    topics = _TOPICS

    def matching(table: Any) -> list[Any]:
        conditions = [table.c.team_id == bindparam("team_id")]
        if statuses is not None:
            conditions.append(table.c.status.in_(_binds("status", statuses)))
        if mine:
            conditions.append(table.c.created_by == bindparam("created_by"))
        if platform:
            conditions.append(table.c.platform == bindparam("platform"))
        if priorities:
            conditions.append(table.c.priority.in_(_binds("priority", priorities)))
        conditions += [has_tag(dialect, table.c.tags, bindparam(f"tag_{n}")) for n in range(tags)]
        return conditions

    # The count of every match as an uncorrelated subquery, which the database runs once
    # from the index; `count(*) OVER ()` would make it keep every matching row (titles,
    # tags) until the last, 3.5x the cost of the page at a thousand ideas.
    counted = topics.alias("counted")
    total = core_select(func.count()).where(*matching(counted)).scalar_subquery().label("total")
    rank = priority_rank(topics.c.priority)  # the expression `ix_topics_backlog` is on
    columns = [topics.c[name] for name in _LINE_COLUMNS]
    return (
        core_select(*columns, total)
        .where(and_(*matching(topics)))
        # The order of `ix_topics_backlog`, column for column: read from it, never sorted.
        .order_by(
            rank, topics.c.score.desc(), topics.c.votes.desc(), topics.c.created_at, topics.c.id
        )
        .limit(bindparam("limit", type_=Integer()))
    )


def _binds(name: str, count: int) -> list[Any]:
    """`count` parameters `name_0` … (strings) for an `IN` list of a fixed length."""
    return [bindparam(f"{name}_{n}", type_=String()) for n in range(count)]


_LINE_COLUMNS = ("id", "title", "tags", "platform", "score", "priority", "status", "hot",
                 "deadline", "votes")  # fmt: skip


def has_tag(dialect: str, tags: Any, tag: Any) -> Any:
    """`tag` is one of the JSON array's strings, tested by the database."""
    if dialect == "postgresql":
        elements = func.json_array_elements_text(tags).table_valued("value")
    else:
        elements = func.json_each(tags).table_valued("value")
    return exists().where(elements.c.value == tag)
