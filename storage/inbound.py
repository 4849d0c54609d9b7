"""Recognising a platform's retried delivery of something already handled."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage import prepared
from storage.db import insert_unless_taken
from storage.models import InboundEvent

_EVENTS = InboundEvent.__table__  # type: ignore[attr-defined]


def first_delivery(session: Session, *, platform: str, event_id: str, now: datetime) -> bool:
    """Record a delivery; False when this event was already received (a retry).

    One statement: the unique key decides, also between processes.
    """
    key = ("platform", "event_id")
    statement = insert_unless_taken(_EVENTS, session.get_bind().dialect.name, key)
    parameters = {"platform": platform, "event_id": event_id[:255], "received_at": now}
    return prepared.first(session, statement, parameters) is not None


def prune(session: Session, *, before: datetime) -> int:
    """Forget deliveries received before `before` (past every platform's retry window:
    Slack retries within minutes, Feishu and WeCom within hours); how many were removed."""
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    result = session.connection().execute(table.delete().where(table.c.received_at < before))
    return int(result.rowcount or 0)
