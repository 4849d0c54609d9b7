"""The stand-up in the direct message: a plain reply is the answer, question by question
or all at once; on Slack the prompt's button opens a prefilled form (a modal)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlencode

import httpx
import pytest

from bot.runtime.scheduler import Scheduler
from tests.chat_rig import ChatRig, chat_rig
from tests.conftest import BotDriver
from tests.fake_slack import SIGNING_SECRET, FakeSlack, button_click, fake_slack, signed_headers

MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "slack": "U01", "feishu": "ou_alice",
     "wecom": "alice"},
    {"id": "bob", "name": "Bob", "role": "editor", "slack": "U02", "feishu": "ou_bob",
     "wecom": "bob"},
]  # fmt: skip


@pytest.fixture
def slack(sqlite_url: str) -> Iterator[tuple[ChatRig, FakeSlack]]:
    with fake_slack() as fake:
        settings = {"bot_token": "xoxb-test", "signing_secret": SIGNING_SECRET, "mode": "http",
                    "api_url": fake.api_url}  # fmt: skip
        with chat_rig(
            sqlite_url, "slack", settings, members=MEMBERS, channels={"slack": "C0123"}
        ) as rig:
            yield rig, fake


def dm(rig: ChatRig, text: str, *, user: str = "U02", channel_type: str = "im") -> None:
    """A plain message from `user` in the bot's DM, as Slack's Events API sends it."""
    body = json.dumps({
        "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
        "event": {"type": "message", "channel": f"D{user}" if channel_type == "im" else "C0123",
                  "channel_type": channel_type, "user": user, "text": text, "ts": "1.1"},
    }, ensure_ascii=False)  # fmt: skip
    headers = signed_headers(body) | {"Content-Type": "application/json"}
    response = httpx.post(f"{rig.url}/slack/events", content=body.encode(), headers=headers)
    assert response.status_code == 200, response.text


def said_in_dm(fake: FakeSlack, user: str = "U02") -> list[str]:
    return [post["text"] for post in fake.posted() if post["channel"] == f"D{user}"]


def standup_rows(rig: ChatRig) -> list[tuple[str, str | None, str | None, str | None]]:
    rows = BotDriver(rig.bot, rig.clock).export()["standups"]
    return [(row["member"], row["yesterday"], row["today"], row["blockers"]) for row in rows]


def test_question_by_question_in_the_dm(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack
    dm(rig, "剪完了口播视频")
    dm(rig, "写双十二推文 q1 ~2h，回复留言 q3 ~30m +任务")
    dm(rig, "等设计给封面")

    first, second, third = said_in_dm(fake)
    assert "今天打算做什么？" in first
    assert "有什么阻碍吗？" in second and "新增任务 #1 #2" in second
    assert third.startswith("✅ 已记录 Bob 的站会（11月23日 周一）")
    assert standup_rows(rig) == [
        ("bob", "剪完了口播视频", "写双十二推文 q1 ~2h，回复留言 q3 ~30m", "等设计给封面")
    ]
    tasks = BotDriver(rig.bot, rig.clock).export()["tasks"]
    assert [(t["text"], t["quadrant"], t["estimate_minutes"]) for t in tasks] == [
        ("写双十二推文", "q1", 120), ("回复留言", "q3", 30),
    ]  # fmt: skip


def test_all_at_once_skip_and_a_later_edit(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack
    dm(rig, "昨天：排版 | 今天：写稿")
    dm(rig, "跳过")  # no blockers to report
    dm(rig, "阻碍：等素材")  # later the same day: changes that part only

    assert standup_rows(rig) == [("bob", "排版", "写稿", "等素材")]
    replies = said_in_dm(fake)
    assert "有什么阻碍吗？" in replies[0]
    assert replies[1].startswith("✅ 已记录 Bob 的站会")


def test_chatter_in_the_team_channel_is_ignored(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack
    dm(rig, "大家早上好", channel_type="channel")

    assert fake.posted() == [] and standup_rows(rig) == []


def test_the_prompt_button_opens_a_prefilled_form(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack
    rig.say("/task add 剪辑探店视频 q1", speaker="bob")
    rig.clock.set(datetime.fromisoformat("2026-11-23T09:30:00+08:00"))
    Scheduler(rig.bot).tick()
    rig.deliver()
    (prompt,) = [  # the stand-up prompt (a Monday: Bob's week of the summary comes too)
        p for p in fake.posted() if p["channel"] == "DU02" and "早上好" in str(p)
    ]
    (button,) = prompt["blocks"][-1]["elements"]
    assert button["value"] == "/standup form"

    body = button_click(fake, button["value"])
    click = httpx.post(f"{rig.url}/slack/events", content=body, headers=signed_headers(body))
    assert click.status_code == 200
    (opened,) = fake.posted("views.open")
    view = json.loads(opened["view"]) if isinstance(opened["view"], str) else opened["view"]
    fields = {block["block_id"]: block["element"].get("initial_value") for block in view["blocks"]}
    assert fields == {"yesterday": None, "today": "剪辑探店视频", "blockers": None}


def submit(rig: ChatRig, fake: FakeSlack, values: dict[str, str]) -> httpx.Response:
    view = {
        "id": "V1", "type": "modal", "hash": f"h{time.time_ns()}",
        "callback_id": "opsbot_form_standup",
        "private_metadata": json.dumps({
            "submit": "/standup",
            "fields": [["yesterday", "yesterday:"], ["today", "today:"], ["blockers", "blockers:"]],
            "required": ["today"]}),
        "state": {"values": {name: {"value": {"type": "plain_text_input", "value": value}}
                             for name, value in values.items()}},
    }  # fmt: skip
    payload = {"type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1",
               "user": {"id": "U02", "username": "bob"}, "trigger_id": "t", "view": view}  # fmt: skip
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)})
    return httpx.post(f"{rig.url}/slack/events", content=body, headers=signed_headers(body))


def test_a_submitted_form_is_the_answer(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack
    response = submit(rig, fake, {"yesterday": "剪视频", "today": "写稿", "blockers": ""})

    assert response.status_code == 200 and response.text in ("", "{}")
    assert standup_rows(rig) == [("bob", "剪视频", "写稿", None)]
    assert said_in_dm(fake)[0].startswith("✅")


def test_a_bad_field_is_answered_on_the_field_and_nothing_is_stored(
    slack: tuple[ChatRig, FakeSlack],
) -> None:
    rig, fake = slack
    response = submit(rig, fake, {"yesterday": "剪视频", "today": "写稿 q7 +任务", "blockers": ""})

    answer = response.json()
    assert answer["response_action"] == "errors"
    assert "q7" in answer["errors"]["today"]
    assert standup_rows(rig) == [] and said_in_dm(fake) == []


def test_feishu_p2p_replies_answer_the_standup_and_group_chatter_is_ignored(
    sqlite_url: str,
) -> None:
    from tests.fake_feishu import (
        ENCRYPT_KEY,
        VERIFICATION_TOKEN,
        fake_feishu,
        message_event,
        sealed,
    )

    with fake_feishu() as fake:
        settings = {"app_id": "cli_test", "app_secret": "secret", "verification_token": VERIFICATION_TOKEN,
                    "encrypt_key": ENCRYPT_KEY, "mode": "http", "base_url": fake.base}  # fmt: skip
        with chat_rig(
            sqlite_url, "feishu", settings, members=MEMBERS, channels={"feishu": "oc_123"}
        ) as rig:

            def send(text: str, chat_type: str) -> None:
                event = message_event(text, open_id="ou_bob", chat_id="oc_p2p", chat_type=chat_type)
                body, headers = sealed(event)
                httpx.post(f"{rig.url}/feishu/events", content=body, headers=headers)

            send("大家早上好", "group")
            assert fake.messages() == []
            send("剪完了口播视频", "p2p")
            send("写稿", "p2p")
            send("无", "p2p")

            assert standup_rows(rig) == [("bob", "剪完了口播视频", "写稿", None)]
            assert len(fake.messages()) == 3


def test_wecom_app_messages_answer_the_standup(sqlite_url: str) -> None:
    from tests.e2e.test_wecom import SAMPLE_CORP, SAMPLE_KEY, SAMPLE_TOKEN, text_message
    from tests.fake_wecom import fake_wecom

    with fake_wecom() as fake:
        settings = {"corp_id": SAMPLE_CORP, "agent_id": 1, "secret": "s", "token": SAMPLE_TOKEN,
                    "encoding_aes_key": SAMPLE_KEY, "robot_webhook_key": "k", "base_url": fake.base}  # fmt: skip
        with chat_rig(
            sqlite_url, "wecom", settings, members=MEMBERS, channels={"wecom": "robot"}
        ) as rig:
            crypto = rig.connection.adapter.crypto
            for text in ("排版", "写稿 +任务", "跳过"):
                encrypted = crypto.encrypt(text_message(text, user="bob"))
                stamp, nonce = str(int(time.time())), "n"
                params = {"msg_signature": crypto.signature(stamp, nonce, encrypted),
                          "timestamp": stamp, "nonce": nonce}  # fmt: skip
                body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
                httpx.post(f"{rig.url}/wecom/callback", params=params, content=body.encode())

            assert standup_rows(rig) == [("bob", "排版", "写稿", "")]
            assert [t["text"] for t in BotDriver(rig.bot, rig.clock).export()["tasks"]] == ["写稿"]


def test_plain_text_on_the_console_is_still_not_a_command(bot: BotDriver) -> None:
    assert bot.send("剪完了口播视频").startswith("❌")
    assert bot.export()["standups"] == []


def test_the_app_home_shows_the_members_day(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack
    rig.say("/task add 剪辑探店视频 q1 ~2h", speaker="bob")
    rig.say("/publish add 冬季护肤指南 p:wechat 明天 20:00", speaker="bob")
    body = json.dumps({
        "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": "U02", "channel": "DU02", "tab": "home"},
    })  # fmt: skip
    headers = signed_headers(body) | {"Content-Type": "application/json"}
    assert httpx.post(f"{rig.url}/slack/events", content=body, headers=headers).status_code == 200

    (published,) = fake.posted("views.publish")
    assert published["user_id"] == "U02"
    shown = json.dumps(published["view"], ensure_ascii=False)
    assert "Bob 的今天" in shown and "剪辑探店视频" in shown and "冬季护肤指南" in shown
    assert "今天的站会还没回复" in shown
