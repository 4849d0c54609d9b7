"""A chat platform's outage loses nothing: every post is delivered once, in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.core.messages import Reply, reply_to_dict
from storage import outbox as outbox_store
from storage.db import transaction
from tests.chat_rig import ChatRig, chat_rig
from tests.conftest import BotDriver
from tests.fake_feishu import ENCRYPT_KEY, VERIFICATION_TOKEN, FakeFeishu, fake_feishu
from tests.fake_slack import SIGNING_SECRET, FakeSlack, fake_slack
from tests.fake_wecom import FakeWecom, fake_wecom

HTML_503 = (503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>")
JSON_500 = (500, "application/json", '{"ok": false, "error": "internal"}')
MEMBERS = [{"id": "alice", "name": "Alice", "role": "admin", "slack": "U01"}]


@pytest.fixture
def slack(sqlite_url: str) -> Iterator[tuple[ChatRig, FakeSlack]]:
    with fake_slack() as fake:
        settings = {"bot_token": "xoxb", "signing_secret": SIGNING_SECRET, "mode": "http",
                    "api_url": fake.api_url}  # fmt: skip
        with chat_rig(
            sqlite_url, "slack", settings, members=MEMBERS, channels={"slack": "C0123"},
            serve=False,
        ) as rig:  # fmt: skip
            rig.connection.sender().interval = 0  # pacing is not what this is about
            yield rig, fake


@pytest.fixture
def feishu(sqlite_url: str) -> Iterator[tuple[ChatRig, FakeFeishu]]:
    with fake_feishu() as fake:
        settings = {"app_id": "cli", "app_secret": "s", "verification_token": VERIFICATION_TOKEN,
                    "encrypt_key": ENCRYPT_KEY, "mode": "http", "base_url": fake.base}  # fmt: skip
        with chat_rig(
            sqlite_url, "feishu", settings, members=MEMBERS, channels={"feishu": "oc_123"},
            serve=False,
        ) as rig:  # fmt: skip
            yield rig, fake


@pytest.fixture
def wecom(sqlite_url: str) -> Iterator[tuple[ChatRig, FakeWecom]]:
    with fake_wecom() as fake:
        settings = {"corp_id": "ww1", "agent_id": 1, "secret": "s", "token": "t",
                    "encoding_aes_key": "a" * 43, "robot_webhook_key": "k",
                    "base_url": fake.base}  # fmt: skip
        with chat_rig(
            sqlite_url, "wecom", settings, members=MEMBERS, channels={"wecom": "robot"},
            serve=False,
        ) as rig:  # fmt: skip
            yield rig, fake


def enqueue(rig: ChatRig, *titles: str, platform: str = "slack") -> None:
    with transaction(rig.bot.engine) as session:
        for title in titles:
            outbox_store.enqueue(
                session, team_id="content", key=title, platform=platform, target="team",
                kind="test", payload=reply_to_dict(Reply(title)), now=rig.clock.now(),
            )  # fmt: skip


def deliver_until_quiet(rig: ChatRig, rounds: int = 12) -> None:
    for _ in range(rounds):
        rig.deliver()
        rig.clock.advance(timedelta(hours=1))  # past any backoff


def outbox(rig: ChatRig) -> list[tuple[str, str]]:
    rows = BotDriver(rig.bot, rig.clock).export()["outbox"]
    return [(row["idempotency_key"], row["status"]) for row in rows]


@pytest.mark.parametrize(
    "outage",
    [[HTML_503] * 3, [JSON_500] * 3, [HTML_503, JSON_500, HTML_503]],
    ids=["503 html", "500 internal", "mixed"],
)
def test_slack_down_then_back_delivers_everything_once_in_order(
    slack: tuple[ChatRig, FakeSlack], outage: list[tuple[int, str, str]]
) -> None:
    rig, fake = slack
    fake.outage = list(outage)
    enqueue(rig, "第一条", "第二条", "第三条")

    deliver_until_quiet(rig)

    assert [post["text"] for post in fake.delivered] == ["第一条", "第二条", "第三条"]
    assert outbox(rig) == [("第一条", "sent"), ("第二条", "sent"), ("第三条", "sent")]


def test_rate_limit_then_outage_then_recovery(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack
    fake.rate_limit_next = 3  # more than the client's own retries: back to the outbox
    fake.outage = [HTML_503, JSON_500]
    enqueue(rig, "周报", "日报")

    deliver_until_quiet(rig)

    assert [post["text"] for post in fake.delivered] == ["周报", "日报"]
    assert {status for _, status in outbox(rig)} == {"sent"}


def test_a_documented_permanent_error_fails_at_once_with_what_to_do(
    slack: tuple[ChatRig, FakeSlack],
) -> None:
    rig, fake = slack
    fake.outage = [(200, "application/json", '{"ok": false, "error": "not_in_channel"}')]
    enqueue(rig, "进不去的频道")

    report = rig.deliver()

    assert (report.sent, report.failed) == (0, 1)
    (row,) = BotDriver(rig.bot, rig.clock).export()["outbox"]
    assert row["status"] == "failed"
    assert "invite the bot to the channel" in row["last_error"]


FEISHU_500 = (500, "application/json", '{"code": 1500, "msg": "internal error"}')
FEISHU_UNKNOWN = (400, "application/json", '{"code": 239999, "msg": "something new"}')
WECOM_BUSY = (200, "application/json", '{"errcode": -1, "errmsg": "system busy"}')
BAD_GATEWAY = (502, "text/html", "<html><body>502 Bad Gateway</body></html>")


@pytest.mark.parametrize(
    "outage",
    [[HTML_503] * 3, [FEISHU_500] * 3, [HTML_503, FEISHU_UNKNOWN, FEISHU_500]],
    ids=["503 html", "500 internal", "mixed with an unknown code"],
)
def test_feishu_down_then_back_delivers_everything_once_in_order(
    feishu: tuple[ChatRig, FakeFeishu], outage: list[tuple[int, str, str]]
) -> None:
    rig, fake = feishu
    fake.outage = list(outage)
    enqueue(rig, "第一条", "第二条", "第三条", platform="feishu")

    deliver_until_quiet(rig)

    shown = [str(body) for body in fake.delivered()]
    assert [next(t for t in ("第一条", "第二条", "第三条") if t in m) for m in shown] == [
        "第一条", "第二条", "第三条",
    ]  # fmt: skip
    assert outbox(rig) == [("第一条", "sent"), ("第二条", "sent"), ("第三条", "sent")]


def test_a_feishu_permanent_error_fails_at_once_with_what_to_do(
    feishu: tuple[ChatRig, FakeFeishu],
) -> None:
    rig, fake = feishu
    fake.outage = [(400, "application/json", '{"code": 230002, "msg": "Bot is not in chat"}')]
    enqueue(rig, "进不去的群", platform="feishu")

    report = rig.deliver()

    assert (report.sent, report.failed) == (0, 1)
    (row,) = BotDriver(rig.bot, rig.clock).export()["outbox"]
    assert row["status"] == "failed" and "add it" in row["last_error"]


@pytest.mark.parametrize(
    "outage",
    [[HTML_503] * 3, [WECOM_BUSY] * 3, [BAD_GATEWAY, WECOM_BUSY, HTML_503]],
    ids=["503 html", "system busy", "mixed"],
)
def test_the_wecom_robot_down_then_back_delivers_everything_once_in_order(
    wecom: tuple[ChatRig, FakeWecom], outage: list[tuple[int, str, str]]
) -> None:
    rig, fake = wecom
    fake.outage = list(outage)
    enqueue(rig, "第一条", "第二条", "第三条", platform="wecom")

    deliver_until_quiet(rig)

    posts = [body["markdown"]["content"] for body in fake.robot()]
    assert [next(t for t in ("第一条", "第二条", "第三条") if t in p) for p in posts] == [
        "第一条", "第二条", "第三条",
    ]  # fmt: skip
    assert outbox(rig) == [("第一条", "sent"), ("第二条", "sent"), ("第三条", "sent")]


def test_a_wecom_permanent_error_fails_at_once_with_what_to_do(
    wecom: tuple[ChatRig, FakeWecom],
) -> None:
    rig, fake = wecom
    fake.outage = [(200, "application/json", '{"errcode": 93000, "errmsg": "invalid webhook url"}')]
    enqueue(rig, "错的机器人", platform="wecom")

    report = rig.deliver()

    assert (report.sent, report.failed) == (0, 1)
    (row,) = BotDriver(rig.bot, rig.clock).export()["outbox"]
    assert row["status"] == "failed" and "robot_webhook_key" in row["last_error"]
