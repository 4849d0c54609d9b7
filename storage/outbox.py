"""The outbox: what the bot sends on its own, until a chat platform has taken it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
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


def claim(session: Session, *, item_id: int, now: datetime, until: datetime) -> OutboxItem | None:
    """Take an item for delivery: the row as it was just before this claim (detached), or
    None when another deliverer holds it.

    The caller decides how to send from the returned row, not from an earlier read: a row
    read a moment ago as `pending` may since have been claimed by a deliverer that died
    mid-send, and only the row this claim replaced says so (`sending`, its old claim). The
    update is conditional on exactly that row, so two deliverers never both win it.
    """
    seen = session.get(OutboxItem, item_id, populate_existing=True)
    if seen is None:
        return None
    free = (seen.status == "pending" and seen.next_attempt_at <= now) or (
        seen.status == "sending" and seen.claimed_until is not None and seen.claimed_until < now
    )
    if not free:  # held, done, or failed a moment ago and waiting out its backoff
        return None
    statement = (
        update(OutboxItem)
        .where(
            col(OutboxItem.id) == item_id,
            col(OutboxItem.status) == seen.status,
            col(OutboxItem.attempts) == seen.attempts,
            col(OutboxItem.parts_sent) == seen.parts_sent,
            col(OutboxItem.claimed_until).is_(None)
            if seen.claimed_until is None
            else col(OutboxItem.claimed_until) == seen.claimed_until,
        )
        .values(status="sending", claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    if session.exec(statement).rowcount != 1:
        return None
    session.expunge(seen)
    return seen


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
