"""A post sent again after a crash is not shown twice on Feishu or in a WeCom app
message (Slack's own check is in test_crash_delivery.py): Feishu drops a repeat of a
message `uuid`, and `message/send` asks WeCom to drop a repeat of the same request
(`enable_duplicate_check`) for four hours, longer than the claim a dead deliverer leaves
behind plus every retry's backoff.

The WeCom group robot has no such check; the README says it is at-least-once there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from bot.chat.base import InlineExecutor
from bot.chat.wecom.client import DUPLICATE_CHECK_SECONDS
from bot.core.clock import FrozenClock
from bot.core.jobs import member_target
from bot.core.messages import Reply, reply_to_dict
from bot.runtime.app import OpsBot
from bot.runtime.delivery import CLAIM_FOR, MAX_ATTEMPTS, backoff
from bot.runtime.wiring import connect_chat_platforms, deliver_outbox
from storage import outbox as outbox_store
from storage.db import transaction
from storage.models import OutboxItem
from tests.conftest import make_settings
from tests.fake_feishu import ENCRYPT_KEY, VERIFICATION_TOKEN, fake_feishu
from tests.fake_wecom import FakeWecom, fake_wecom

MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "wecom": "alice", "feishu": "ou_alice"}
]


def crash_mid_send(bot: OpsBot, clock: FrozenClock) -> None:
    """As a deliverer killed after the platform took the post, before it was recorded:
    the row is left `sending`, and its claim runs out."""
    with transaction(bot.engine) as session:
        item = session.exec(select(OutboxItem)).one()
        item.status, item.parts_sent = "sending", 0
        item.claimed_until = clock.now() + CLAIM_FOR
    clock.advance(CLAIM_FOR + timedelta(seconds=1))


def test_a_feishu_message_re_sent_after_a_crash_is_shown_once(sqlite_url: str) -> None:
    with fake_feishu() as feishu:
        app = {"app_id": "cli", "app_secret": "s", "verification_token": VERIFICATION_TOKEN,
               "encrypt_key": ENCRYPT_KEY, "mode": "http", "base_url": feishu.base}  # fmt: skip
        settings = make_settings(sqlite_url, platforms={"feishu": app}, team={"members": MEMBERS})
        clock = FrozenClock(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
        bot = OpsBot.open(settings, clock)
        platforms = connect_chat_platforms(bot, executor=InlineExecutor())
        with transaction(bot.engine) as session:
            outbox_store.enqueue(
                session, team_id="content", key="remind:alice", platform="feishu",
                target=member_target("alice"), kind="reminder",
                payload=reply_to_dict(Reply("⏰ 今晚 20:00 的发布还没确认")), now=clock.now(),
            )  # fmt: skip
        assert deliver_outbox(bot, platforms).sent == 1
        crash_mid_send(bot, clock)

        assert deliver_outbox(bot, platforms).sent == 1

        assert len(feishu.messages()) == 2  # sent again, with the same uuid …
        (shown,) = feishu.delivered()  # … and Feishu kept one
        assert "今晚 20:00 的发布还没确认" in str(shown)
        bot.engine.dispose()


@pytest.fixture
def wecom() -> Iterator[FakeWecom]:
    with fake_wecom() as fake:
        yield fake


def test_an_app_message_re_sent_after_a_crash_is_shown_once(
    sqlite_url: str, wecom: FakeWecom
) -> None:
    app = {"corp_id": "ww1", "agent_id": 1, "secret": "s", "token": "t",
           "encoding_aes_key": "a" * 43, "base_url": wecom.base}  # fmt: skip
    settings = make_settings(sqlite_url, platforms={"wecom": app}, team={"members": MEMBERS})
    clock = FrozenClock(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    bot = OpsBot.open(settings, clock)
    platforms = connect_chat_platforms(bot, executor=InlineExecutor())
    with transaction(bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key="remind:alice", platform="wecom",
            target=member_target("alice"), kind="reminder",
            payload=reply_to_dict(Reply("⏰ 今晚 20:00 的发布还没确认")), now=clock.now(),
        )  # fmt: skip
    assert deliver_outbox(bot, platforms).sent == 1
    crash_mid_send(bot, clock)

    assert deliver_outbox(bot, platforms).sent == 1

    assert len(wecom.sent()) == 2  # sent again, as the outbox must …
    assert [m["touser"] for m in wecom.shown()] == ["alice"]
    assert "今晚 20:00 的发布还没确认" in str(wecom.shown())
    bot.engine.dispose()


def test_the_duplicate_window_outlasts_the_claim_and_every_retry() -> None:
    waited = CLAIM_FOR + sum((backoff(n, None) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert waited < timedelta(seconds=DUPLICATE_CHECK_SECONDS)
