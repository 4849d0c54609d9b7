"""The outbox: what the bot sends on its own, until a chat platform has taken it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, update
from sqlmodel import Session, col, func, select

from storage import prepared
from storage.db import insert_unless_taken
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
    """Add a message unless one with the same idempotency key exists; True if added.

    One statement, the unique key deciding (a tick posts for every team it walks)."""
    row = {
        "team_id": team_id, "idempotency_key": key, "platform": platform, "target": target,
        "kind": kind, "payload": payload, "status": "pending", "attempts": 0, "parts_sent": 0,
        "next_attempt_at": now, "created_at": now,
    }  # fmt: skip
    statement = insert_unless_taken(_OUTBOX, session.get_bind().dialect.name, ("idempotency_key",))
    return prepared.first(session, statement, row) is not None


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


def claim_many(
    session: Session, *, item_ids: Sequence[int], now: datetime, until: datetime
) -> dict[int, OutboxItem]:
    """Take several items for delivery in one statement or two: `claim` for each, by id.

    The rows are read locked (PostgreSQL skips those another deliverer is claiming;
    SQLite's write lock keeps everyone else out), so the update needs no condition.
    """
    if not item_ids:
        return {}
    statement = (
        select(OutboxItem)
        .where(col(OutboxItem.id).in_(list(item_ids)))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    free = [row for row in session.exec(statement) if _free(row, now)]
    if not free:
        return {}
    session.execute(
        update(OutboxItem)
        .where(col(OutboxItem.id).in_([row.id for row in free]))
        .values(status="sending", claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    for row in free:
        session.expunge(row)
    return {row.id: row for row in free if row.id is not None}


def _free(row: OutboxItem, now: datetime) -> bool:
    """Pending and due, or held by a claim that has run out (its deliverer died)."""
    return (row.status == "pending" and row.next_attempt_at <= now) or (
        row.status == "sending" and row.claimed_until is not None and row.claimed_until < now
    )


_OUTBOX: Table = OutboxItem.__table__  # type: ignore[attr-defined]
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("item_id"))
    .values(
        status="sent",
        sent_at=bindparam("sent_at"),
        claimed_until=None,
        attempts=_OUTBOX.c.attempts + 1,
    )
)
_RELEASE = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("item_id"),
        _OUTBOX.c.status == "sending",
        _OUTBOX.c.claimed_until == bindparam("ours"),
    )
    .values(status=bindparam("was_status"), claimed_until=bindparam("was_claimed_until"))
)


def mark_sent(session: Session, *, sent: Sequence[tuple[int, datetime]]) -> None:
    """Record that the platform took these items, at these times, in one statement."""
    if sent:
        session.connection().execute(
            _MARK_SENT, [{"item_id": item_id, "sent_at": at} for item_id, at in sent]
        )


def release(session: Session, *, claimed: Sequence[OutboxItem], ours: datetime) -> None:
    """Give back items claimed (until `ours`) but not sent, as they were before the claim:
    a row a dead deliverer left `sending` must still say so to the next one."""
    if claimed:
        session.connection().execute(
            _RELEASE,
            [
                {
                    "item_id": row.id,
                    "ours": ours,
                    "was_status": row.status,
                    "was_claimed_until": row.claimed_until,
                }
                for row in claimed
            ],
        )


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
