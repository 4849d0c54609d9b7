"""A deliverer killed mid-send shows nothing twice on Feishu or in a WeCom app message
(Slack's own check is in test_crash_delivery.py): Feishu drops a repeat of a message
`uuid`, and `message/send` asks WeCom to drop a repeat of the same request
(`enable_duplicate_check`) for four hours, longer than the claim a dead deliverer leaves
behind plus every retry's backoff.

The deliverer is a real process, killed with SIGKILL while the fake platform holds its
message call — after the platform took it, or before — and the delivery goes on in the
test's process once the claim has run out (the clock is frozen: nobody waits for it).

The WeCom group robot has no such check; the README says it is at-least-once there."""

from __future__ import annotations

import base64
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.chat.base import InlineExecutor
from bot.chat.wecom.client import DUPLICATE_CHECK_SECONDS
from bot.chat.wecom.render import APP_MARKDOWN_BYTES
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.jobs import member_target
from bot.core.messages import Image, Reply, Section, reply_to_dict
from bot.runtime.app import OpsBot
from bot.runtime.delivery import CLAIM_FOR, MAX_ATTEMPTS, backoff
from bot.runtime.wiring import ChatPlatforms, connect_chat_platforms, deliver_outbox
from storage import outbox as outbox_store
from storage.db import transaction
from storage.models import OutboxItem
from tests.conftest import make_settings
from tests.fake_feishu import ENCRYPT_KEY, VERIFICATION_TOKEN, FakeFeishu, fake_feishu
from tests.fake_feishu import Stall as FeishuStall
from tests.fake_wecom import FakeWecom, fake_wecom
from tests.fake_wecom import Stall as WecomStall

MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "wecom": "alice", "feishu": "ou_alice"}
]
CHAT = "oc_123"  # the team's Feishu group
KEY = "content:digest:2026-12-01:feishu:team"
REMINDER_KEY = "content:remind:2026-12-01:wecom:member:alice"
NOW = datetime.fromisoformat("2026-12-01T09:00:00+08:00")
CLAIM_RAN_OUT = NOW + CLAIM_FOR + timedelta(seconds=1)  # the next `opsbot tick`
DIGEST = Reply("早报", sections=[Section(lines=["今天 3 篇待发布", "本周已发 12 篇"])])
REMINDER = Reply("⏰ 今晚 20:00 的发布还没确认")
PNG = b"\x89PNG\r\n\x1a\n chart"
CHART = Image(base64.b64encode(PNG).decode(), alt="第 48 周数据周报", filename="weekly.png")


def settings(platform: str, url: str, base: str) -> Settings:
    app: dict[str, Any]
    if platform == "feishu":
        app = {"app_id": "cli", "app_secret": "s", "verification_token": VERIFICATION_TOKEN,
               "encrypt_key": ENCRYPT_KEY, "mode": "http", "base_url": base}  # fmt: skip
        channels = {"feishu": CHAT}
    else:
        app = {"corp_id": "ww1", "agent_id": 1, "secret": "s", "token": "t",
               "encoding_aes_key": "a" * 43, "base_url": base}  # fmt: skip
        channels = {}
    team = {"members": MEMBERS, "channels": channels}
    return make_settings(url, platforms={platform: app}, team=team)


def enqueue(bot: OpsBot, platform: str, key: str, target: str, payload: dict[str, Any]) -> None:
    with transaction(bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key=key, platform=platform, target=target,
            kind="digest" if target == "team" else "reminder", payload=payload,
            now=bot.clock.now(),
        )  # fmt: skip


def connect(bot: OpsBot) -> ChatPlatforms:
    return connect_chat_platforms(bot, executor=InlineExecutor())


def _enqueue_and_deliver(
    platform: str, url: str, base: str, key: str, target: str, payload: dict[str, Any]
) -> None:
    """The deliverer that is killed: opens the bot, enqueues a post and delivers it."""
    bot = OpsBot.open(settings(platform, url, base), FrozenClock(NOW))
    enqueue(bot, platform, key, target, payload)
    deliver_outbox(bot, connect(bot))  # held by the fake platform until the process is killed


def kill_mid_send(
    platform: str, url: str, fake: FakeFeishu | FakeWecom, stall: FeishuStall | WecomStall,
    key: str, target: str, reply: Reply,
) -> None:  # fmt: skip
    """Run the deliverer in a process, and SIGKILL it while the platform holds its call.

    The process is forked from a fork server that has imported this module (and so the
    bot) once: a fresh single-threaded process, without paying for the imports each time.
    """
    fake.stall = stall  # each fake takes its own Stall
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    process = context.Process(
        target=_enqueue_and_deliver,
        args=(platform, url, fake.base, key, target, reply_to_dict(reply)),
    )
    process.start()
    try:
        deadline = time.monotonic() + 60
        while not stall.held.wait(timeout=0.05):
            assert process.is_alive(), f"the deliverer ended ({process.exitcode}) before sending"
            assert time.monotonic() < deadline, "the deliverer never sent"
    finally:
        process.kill()
        process.join(timeout=30)
        stall.release.set()  # the fake hangs up on a dead client
    assert process.exitcode == -9


Restart = Callable[[str, str, str], tuple[OpsBot, ChatPlatforms]]


@pytest.fixture
def restart() -> Iterator[Restart]:
    """`restart(platform, url, base)`: the bot opened again once the dead deliverer's
    claim ran out, as the next `opsbot tick` or `run` opens it (closed after the test)."""
    opened: list[tuple[OpsBot, ChatPlatforms]] = []

    def reopen(platform: str, url: str, base: str) -> tuple[OpsBot, ChatPlatforms]:
        bot = OpsBot.open(settings(platform, url, base), FrozenClock(CLAIM_RAN_OUT))
        opened.append((bot, connect(bot)))
        return opened[-1]

    yield reopen
    for bot, platforms in opened:
        platforms.stop()
        bot.engine.dispose()


def row(bot: OpsBot, key: str) -> OutboxItem:
    with transaction(bot.engine) as session:
        (item,) = session.exec(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        session.expunge(item)
    return item


def content(message: dict[str, Any]) -> str:
    """What a Feishu message shows, as the text of its content."""
    return json.dumps(json.loads(message["content"]), ensure_ascii=False)


# -- Feishu: the `uuid` ------------------------------------------------------------------


@pytest.fixture
def feishu() -> Iterator[FakeFeishu]:
    with fake_feishu() as fake:
        yield fake


def test_feishu_killed_after_it_took_the_post_shows_it_once(
    database_url: str, feishu: FakeFeishu, restart: Restart
) -> None:
    kill_mid_send("feishu", database_url, feishu, FeishuStall(taken=True), KEY, "team", DIGEST)
    (taken,) = feishu.delivered()
    bot, platforms = restart("feishu", database_url, feishu.base)
    assert row(bot, KEY).status == "sending"  # the dead deliverer never learnt the outcome

    report = deliver_outbox(bot, platforms)

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    first, again = feishu.messages()  # sent again, with the same uuid …
    assert again["uuid"] == first["uuid"] and again["content"] == first["content"]
    assert feishu.delivered() == [taken]  # … and the group shows it once
    assert taken["receive_id"] == CHAT and "今天 3 篇待发布" in content(taken)
    item = row(bot, KEY)
    assert (item.status, item.parts_sent) == ("sent", 1)
    assert deliver_outbox(bot, platforms).sent == 0
    assert len(feishu.messages()) == 2 and len(feishu.delivered()) == 1


def test_feishu_killed_before_it_took_the_post_shows_it_once(
    database_url: str, feishu: FakeFeishu, restart: Restart
) -> None:
    kill_mid_send("feishu", database_url, feishu, FeishuStall(taken=False), KEY, "team", DIGEST)
    assert feishu.delivered() == []
    bot, platforms = restart("feishu", database_url, feishu.base)

    assert deliver_outbox(bot, platforms).sent == 1

    (shown,) = feishu.delivered()
    assert shown["receive_id"] == CHAT and "今天 3 篇待发布" in content(shown)
    assert len(feishu.messages()) == 2  # the one that never arrived, and this one
    assert row(bot, KEY).status == "sent"


def test_feishu_killed_after_it_took_a_post_with_a_picture_shows_it_once(
    sqlite_url: str, feishu: FakeFeishu, restart: Restart
) -> None:
    """The dead deliverer's image key is lost with it: the restart uploads the chart
    again, which costs an upload, and the uuid still keeps the card from showing twice."""
    summary = Reply("第 48 周数据周报", image=CHART)
    kill_mid_send("feishu", sqlite_url, feishu, FeishuStall(taken=True), KEY, "team", summary)
    bot, platforms = restart("feishu", sqlite_url, feishu.base)

    assert deliver_outbox(bot, platforms).sent == 1

    assert len(feishu.uploads()) == 2
    (shown,) = feishu.delivered()
    assert shown["msg_type"] == "interactive"
    assert '"img_key": "img_v3_fake_1"' in content(shown)  # the card Feishu took first
    assert feishu.refused == []
    assert row(bot, KEY).status == "sent"


def test_feishu_post_taken_but_never_answered_is_shown_once_after_the_retry(
    sqlite_url: str, feishu: FakeFeishu, restart: Restart
) -> None:
    """No crash: Feishu took the post and the connection dropped before its answer."""
    bot, platforms = restart("feishu", sqlite_url, feishu.base)
    stall = FeishuStall(taken=True)
    stall.release.set()
    feishu.stall = stall
    enqueue(bot, "feishu", KEY, "team", reply_to_dict(DIGEST))

    assert deliver_outbox(bot, platforms).retried == 1
    assert isinstance(bot.clock, FrozenClock)
    bot.clock.advance(backoff(1, None))  # the retry is due
    assert deliver_outbox(bot, platforms).sent == 1

    assert len(feishu.messages()) == 2
    assert len(feishu.delivered()) == 1


# -- WeCom app messages: the duplicate check -----------------------------------------------


@pytest.fixture
def wecom() -> Iterator[FakeWecom]:
    with fake_wecom() as fake:
        yield fake


def markdown(messages: list[dict[str, Any]]) -> list[str]:
    return [message["markdown"]["content"] for message in messages]


def test_wecom_app_killed_after_it_took_the_message_shows_it_once(
    database_url: str, wecom: FakeWecom, restart: Restart
) -> None:
    alice = member_target("alice")
    kill_mid_send(
        "wecom", database_url, wecom, WecomStall(taken=True), REMINDER_KEY, alice, REMINDER
    )
    assert len(wecom.shown()) == 1
    bot, platforms = restart("wecom", database_url, wecom.base)
    assert row(bot, REMINDER_KEY).status == "sending"

    report = deliver_outbox(bot, platforms)

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    first, again = wecom.sent()  # sent again, the same request, as the outbox must …
    assert again == first and again["enable_duplicate_check"] == 1
    (shown,) = wecom.shown()  # … and alice sees it once
    assert shown["touser"] == "alice" and "今晚 20:00 的发布还没确认" in str(shown)
    item = row(bot, REMINDER_KEY)
    assert (item.status, item.parts_sent) == ("sent", 1)
    assert deliver_outbox(bot, platforms).sent == 0
    assert len(wecom.sent()) == 2 and len(wecom.shown()) == 1


def test_wecom_app_killed_before_it_took_the_message_shows_it_once(
    database_url: str, wecom: FakeWecom, restart: Restart
) -> None:
    alice = member_target("alice")
    kill_mid_send(
        "wecom", database_url, wecom, WecomStall(taken=False), REMINDER_KEY, alice, REMINDER
    )
    assert wecom.shown() == []
    bot, platforms = restart("wecom", database_url, wecom.base)

    assert deliver_outbox(bot, platforms).sent == 1

    (shown,) = wecom.shown()
    assert shown["touser"] == "alice" and "今晚 20:00 的发布还没确认" in str(shown)
    assert len(wecom.sent()) == 2  # the one that never arrived, and this one
    assert row(bot, REMINDER_KEY).status == "sent"


@pytest.mark.parametrize("taken", [True, False], ids=["taken", "not-taken"])
def test_wecom_app_killed_on_the_second_part_goes_on_from_it(
    sqlite_url: str, wecom: FakeWecom, restart: Restart, taken: bool
) -> None:
    """A post over WeCom's 2048 bytes goes as several messages; the first was taken
    and recorded, the deliverer died on the second: each part is shown once, in order."""
    lines = [f"第 {n} 条：{'选题' * 20}" for n in range(1, 61)]
    long = Reply("本周选题", sections=[Section(lines=lines)])
    alice = member_target("alice")
    kill_mid_send(
        "wecom", sqlite_url, wecom, WecomStall(taken=taken, skip=1), REMINDER_KEY, alice, long
    )
    bot, platforms = restart("wecom", sqlite_url, wecom.base)
    assert row(bot, REMINDER_KEY).parts_sent == 1

    assert deliver_outbox(bot, platforms).sent == 1

    parts = markdown(wecom.sent())
    assert len(parts) >= 4 and parts[1] == parts[2]  # part 2 again, part 1 not
    assert len(set(parts)) == len(parts) - 1
    assert markdown(wecom.shown()) == list(dict.fromkeys(parts))
    assert all(len(part.encode()) <= APP_MARKDOWN_BYTES for part in parts)
    assert "第 1 条" in parts[0] and "第 60 条" in parts[-1]
    item = row(bot, REMINDER_KEY)
    assert (item.status, item.parts_sent) == ("sent", len(parts) - 1)


def test_wecom_app_message_taken_but_never_answered_is_shown_once_after_the_retry(
    sqlite_url: str, wecom: FakeWecom, restart: Restart
) -> None:
    """No crash: WeCom took the message and the connection dropped before its answer."""
    bot, platforms = restart("wecom", sqlite_url, wecom.base)
    stall = WecomStall(taken=True)
    stall.release.set()
    wecom.stall = stall
    enqueue(bot, "wecom", REMINDER_KEY, member_target("alice"), reply_to_dict(REMINDER))

    assert deliver_outbox(bot, platforms).retried == 1
    assert isinstance(bot.clock, FrozenClock)
    bot.clock.advance(backoff(1, None))  # the retry is due
    assert deliver_outbox(bot, platforms).sent == 1

    assert len(wecom.sent()) == 2
    assert [message["touser"] for message in wecom.shown()] == ["alice"]


def test_the_duplicate_window_outlasts_the_claim_and_every_retry() -> None:
    waited = CLAIM_FOR + sum((backoff(n, None) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert waited < timedelta(seconds=DUPLICATE_CHECK_SECONDS)
