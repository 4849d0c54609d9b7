"""Recognising a platform's retried delivery of something already handled."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.models import InboundEvent


@cache
def _record_statement(dialect: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, built once per dialect: it runs on
    every incoming request, and building the statement cost more than running it."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    return (
        insert(table)
        .values(
            platform=bindparam("platform"),
            event_id=bindparam("event_id"),
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(table.c.id)
    )


def first_delivery(session: Session, *, platform: str, event_id: str, now: datetime) -> bool:
    """Record a delivery; False when this event was already received (a retry).

    One statement: the unique key decides, also between processes.
    """
    statement = _record_statement(session.get_bind().dialect.name)
    parameters = {"platform": platform, "event_id": event_id[:255], "received_at": now}
    return session.connection().execute(statement, parameters).first() is not None


def prune(session: Session, *, before: datetime) -> int:
    """Forget deliveries received before `before` (past every platform's retry window:
    Slack retries within minutes, Feishu and WeCom within hours); how many were removed."""
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    result = session.connection().execute(table.delete().where(table.c.received_at < before))
    return int(result.rowcount or 0)
