"""The chat platform goes down and comes back: nothing is lost, nothing is sent twice,
and each channel's messages arrive in order."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bot.core.messages import Reply, reply_to_dict
from bot.runtime.delivery import MAX_ATTEMPTS, deliver_due
from storage import outbox as outbox_store
from storage.db import transaction
from tests.conftest import BotDriver
from tests.fakes import WebhookSender, fake_service


def enqueue(bot: BotDriver, key: str, target: str) -> None:
    with transaction(bot.bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key=key, platform="webhook", target=target, kind="test",
            payload=reply_to_dict(Reply(key)), now=bot.clock.now(),
        )  # fmt: skip


def test_an_outage_then_a_rate_limit_then_recovery(bot: BotDriver) -> None:
    answers = itertools.chain([500, 500, 503, 429], itertools.repeat(200))

    def respond(body: dict) -> tuple[int, dict[str, str]]:
        status = next(answers)
        return status, ({"Retry-After": "120"} if status == 429 else {})

    for key, target in [
        ("t1", "team"),
        ("m1", "member:bob"),
        ("t2", "team"),
        ("t3", "team"),
        ("m2", "member:bob"),
    ]:
        enqueue(bot, key, target)
    with fake_service(respond) as service:
        sender = WebhookSender(service.url)
        for _ in range(40):
            deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)
            bot.clock.advance(timedelta(seconds=30))
            with transaction(bot.bot.engine) as session:
                if not outbox_store.open_items(session):
                    break

    delivered = [
        body["key"]
        for body, status in zip(service.requests, service.responses, strict=True)
        if status == 200
    ]
    assert sorted(delivered) == ["m1", "m2", "t1", "t2", "t3"]  # every item, exactly once
    assert [k for k in delivered if k.startswith("t")] == ["t1", "t2", "t3"]  # in order per channel
    assert [k for k in delivered if k.startswith("m")] == ["m1", "m2"]
    statuses = {row["idempotency_key"]: row["status"] for row in bot.export()["outbox"]}
    assert set(statuses.values()) == {"sent"}
    rate_limited_at = service.responses.index(429)
    retried_key = service.requests[rate_limited_at]["key"]
    retry = next(
        index for index in range(rate_limited_at + 1, len(service.requests))
        if service.requests[index]["key"] == retried_key
    )  # fmt: skip
    assert retry > rate_limited_at


def test_retry_after_is_honoured(bot: BotDriver) -> None:
    answers = iter([429, 200])
    with fake_service(
        lambda body: (s := next(answers), {"Retry-After": "120"} if s == 429 else {})
    ) as service:
        enqueue(bot, "k", "team")
        sender = WebhookSender(service.url)
        deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)
        bot.clock.advance(timedelta(seconds=119))
        deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)
        assert service.responses == [429]  # not before Retry-After
        bot.clock.advance(timedelta(seconds=1))
        deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)
        assert service.responses == [429, 200]


def test_after_the_last_try_an_item_is_failed_and_visible(bot: BotDriver) -> None:
    with fake_service(lambda body: (500, {})) as service:
        enqueue(bot, "doomed", "team")
        sender = WebhookSender(service.url)
        for _ in range(MAX_ATTEMPTS + 2):
            deliver_due(bot.bot.engine, {"webhook": sender}, bot.clock)
            bot.clock.advance(timedelta(hours=2))
    assert len(service.requests) == MAX_ATTEMPTS
    (row,) = bot.export()["outbox"]
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "failed",
        MAX_ATTEMPTS,
        "server error 500",
    )


def test_a_refusal_is_not_retried(bot: BotDriver) -> None:
    with fake_service(lambda body: (403, {})) as service:
        enqueue(bot, "refused", "team")
        deliver_due(bot.bot.engine, {"webhook": WebhookSender(service.url)}, bot.clock)
        bot.clock.advance(timedelta(hours=2))
        deliver_due(bot.bot.engine, {"webhook": WebhookSender(service.url)}, bot.clock)
    assert len(service.requests) == 1
    assert bot.export()["outbox"][0]["status"] == "failed"


def test_a_list_read_before_a_failure_does_not_skip_the_backoff(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another deliverer failed the item after this one listed it: the item waits out its
    backoff instead of being sent again at once."""
    enqueue(bot, "t1", "team")
    with transaction(bot.bot.engine) as session:
        (stale,) = outbox_store.open_items(session)
        session.expunge(stale)
    with fake_service(lambda body: (503, {})) as service:
        deliver_due(bot.bot.engine, {"webhook": WebhookSender(service.url)}, bot.clock)
        assert len(service.requests) == 1  # failed; retried in 30 s
        monkeypatch.setattr(outbox_store, "open_items", lambda session: [stale])
        deliver_due(bot.bot.engine, {"webhook": WebhookSender(service.url)}, bot.clock)
        assert len(service.requests) == 1
