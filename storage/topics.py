"""Data access for the topic backlog and votes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
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
    statement = select(Topic).where(Topic.team_id == team_id)
    if statuses is not None:
        statement = statement.where(col(Topic.status).in_(list(statuses)))
    return list(session.exec(statement.order_by(col(Topic.id))))


def vote_counts(session: Session, *, topic_ids: Iterable[int]) -> dict[int, int]:
    ids = list(topic_ids)
    if not ids:
        return {}
    statement = (
        select(Vote.topic_id, func.count())
        .where(col(Vote.topic_id).in_(ids))
        .group_by(col(Vote.topic_id))
    )
    return dict(session.exec(statement).all())


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
