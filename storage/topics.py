"""Data access for the topic backlog and votes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import Topic, Vote


def add_topic(session: Session, topic: Topic) -> Topic:
    session.add(topic)
    session.flush()
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


def vote_counts(session: Session, *, topic_ids: Iterable[int]) -> dict[int, int]:
    ids = list(topic_ids)
    if not ids:
        return {}
    return dict(session.exec(_VOTE_COUNTS, params={"topic_ids": ids}).all())


# Built once: a fresh IN list costs a coercion per id and a new cache key on every list.
_VOTE_COUNTS = (
    select(Vote.topic_id, func.count())
    .where(col(Vote.topic_id).in_(bindparam("topic_ids", expanding=True)))
    .group_by(col(Vote.topic_id))
)


def add_vote(session: Session, *, topic_id: int, member_id: str, now: datetime) -> bool:
    """Record a vote; False when this member had already voted for this topic.

    The primary key (topic, member) is the real guard, so two simultaneous votes by the
    same person still count once; the savepoint keeps the surrounding work intact.
    """
    if session.get(Vote, (topic_id, member_id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Vote(topic_id=topic_id, member_id=member_id, voted_at=now))
    except IntegrityError:
        if session.get(Vote, (topic_id, member_id)) is not None:
            return False  # the same member's vote landed first from another request
        raise
    return True


def remove_vote(session: Session, *, topic_id: int, member_id: str) -> bool:
    """Take a member's vote back; False when they had not voted for this topic."""
    vote = session.get(Vote, (topic_id, member_id))
    if vote is None:
        return False
    session.delete(vote)
    session.flush()
    return True
