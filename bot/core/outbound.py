"""What the bot sends on its own, as a chat platform's sender receives it.

The runtime's delivery loop reads the outbox and hands each item to the sender of its
chat platform as an `OutgoingMessage`, with the `address` already resolved (the team's
channel, or the member's id on that platform), so senders know nothing of storage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from bot.core.messages import Reply

T = TypeVar("T")


def _nowhere(parts_sent: int) -> None:
    pass


@dataclass(frozen=True)
class OutgoingMessage:
    """Where a post goes, what kind of post it is, and the reply.

    `target` is `team` (the team's channel) or `member:<id>` (a direct message);
    `address` is that channel or person on the sender's platform. A sender that splits
    the reply into several posts sends them through `undelivered` and reports each one
    with `delivered`: a try that fails halfway is retried from the first part the
    platform has not taken, so no part is posted twice.

    `maybe_sent_since` is set when an earlier try may have reached the platform without
    being recorded — its deliverer died mid-send (the item was still `sending` when its
    claim ran out) or the try failed after the request left (a timeout) — and is when
    that try could have begun. `parts_sent` cannot say whether the next part was taken,
    so a sender that can look at what the platform holds (Slack's channel history)
    checks from then on before posting it again. None: nothing was in flight.
    """

    id: int
    team_id: str
    target: str
    address: str
    kind: str
    idempotency_key: str
    reply: Reply
    parts_sent: int = 0
    record_parts_sent: Callable[[int], None] = _nowhere
    maybe_sent_since: datetime | None = None

    @property
    def to_team(self) -> bool:
        return self.target == "team"

    @property
    def member_id(self) -> str | None:
        return self.target.removeprefix("member:") if self.target.startswith("member:") else None

    def undelivered(self, parts: Iterable[T]) -> Iterator[tuple[int, T]]:
        """(number, part) for each part from the first one not yet delivered; 1-based."""
        for number, part in enumerate(parts, start=1):
            if number > self.parts_sent:
                yield number, part

    def delivered(self, number: int) -> None:
        """Parts 1…`number` have been taken by the platform (recorded at once)."""
        self.record_parts_sent(number)


class DeliveryError(Exception):
    """A platform refused a message or is down; `retryable` says whether to try again."""

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
