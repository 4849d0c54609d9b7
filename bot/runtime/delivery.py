"""Delivering the outbox: each message once, in order per channel, with retries.

A sender raises `DeliveryError` when a platform refuses or is down; the item is retried
with exponential backoff (or after the platform's `Retry-After`), and after the last try
it is marked failed, which `opsbot doctor` shows. Items are claimed before sending, so
several deliverers never send the same item at once; a later item of a channel waits
while an earlier one is still being retried, so a channel's messages keep their order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import Engine

from bot.core.clock import Clock
from bot.core.messages import Reply, reply_from_dict
from storage import outbox as outbox_store
from storage.db import transaction
from storage.models import OutboxItem

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
CLAIM_FOR = timedelta(minutes=5)


def _nowhere(parts_sent: int) -> None:
    pass


@dataclass(frozen=True)
class OutgoingMessage:
    """What a sender gets: where it goes, what kind of post it is, and the reply.

    A sender that splits the reply into several posts sends them through `undelivered`
    and reports each one with `delivered`: a try that fails halfway is retried from the
    first part the platform has not taken, so no part is posted twice.
    """

    id: int
    team_id: str
    target: str  # "team" or "member:<id>"
    kind: str
    idempotency_key: str
    reply: Reply
    parts_sent: int = 0
    record_parts_sent: Callable[[int], None] = _nowhere

    def undelivered(self, parts: Iterable[T]) -> Iterator[tuple[int, T]]:
        """(number, part) for each part from the first one not yet delivered; 1-based."""
        for number, part in enumerate(parts, start=1):
            if number > self.parts_sent:
                yield number, part

    def delivered(self, number: int) -> None:
        """Parts 1…`number` have been taken by the platform (recorded at once)."""
        self.record_parts_sent(number)


class DeliveryError(Exception):
    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None:
        """Deliver one message or raise DeliveryError."""
        ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """The wait before the next try: the platform's Retry-After, else 30 s doubling to 1 h."""
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 0))
    return min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def _message(engine: Engine, item: OutboxItem) -> OutgoingMessage:
    assert item.id is not None
    item_id = item.id

    def record_parts_sent(parts_sent: int) -> None:
        with transaction(engine) as session:
            row = session.get(OutboxItem, item_id)
            assert row is not None
            row.parts_sent = parts_sent

    return OutgoingMessage(
        item.id,
        item.team_id,
        item.target,
        item.kind,
        item.idempotency_key,
        reply_from_dict(item.payload),
        parts_sent=item.parts_sent,
        record_parts_sent=record_parts_sent,
    )


def deliver_due(engine: Engine, senders: dict[str, Sender], clock: Clock) -> DeliveryReport:
    """Send every outbox item that is due, oldest first."""
    report = DeliveryReport()
    with transaction(engine) as session:
        items = outbox_store.open_items(session)
    blocked: set[tuple[str, str]] = set()
    for item in items:
        channel = (item.platform, item.target)
        now = clock.now()
        if channel in blocked:
            continue
        held = (
            item.status == "sending" and item.claimed_until is not None and item.claimed_until > now
        )
        if item.next_attempt_at > now or held:
            blocked.add(channel)  # keep the channel's order: nothing overtakes this item
            continue
        with transaction(engine) as session:
            if not outbox_store.claim(
                session, item_id=item.id or 0, now=now, until=now + CLAIM_FOR
            ):
                blocked.add(channel)
                continue
        sender = senders.get(item.platform)
        try:
            if sender is None:
                raise DeliveryError(f"no sender for platform {item.platform!r}", retryable=False)
            sender.send(_message(engine, item))
        except DeliveryError as error:
            blocked.add(channel)
            _record_failure(engine, item, error, clock.now(), report)
            continue
        except Exception as error:  # a bug in a sender must not stop the others
            log.exception("sending outbox item %s failed", item.id)
            blocked.add(channel)
            _record_failure(engine, item, DeliveryError(repr(error)), clock.now(), report)
            continue
        with transaction(engine) as session:
            row = session.get(OutboxItem, item.id)
            assert row is not None
            row.status, row.sent_at, row.claimed_until = "sent", clock.now(), None
            row.attempts += 1
        report.sent += 1
    return report


def _record_failure(
    engine: Engine, item: OutboxItem, error: DeliveryError, now: datetime, report: DeliveryReport
) -> None:
    with transaction(engine) as session:
        row = session.get(OutboxItem, item.id)
        assert row is not None
        row.attempts += 1
        row.last_error = str(error)[:500]
        row.claimed_until = None
        if error.retryable and row.attempts < MAX_ATTEMPTS:
            row.status = "pending"
            row.next_attempt_at = now + backoff(row.attempts, error.retry_after)
            report.retried += 1
            log.warning("outbox item %s (%s) will be retried: %s", row.id, row.kind, error)
        else:
            row.status = "failed"
            report.failed += 1
            log.error("outbox item %s (%s) failed for good: %s", row.id, row.kind, error)
