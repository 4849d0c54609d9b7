"""The outbox: what the bot sends on its own, until a chat platform has taken it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, func, select

from storage.models import OutboxItem

OPEN_STATUSES = ("pending", "sending")


def enqueue(
    session: Session,
    *,
    team_id: str,
    key: str,
    platform: str,
    target: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
) -> bool:
    """Add a message unless one with the same idempotency key exists; True if added."""
    exists = session.exec(select(OutboxItem.id).where(OutboxItem.idempotency_key == key)).first()
    if exists is not None:
        return False
    session.add(
        OutboxItem(
            team_id=team_id, idempotency_key=key, platform=platform, target=target, kind=kind,
            payload=payload, next_attempt_at=now, created_at=now,
        )
    )  # fmt: skip
    return True


def open_items(session: Session) -> list[OutboxItem]:
    """Everything not yet delivered or given up, oldest first (the delivery order)."""
    statement = select(OutboxItem).where(col(OutboxItem.status).in_(OPEN_STATUSES))
    return list(session.exec(statement.order_by(col(OutboxItem.id))))


def claim(session: Session, *, item_id: int, now: datetime, until: datetime) -> bool:
    """Take an item for delivery; False when another deliverer holds it."""
    statement = (
        update(OutboxItem)
        .where(
            col(OutboxItem.id) == item_id,
            or_(
                col(OutboxItem.status) == "pending",
                (col(OutboxItem.status) == "sending") & (col(OutboxItem.claimed_until) < now),
            ),
        )
        .values(status="sending", claimed_until=until)
    )
    return session.exec(statement).rowcount == 1


def counts(session: Session) -> dict[str, int]:
    statement = select(OutboxItem.status, func.count()).group_by(col(OutboxItem.status))
    return dict(session.exec(statement).all())


def failed_items(session: Session, *, limit: int = 10) -> list[OutboxItem]:
    statement = select(OutboxItem).where(OutboxItem.status == "failed")
    return list(session.exec(statement.order_by(col(OutboxItem.id).desc()).limit(limit)))


def prune_sent(session: Session, *, before: datetime) -> int:
    """Remove items delivered before `before`: the ledger (`job_runs`), not the outbox,
    is what keeps a post from going out twice, so old sent items are only weight."""
    statement = delete(OutboxItem).where(
        col(OutboxItem.status) == "sent", col(OutboxItem.sent_at) < before
    )
    return int(session.exec(statement).rowcount or 0)
