"""Recognising a platform's retried delivery of something already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.models import InboundEvent


def first_delivery(session: Session, *, platform: str, event_id: str, now: datetime) -> bool:
    """Record a delivery; False when this event was already received (a retry).

    One INSERT … ON CONFLICT DO NOTHING: it runs on every incoming request, so it is
    kept to a single statement; the unique key decides, also between processes.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(InboundEvent)
        .values(platform=platform, event_id=event_id[:255], received_at=now)
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(InboundEvent.id)
    )
    return session.connection().execute(statement).first() is not None
