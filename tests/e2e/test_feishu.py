"""Feishu: encrypted, signed callbacks over real HTTP, cards back, and the bot's own posts
through the message API — against a fake Feishu Open API on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from bot.chat.feishu.crypto import decrypt
from bot.runtime.scheduler import Scheduler
from tests.fake_feishu import (
    VERIFICATION_TOKEN,
    FeishuRig,
    card_action,
    feishu_rig,
    message_event,
    sealed,
)  # fmt: skip


def test_feishus_published_decryption_example() -> None:
    assert decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "test key") == "hello world"


@pytest.fixture
def feishu(sqlite_url: str) -> Iterator[FeishuRig]:
    with feishu_rig(sqlite_url) as rig:
        yield rig


def button_commands(card: dict) -> list[str]:
    """The commands a JSON 2.0 card's buttons call back with."""
    (row,) = [e for e in card["body"]["elements"] if e["tag"] == "column_set"]
    return [
        behavior["value"]["command"]
        for column in row["columns"]
        for button in column["elements"]
        for behavior in button["behaviors"]
        if behavior["type"] == "callback"
    ]


def test_url_verification_plain_and_encrypted(feishu: FeishuRig) -> None:
    challenge = {"challenge": "c-1", "token": VERIFICATION_TOKEN, "type": "url_verification"}
    plain = feishu.post(json.dumps(challenge).encode(), {"Content-Type": "application/json"})
    assert (plain.status_code, plain.json()) == (200, {"challenge": "c-1"})
    body, _ = sealed(challenge)
    encrypted = feishu.post(body, {"Content-Type": "application/json"})  # no signature headers
    assert (encrypted.status_code, encrypted.json()) == (200, {"challenge": "c-1"})
    wrong = dict(challenge, token="nope")
    assert (
        feishu.post(json.dumps(wrong).encode(), {"Content-Type": "application/json"}).status_code
        == 401
    )


def test_a_command_round_trip_with_mentions(feishu: FeishuRig) -> None:
    mentions = [
        {"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "opsbot"},
        {"key": "@_user_2", "id": {"open_id": "ou_carol"}, "name": "Carol"},
    ]
    assert (
        feishu.send(
            message_event(
                "@_user_1 /选题 新增 冬至节气海报 #节日 p:小红书 t:5 v:4 c:4", mentions=mentions
            )
        ).status_code
        == 200
    )
    (reply,) = feishu.wait_for_messages(1)
    card = json.loads(reply["content"])
    assert (
        card["header"]["title"]["content"]
        == "选题 #1「冬至节气海报」已保存 · 小红书 · #节日 · 评分 4.33 · 优先级 高"
    )
    assert card["schema"] == "2.0"
    assert button_commands(card) == ["/topic vote 1"]
    assert feishu.topics() == ["冬至节气海报"]
    feishu.send(message_event("@_user_1 /team role @_user_2 admin", mentions=mentions))
    roles = feishu.wait_for_messages(2)
    assert (
        json.loads(roles[1]["content"])["header"]["title"]["content"]
        == "Carol 的角色：编辑 → 管理员"
    )


def test_group_chatter_is_ignored_and_a_newcomer_gets_their_name(feishu: FeishuRig) -> None:
    feishu.send(message_event("大家早上好"))
    feishu.send(message_event("/topic add 新人的选题", open_id="ou_new", chat_type="p2p"))
    feishu.wait_for_messages(1)
    assert len(feishu.fake.messages()) == 1
    reply = feishu.say("/team list")
    assert ("@Erin", "Erin", "成员", "") in reply.sections[0].rows


def test_a_card_button_updates_the_card(feishu: FeishuRig) -> None:
    feishu.say("/topic add 冬至节气海报")

    answer = feishu.click(card_action("/topic vote 1"))

    assert answer["toast"] == {
        "type": "success",
        "content": "已为 #1「冬至节气海报」投票 · 共 1 票",
    }
    assert (
        answer["card"]["data"]["header"]["title"]["content"]
        == "已为 #1「冬至节气海报」投票 · 共 1 票"
    )


@pytest.mark.parametrize("problem", ["signature", "token", "plain", "garbage"])
def test_bad_callbacks_get_401_and_change_nothing(feishu: FeishuRig, problem: str) -> None:
    event = message_event("/topic add 不该保存", event_id=f"bad-{problem}")
    if problem == "signature":
        body, headers = sealed(event, sign_with="another-key")
    elif problem == "token":
        body, headers = sealed(dict(event, header=dict(event["header"], token="wrong")))
    elif problem == "plain":
        body, headers = json.dumps(event).encode(), {"Content-Type": "application/json"}
    else:
        body, headers = json.dumps({"encrypt": "bm90IGVuY3J5cHRlZA=="}).encode(), sealed(event)[1]
    assert feishu.post(body, headers).status_code == 401
    assert feishu.fake.messages() == [] and feishu.topics() == []


def test_a_retried_event_is_processed_once(feishu: FeishuRig) -> None:
    event = message_event("/topic add 只要一次", event_id="ev-same")
    assert feishu.send(event).status_code == 200
    assert feishu.send(event).status_code == 200
    feishu.wait_for_messages(1)
    assert feishu.topics() == ["只要一次"]
    assert len(feishu.fake.messages()) == 1


def test_the_digest_is_delivered_once_with_a_uuid_and_tokens_are_refreshed(
    feishu: FeishuRig,
) -> None:
    for when in ("2026-11-23T09:00:00+08:00", "2026-11-23T09:01:00+08:00"):
        feishu.clock.set(datetime.fromisoformat(when))
        Scheduler(feishu.bot).tick()
        feishu.deliver()
    (digest,) = [m for m in feishu.fake.messages() if "早报" in m["content"]]
    assert (digest["receive_id"], digest["msg_type"]) == ("oc_123", "interactive")
    assert len(digest["uuid"]) <= 50
    assert feishu.fake.tokens_issued == 1  # cached

    feishu.fake.expire_next_token_use = True  # Feishu says the (cached) token expired
    feishu.clock.set(datetime.fromisoformat("2026-11-23T09:30:00+08:00"))
    Scheduler(feishu.bot).tick()
    report = feishu.deliver()
    # The weekly summary, each of the three members' own week, and the stand-up prompt
    # to the three of them.
    assert report.sent == 7
    assert feishu.fake.tokens_issued == 2  # fetched again after the expiry error
    prompts = [
        m for m in feishu.fake.messages() if "站会" in m["content"] and "早上好" in m["content"]
    ]
    # Alice's prompt was tried twice: once with the expired token, once with the new one.
    assert sorted(m["receive_id"] for m in prompts) == [
        "ou_alice",
        "ou_alice",
        "ou_bob",
        "ou_carol",
    ]


def test_a_rate_limit_is_retried_by_the_outbox(feishu: FeishuRig) -> None:
    feishu.fake.rate_limit_next = 1
    feishu.clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
    Scheduler(feishu.bot).tick()
    first = feishu.deliver()
    assert (first.sent, first.retried) == (0, 1)
    feishu.clock.advance(timedelta(seconds=2))
    second = feishu.deliver()
    assert second.sent == 1
    uuids = [m["uuid"] for m in feishu.fake.messages()]
    assert len(uuids) == 2 and len(set(uuids)) == 1  # the retry carries the same uuid


def test_doctor_checks_the_app_credentials(feishu: FeishuRig) -> None:
    check = feishu.check()
    assert check.ok and "能取得 tenant token（模式 http）" in check.text


def test_doctor_says_what_to_do_about_a_wrong_secret(feishu: FeishuRig) -> None:
    feishu.feishu.wrong_secret = True
    check = feishu.check()
    assert not check.ok
    assert "10014" in check.text and "platforms.feishu.app_secret" in check.text


def test_the_long_connection_hands_events_to_the_same_code(feishu: FeishuRig) -> None:
    handler = (
        feishu.connection.adapter.event_handler()
    )  # what lark-oapi's WebSocket client dispatches to
    # The client calls this very method (lark_oapi/ws/client.py): the public
    # `do_without_validation` is deprecated in its favour.
    dispatch = handler._do_without_validation

    dispatch(json.dumps(message_event("/topic add 长连接的选题", chat_type="p2p")).encode())
    (reply,) = feishu.wait_for_messages(1)
    assert json.loads(reply["content"])["header"]["title"]["content"].startswith("选题 #1「")

    answer = dispatch(json.dumps(card_action("/topic vote 1")).encode())
    assert answer.toast.content == "已为 #1「长连接的选题」投票 · 共 1 票"


def test_a_command_whose_transaction_failed_runs_when_feishu_retries_it(
    feishu: FeishuRig, first_topic_write_fails: list[str]
) -> None:
    """The event id is recorded in the command's own transaction: a failure rolls it back
    with everything else, so Feishu's retry of the same event is processed."""
    event = message_event("/topic add 重试后保存", event_id="ev-retried", chat_type="p2p")

    assert feishu.send(event).status_code == 200
    assert feishu.topics() == []
    assert feishu.send(event).status_code == 200  # Feishu retries the same event

    assert feishu.topics() == ["重试后保存"]
    first, second = (json.loads(m["content"]) for m in feishu.wait_for_messages(2))
    assert first["header"]["template"] == "red"  # "something went wrong", nothing stored
    assert second["header"]["title"]["content"].startswith("选题 #1「")
    assert feishu.send(event).status_code == 200  # a third delivery: handled already
    assert feishu.topics() == ["重试后保存"] and len(feishu.fake.messages()) == 2
