"""The outbox drains a batch at a time: a claim, the sends, one record of what went out.
A hundred posts cost a few statements, not a few hundred, and an item held up behind
a failing one is given back exactly as it was."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.core.messages import Reply, reply_to_dict
from bot.core.outbound import DeliveryError, OutgoingMessage
from bot.runtime.delivery import CLAIM_FOR, deliver_due
from storage import outbox as outbox_store
from storage.db import transaction
from storage.models import OutboxItem
from tests.conftest import BotDriver
from tests.sql_counting import statements


class Sender:
    """Takes every message, but refuses the ones named in `refuse` once each."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        if message.idempotency_key in self.refuse:
            self.refuse.discard(message.idempotency_key)
            raise DeliveryError("down for a moment")
        self.sent.append(message)


def enqueue(bot: BotDriver, keys: list[str], target: str = "team") -> None:
    with transaction(bot.bot.engine) as session:
        for key in keys:
            outbox_store.enqueue(
                session, team_id="content", key=key, platform="webhook", target=target,
                kind="test", payload=reply_to_dict(Reply(key)), now=bot.clock.now(),
            )  # fmt: skip


def delivered_with_statements(bot: BotDriver, items: int) -> int:
    enqueue(bot, [f"{items}-{n}" for n in range(items)], target=f"member:m{items}")
    sender = Sender()
    with statements(bot.bot.engine) as sent:
        report = deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)
    assert report.sent == items
    assert [m.idempotency_key for m in sender.sent] == [f"{items}-{n}" for n in range(items)]
    return len(sent)


def test_two_hundred_posts_cost_a_few_statements_more_than_twenty(bot: BotDriver) -> None:
    twenty = delivered_with_statements(bot, 20)
    two_hundred = delivered_with_statements(bot, 200)

    assert two_hundred - twenty <= 6  # a claim and a record for each further hundred
    assert {row["status"] for row in bot.export()["outbox"]} == {"sent"}


def test_an_item_held_up_behind_a_failing_one_is_given_back_as_it_was(bot: BotDriver) -> None:
    """The second item was left `sending` by a deliverer that died: claimed in the same
    batch as the first, which fails, it goes back to `sending` with the old claim, so the
    next deliverer still knows it may already be in the channel."""
    enqueue(bot, ["first", "second"])
    now = bot.clock.now()
    dead_claim = now - timedelta(seconds=1)  # ran out a second ago
    with transaction(bot.bot.engine) as session:
        session.exec(
            update(OutboxItem)
            .where(col(OutboxItem.idempotency_key) == "second")
            .values(status="sending", claimed_until=dead_claim)
        )
    sender = Sender(refuse={"first"})

    report = deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)

    assert (report.sent, report.retried) == (0, 1)
    with transaction(bot.bot.engine) as session:
        rows = {row.idempotency_key: row for row in session.exec(select(OutboxItem))}
        assert (rows["first"].status, rows["first"].claimed_until) == ("pending", None)
        assert (rows["second"].status, rows["second"].claimed_until) == ("sending", dead_claim)

    bot.clock.advance(timedelta(minutes=1))  # the first one's backoff is over
    deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)

    assert [m.idempotency_key for m in sender.sent] == ["first", "second"]  # in order
    assert sender.sent[1].maybe_sent_since == dead_claim - CLAIM_FOR
