"""Recognising a platform's retried delivery of something already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import InboundEvent


def first_delivery(session: Session, *, platform: str, event_id: str, now: datetime) -> bool:
    """Record a delivery; False when this event was already received (a retry)."""
    seen = select(InboundEvent.id).where(
        InboundEvent.platform == platform, InboundEvent.event_id == event_id
    )
    if session.exec(seen).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(InboundEvent(platform=platform, event_id=event_id[:255], received_at=now))
    except IntegrityError:
        return False
    return True
