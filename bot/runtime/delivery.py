"""Delivering the outbox: each message once, in order per channel, with retries.

Each item's address (the team's channel on that platform, or the member's id there) is
resolved here, from the config and the identities table, so a chat plug-in's sender gets
it ready-made and never touches storage. A sender raises `DeliveryError` when a platform
refuses or is down; the item is retried
with exponential backoff (or after the platform's `Retry-After`), and after the last try
it is marked failed, which `opsbot doctor` shows. Items are claimed before sending, so
several deliverers never send the same item at once; a later item of a channel waits
while an earlier one is still being retried, so a channel's messages keep their order.
A deliverer that is told to stop (`stopping`: `opsbot run` on SIGTERM) finishes the item
it is sending, begins no other, and gives the rest of its batch back at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from bot.chat import BY_NAME, CONSOLE
from bot.core.clock import Clock
from bot.core.config import ConfigError, Settings
from bot.core.messages import reply_from_dict
from bot.core.outbound import DeliveryError, OutgoingMessage, Sender
from storage import identities
from storage import outbox as outbox_store
from storage.db import snapshot, transaction
from storage.models import OutboxItem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
CLAIM_FOR = timedelta(minutes=5)
DELIVERY_BATCH = 100  # items claimed, addressed and marked sent in one transaction each


class Addresses(Protocol):
    def address(self, session: Session, item: OutboxItem) -> str:
        """Where on its platform the item goes; raises DeliveryError if nowhere."""
        ...


class AsTargeted:
    """Addresses as the outbox targets them (`team`, `member:<id>`): for senders that
    take no platform address, such as a test's webhook."""

    def address(self, session: Session, item: OutboxItem) -> str:
        return item.target


class TeamAddresses:
    """The team's channel from the config (or the plug-in's default), a member's id on
    the platform from the identities table."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._teams = {team.id: team for team in settings.teams}  # not a scan an item

    def address(self, session: Session, item: OutboxItem) -> str:
        team = self._teams.get(item.team_id)
        if team is None:
            try:
                team = self.settings.team(item.team_id)  # raises, naming the known teams
            except ConfigError as error:
                raise DeliveryError(str(error), retryable=False) from None
        platform = BY_NAME.get(item.platform)
        if platform is None:
            raise DeliveryError(f"no chat platform {item.platform!r}", retryable=False)
        if item.target == "team":
            channel = team.channels.get(item.platform) or platform.default_channel(team)
            if not channel:
                raise DeliveryError(
                    f"teams.{team.id}.channels.{item.platform} is not set", retryable=False
                )
            return channel
        member_id = item.target.removeprefix("member:")
        if item.platform == CONSOLE:
            return member_id
        external = identities.external_id(
            session, team_id=team.id, member_id=member_id, platform=item.platform
        )
        if external is None:
            raise DeliveryError(f"member {member_id} has no {item.platform} id", retryable=False)
        return external


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    contended: int = 0  # items another deliverer held when this one came to claim them


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """The wait before the next try: the platform's Retry-After, else 30 s doubling to 1 h."""
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 0))
    doubled: timedelta = BASE_DELAY * 2 ** max(attempts - 1, 0)
    return min(doubled, MAX_DELAY)


def maybe_sent_since(item: OutboxItem) -> datetime | None:
    """When an earlier try that may have reached the platform began, or None.

    A row still `sending` (its claim ran out: the deliverer was killed mid-send) was
    claimed at `claimed_until - CLAIM_FOR`. A row tried before (`attempts`) may have
    failed after the platform took the post (a timeout on the answer); when that try
    began is not kept, so from the item's creation — its tries span about an hour.
    """
    if item.status == "sending" and item.claimed_until is not None:
        return item.claimed_until - CLAIM_FOR
    if item.attempts > 0:
        return item.created_at
    return None


def _message(engine: Engine, item: OutboxItem, address: str) -> OutgoingMessage:
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
        address,
        item.kind,
        item.idempotency_key,
        reply_from_dict(item.payload),
        parts_sent=item.parts_sent,
        record_parts_sent=record_parts_sent,
        maybe_sent_since=maybe_sent_since(item),
    )


def deliver_due(
    engine: Engine,
    senders: dict[str, Sender],
    clock: Clock,
    addresses: Addresses | None = None,
    stopping: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send every outbox item that is due, oldest first (until `stopping()` says so).

    Items are claimed, addressed and marked sent a batch at a time (a transaction each,
    not three an item). A deliverer killed mid-batch leaves the batch's items `sending`:
    the next one treats each as maybe sent (`maybe_sent_since`), as it does the item a
    deliverer was killed sending.
    """
    addresses = addresses or AsTargeted()
    stopping = stopping or _never
    report = DeliveryReport()
    for _pass in range(PASSES):
        sent, contended = report.sent, report.contended
        _deliver_pass(engine, senders, clock, addresses, stopping, report)
        if (report.sent, report.contended) == (sent, contended) or stopping():
            break
    return report


# A deliverer that sent something looks again: another one that found this one holding a
# channel's item stepped back from the channel's later items (to keep its order), and
# they may have been queued only after this one's first look. One that found items
# claimed by another looks again too (that one may give them back). A pass that neither
# sends nor meets anyone ends it.
PASSES = 5


def _deliver_pass(
    engine: Engine,
    senders: dict[str, Sender],
    clock: Clock,
    addresses: Addresses,
    stopping: Callable[[], bool],
    report: DeliveryReport,
) -> None:
    """One pass over the open items, oldest first."""
    with transaction(engine) as session:
        items = outbox_store.open_items(session)
    blocked: set[tuple[str, str]] = set()
    batch: list[OutboxItem] = []
    for item in items:
        if stopping():
            return
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
        batch.append(item)
        if len(batch) == DELIVERY_BATCH:
            _deliver_batch(engine, batch, senders, clock, addresses, blocked, report, stopping)
            batch = []
    _deliver_batch(engine, batch, senders, clock, addresses, blocked, report, stopping)


def _never() -> bool:
    return False


def _deliver_batch(
    engine: Engine,
    batch: list[OutboxItem],
    senders: dict[str, Sender],
    clock: Clock,
    addresses: Addresses,
    blocked: set[tuple[str, str]],
    report: DeliveryReport,
    stopping: Callable[[], bool],
) -> None:
    """Claim the batch, send each item in order (unless its channel is held up by an
    earlier item, or the deliverer is stopping), then mark what went out as sent and give
    back what did not."""
    if not batch or stopping():
        return
    now = clock.now()
    until = now + CLAIM_FOR
    with transaction(engine) as session:
        claimed = outbox_store.claim_many(
            session, item_ids=[item.id or 0 for item in batch], now=now, until=until
        )
    found: dict[int, str | DeliveryError] = {}
    with snapshot(engine) as session:
        for row in claimed.values():
            try:
                found[row.id or 0] = addresses.address(session, row)
            except DeliveryError as error:
                found[row.id or 0] = error
    sent: list[tuple[int, datetime]] = []
    unsent: list[OutboxItem] = []
    for listed in batch:
        channel = (listed.platform, listed.target)
        item = claimed.get(listed.id or 0)  # as it was when claimed: it says how to send
        late = clock.now() >= now + CLAIM_FOR / 2
        if item is None or channel in blocked or late or stopping():
            blocked.add(channel)  # not ours, held up, our claim is getting old, or stopping
            if item is None:
                report.contended += 1
            if item is not None:
                unsent.append(item)
            continue
        sender = senders.get(item.platform)
        try:
            if sender is None:
                raise DeliveryError(f"no sender for platform {item.platform!r}", retryable=False)
            address = found[item.id or 0]
            if isinstance(address, DeliveryError):
                raise address
            sender.send(_message(engine, item, address))
        except DeliveryError as error:
            blocked.add(channel)
            _record_failure(engine, item, error, clock.now(), report)
            continue
        except Exception as error:  # a bug in a sender must not stop the others
            log.exception("sending outbox item %s failed", item.id)
            blocked.add(channel)
            _record_failure(engine, item, DeliveryError(repr(error)), clock.now(), report)
            continue
        sent.append((item.id or 0, clock.now()))
        report.sent += 1
    with transaction(engine) as session:
        outbox_store.mark_sent(session, sent=sent)
        outbox_store.release(session, claimed=unsent, ours=until)


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
