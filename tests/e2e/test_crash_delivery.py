"""A deliverer killed mid-post posts nothing twice on Slack: every post carries its outbox
key as message metadata, and an item left `sending` by a dead deliverer is looked for in
the channel's history before it is posted again.

The deliverer is a real process on a SQLite file, killed with SIGKILL while the fake
Slack holds its chat.postMessage — after Slack took the post, or before — and the
delivery goes on in the test's process once the claim has run out."""

from __future__ import annotations

import base64
import logging
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.chat.base import InlineExecutor
from bot.chat.slack.sender import HISTORY_MARGIN, HISTORY_PAGE, SlackSender, metadata
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.messages import Image, Reply, reply_to_dict
from bot.runtime.app import OpsBot
from bot.runtime.delivery import CLAIM_FOR
from bot.runtime.wiring import ChatPlatforms, connect_chat_platforms, deliver_outbox
from storage import outbox as outbox_store
from storage.db import transaction
from storage.models import OutboxItem
from tests.conftest import make_settings
from tests.fake_slack import SIGNING_SECRET, FakeSlack, Stall, fake_slack

CHANNEL = "C0123"
KEY = "digest:content:2026-12-01"
MEMBERS = [{"id": "alice", "name": "Alice", "role": "admin", "slack": "U01"}]


def settings(url: str, api_url: str) -> Settings:
    slack = {"bot_token": "xoxb", "signing_secret": SIGNING_SECRET, "mode": "http",
             "api_url": api_url}  # fmt: skip
    return make_settings(
        url, platforms={"slack": slack}, team={"members": MEMBERS, "channels": {"slack": CHANNEL}}
    )


def connect(bot: OpsBot) -> ChatPlatforms:
    platforms = connect_chat_platforms(bot, executor=InlineExecutor())
    sender = platforms.connections["slack"].sender()
    assert isinstance(sender, SlackSender)
    sender.interval = 0  # pacing is not what this is about
    return platforms


def enqueue(bot: OpsBot, reply: Reply, key: str = KEY) -> None:
    with transaction(bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key=key, platform="slack", target="team",
            kind="digest", payload=reply_to_dict(reply), now=bot.clock.now(),
        )  # fmt: skip


def _enqueue_and_deliver(url: str, api_url: str, now: str) -> None:
    """The deliverer that is killed: opens the bot, enqueues a post and delivers it."""
    bot = OpsBot.open(settings(url, api_url), FrozenClock(datetime.fromisoformat(now)))
    enqueue(bot, Reply("早报"))
    deliver_outbox(bot, connect(bot))  # held by the fake Slack until the process is killed


def kill_mid_post(sqlite_url: str, fake: FakeSlack, stall: Stall, now: datetime) -> None:
    """Run the deliverer in a process, and SIGKILL it while Slack holds its post."""
    fake.stall = stall
    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=_enqueue_and_deliver, args=(sqlite_url, fake.api_url, now.isoformat())
    )
    process.start()
    try:
        assert stall.held.wait(timeout=60), "the deliverer never posted"
    finally:
        process.kill()
        process.join(timeout=30)
        stall.release.set()  # the fake hangs up on a dead client
    assert process.exitcode == -9


def row(bot: OpsBot, key: str = KEY) -> OutboxItem:
    with transaction(bot.engine) as session:
        (item,) = session.exec(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        session.expunge(item)
    return item


def histories(fake: FakeSlack) -> list[dict[str, Any]]:
    return [params for name, params in fake.calls if name == "conversations.history"]


@pytest.fixture
def now() -> datetime:
    """Real time: Slack stamps its messages with its own clock, which `oldest` is against."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


def restarted(sqlite_url: str, fake: FakeSlack, at: datetime) -> tuple[OpsBot, ChatPlatforms]:
    """The bot opened again, as the next `opsbot tick` or `run` opens it."""
    bot = OpsBot.open(settings(sqlite_url, fake.api_url), FrozenClock(at))
    return bot, connect(bot)


def test_killed_after_slack_took_the_post_it_is_not_posted_again(
    sqlite_url: str, slack: FakeSlack, now: datetime
) -> None:
    kill_mid_post(sqlite_url, slack, Stall(taken=True), now)
    bot, platforms = restarted(sqlite_url, slack, now + CLAIM_FOR + timedelta(seconds=1))
    try:
        assert row(bot).status == "sending"  # the dead deliverer never learnt the outcome

        report = deliver_outbox(bot, platforms)

        assert (report.sent, report.retried, report.failed) == (1, 0, 0)
        assert [post["text"] for post in slack.delivered] == ["早报"]
        assert slack.delivered[0]["metadata"] == metadata(KEY, 1)
        item = row(bot)
        assert (item.status, item.parts_sent) == ("sent", 1)
        (history,) = histories(slack)
        assert history["channel"] == CHANNEL
        assert history["include_all_metadata"] == "1"
        assert int(history["limit"]) == HISTORY_PAGE
        assert float(history["oldest"]) == (now - HISTORY_MARGIN).timestamp()
        assert deliver_outbox(bot, platforms).sent == 0
        assert len(slack.delivered) == 1
    finally:
        platforms.stop()
        bot.engine.dispose()


def test_killed_before_slack_took_the_post_it_is_posted_once(
    sqlite_url: str, slack: FakeSlack, now: datetime
) -> None:
    kill_mid_post(sqlite_url, slack, Stall(taken=False), now)
    assert slack.delivered == []
    bot, platforms = restarted(sqlite_url, slack, now + CLAIM_FOR + timedelta(seconds=1))
    try:
        report = deliver_outbox(bot, platforms)

        assert report.sent == 1
        assert [post["text"] for post in slack.delivered] == ["早报"]
        assert len(histories(slack)) == 1  # looked, found nothing, posted
        assert row(bot).status == "sent"
    finally:
        platforms.stop()
        bot.engine.dispose()


@pytest.fixture
def bot(sqlite_url: str, slack: FakeSlack, now: datetime) -> Iterator[tuple[OpsBot, ChatPlatforms]]:
    opened, platforms = restarted(sqlite_url, slack, now)
    yield opened, platforms
    platforms.stop()
    opened.engine.dispose()


def test_a_post_taken_but_never_answered_is_not_posted_again_on_retry(
    bot: tuple[OpsBot, ChatPlatforms], slack: FakeSlack
) -> None:
    """No crash: Slack took the post and the connection dropped before its answer."""
    opened, platforms = bot
    stall = Stall(taken=True)
    stall.release.set()
    slack.stall = stall
    enqueue(opened, Reply("早报"))

    assert deliver_outbox(opened, platforms).retried == 1
    assert histories(slack) == []  # a first try has nothing to look for
    assert isinstance(opened.clock, FrozenClock)
    opened.clock.advance(timedelta(hours=1))
    assert deliver_outbox(opened, platforms).sent == 1

    assert [post["text"] for post in slack.delivered] == ["早报"]
    assert len(histories(slack)) == 1


def test_slack_down_while_checking_retries_rather_than_posting_blind(
    bot: tuple[OpsBot, ChatPlatforms], slack: FakeSlack
) -> None:
    opened, platforms = bot
    slack.outage = [(503, "text/html", "<html>503</html>")]
    slack.history_errors = ["internal_error"]
    enqueue(opened, Reply("早报"))

    assert deliver_outbox(opened, platforms).retried == 1  # the outage
    assert isinstance(opened.clock, FrozenClock)
    opened.clock.advance(timedelta(hours=1))
    assert deliver_outbox(opened, platforms).retried == 1  # the history is down too
    assert slack.delivered == []
    opened.clock.advance(timedelta(hours=1))
    assert deliver_outbox(opened, platforms).sent == 1
    assert [post["text"] for post in slack.delivered] == ["早报"]


def test_without_the_history_scope_it_is_posted_and_says_it_may_be_twice(
    sqlite_url: str, slack: FakeSlack, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    """A workspace that has not reinstalled the app: at least once, as before."""
    kill_mid_post(sqlite_url, slack, Stall(taken=True), now)
    slack.history_errors = ["missing_scope"]
    bot, platforms = restarted(sqlite_url, slack, now + CLAIM_FOR + timedelta(seconds=1))
    try:
        with caplog.at_level(logging.WARNING, logger="bot.chat.slack.sender"):
            assert deliver_outbox(bot, platforms).sent == 1
    finally:
        platforms.stop()
        bot.engine.dispose()
    assert [post["text"] for post in slack.delivered] == ["早报", "早报"]
    assert "may be posted twice" in caplog.text and "channels:history" in caplog.text


def test_a_picture_slack_completed_before_the_crash_is_not_uploaded_again(
    bot: tuple[OpsBot, ChatPlatforms], slack: FakeSlack
) -> None:
    """Killed after files.completeUploadExternal, before the part was recorded."""
    opened, platforms = bot
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n chart").decode()
    image = Image(png, alt="第 48 周数据周报", filename="weekly-summary-2026-W48.png")
    enqueue(opened, Reply("第 48 周数据周报", image=image))
    assert deliver_outbox(opened, platforms).sent == 1
    with transaction(opened.engine) as session:  # as a deliverer killed after the upload
        item = session.exec(select(OutboxItem)).one()
        item.status, item.parts_sent = "sending", 1
        item.claimed_until = opened.clock.now() + CLAIM_FOR
    assert isinstance(opened.clock, FrozenClock)
    opened.clock.advance(CLAIM_FOR + timedelta(seconds=1))

    assert deliver_outbox(opened, platforms).sent == 1

    assert len(slack.files()) == 1
    assert [post["text"] for post in slack.delivered] == ["第 48 周数据周报"]
    assert row(opened).parts_sent == 2


def test_a_deliverer_whose_list_predates_the_crash_still_looks_before_posting(
    sqlite_url: str, slack: FakeSlack, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deliverer read the item as `pending`; before its claim, another took it, posted
    it and died. The claim hands back the row it replaced, which says so."""
    kill_mid_post(sqlite_url, slack, Stall(taken=True), now)
    bot, platforms = restarted(sqlite_url, slack, now + CLAIM_FOR + timedelta(seconds=1))
    stale = row(bot)
    stale.status, stale.claimed_until = "pending", None  # as read before the other's claim
    monkeypatch.setattr(outbox_store, "open_items", lambda session: [stale])
    try:
        report = deliver_outbox(bot, platforms)

        assert (report.sent, report.retried, report.failed) == (1, 0, 0)
        assert [post["text"] for post in slack.delivered] == ["早报"]  # shown once
        assert len(histories(slack)) == 1
        assert row(bot).status == "sent"
    finally:
        platforms.stop()
