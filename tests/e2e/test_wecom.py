"""WeCom: callbacks encrypted with the official algorithm over real HTTP, replies as app
messages, team posts through the group robot — against a fake WeCom API on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest

from bot.chat.wecom.client import WecomClient
from bot.chat.wecom.crypto import CallbackRejected, WecomCrypto
from bot.chat.wecom.render import split_by_bytes
from bot.core.messages import Reply, Section, reply_to_dict
from bot.runtime.scheduler import Scheduler
from storage import outbox as outbox_store
from storage.db import transaction
from tests.chat_rig import ChatRig, chat_rig
from tests.fake_wecom import FakeWecom, fake_wecom

# Tencent's published WXBizMsgCrypt sample values.
SAMPLE_TOKEN, SAMPLE_CORP, SAMPLE_KEY = (
    "QDG6eK",
    "wx5823bf96d3bd56c7",
    "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
)
SAMPLE_ECHO = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
SAMPLE_MESSAGE = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "wecom": "alice"},
    {"id": "bob", "name": "Bob", "role": "editor", "wecom": "bob"},
    {"id": "carol", "name": "Carol", "role": "editor", "wecom": "carol"},
]


def test_tencents_published_examples() -> None:
    crypto = WecomCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_CORP)
    crypto.check("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", SAMPLE_ECHO)
    assert crypto.decrypt(SAMPLE_ECHO) == "1616140317555161061"
    crypto.check(
        "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", SAMPLE_MESSAGE
    )
    assert "<Content><![CDATA[hello]]></Content>" in crypto.decrypt(SAMPLE_MESSAGE)
    with pytest.raises(CallbackRejected):
        WecomCrypto(SAMPLE_TOKEN, SAMPLE_KEY, "another-corp").decrypt(SAMPLE_ECHO)
    round_trip = crypto.encrypt("你好 opsbot")
    assert crypto.decrypt(round_trip) == "你好 opsbot"


@dataclass
class WecomRig(ChatRig):
    fake: FakeWecom | None = None

    @property
    def crypto(self) -> WecomCrypto:
        return self.connection.adapter.crypto

    def callback(
        self, xml: str, *, corp: str = SAMPLE_CORP, bad_signature: bool = False, age: int = 0
    ) -> httpx.Response:
        """`xml` encrypted and signed as WeCom sends it, stamped `age` seconds ago."""
        crypto = self.crypto if corp == SAMPLE_CORP else WecomCrypto(SAMPLE_TOKEN, SAMPLE_KEY, corp)
        encrypted = crypto.encrypt(xml)
        timestamp, nonce = str(int(time.time()) - age), "nonce"
        signature = "0" * 40 if bad_signature else crypto.signature(timestamp, nonce, encrypted)
        body = f"<xml><ToUserName><![CDATA[{SAMPLE_CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID>1</AgentID></xml>"
        params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return httpx.post(
            f"{self.url}/wecom/callback", params=params, content=body.encode(), timeout=10
        )

    def wait_for(self, count: int) -> list[dict]:
        """What the bot sent (callbacks are handled inline: it is all there already)."""
        sent = self.fake.sent()
        assert len(sent) == count, sent
        return sent


def text_message(content: str, *, user: str = "alice", msg_id: str | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{SAMPLE_CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or time.time_ns()}</MsgId><AgentID>1</AgentID></xml>"
    )


def event_message(event: str, key: str, *, user: str = "bob") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{SAMPLE_CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{time.time_ns()}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey><AgentID>1</AgentID></xml>"
    )


@pytest.fixture
def wecom(sqlite_url: str) -> Iterator[WecomRig]:
    with fake_wecom() as fake:
        settings = {"corp_id": SAMPLE_CORP, "agent_id": 1, "secret": "s", "token": SAMPLE_TOKEN,
                    "encoding_aes_key": SAMPLE_KEY, "robot_webhook_key": "robot-key", "base_url": fake.base}  # fmt: skip
        with chat_rig(
            sqlite_url, "wecom", settings, members=MEMBERS, channels={"wecom": "robot"}
        ) as rig:
            yield WecomRig.of(rig, fake)


def test_url_verification(wecom: WecomRig) -> None:
    params = {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
              "nonce": "263014780", "echostr": SAMPLE_ECHO}  # fmt: skip
    answer = httpx.get(f"{wecom.url}/wecom/callback", params=params)
    assert (answer.status_code, answer.text) == (200, "1616140317555161061")
    forged = httpx.get(f"{wecom.url}/wecom/callback", params=params | {"nonce": "1"})
    assert forged.status_code == 401


def test_a_text_command_round_trip(wecom: WecomRig) -> None:
    response = wecom.callback(text_message("/选题 新增 冬至节气海报 p:小红书 t:5 v:4 c:4"))

    assert (response.status_code, response.text) == (200, "")
    (reply,) = wecom.wait_for(1)
    assert reply["touser"] == "alice"
    assert reply["enable_duplicate_check"] == 1
    assert reply["msgtype"] == "template_card"  # the reply has a vote button
    card = reply["template_card"]
    assert card["main_title"]["title"].startswith("选题 #1「")
    assert card["button_list"][0]["key"] == "/topic vote 1"
    assert wecom.topics() == ["冬至节气海报"]


def test_a_template_card_click_runs_the_command(wecom: WecomRig) -> None:
    wecom.say("/topic add 冬至节气海报")
    wecom.callback(event_message("template_card_event", "/topic vote 1", user="bob"))
    (reply,) = wecom.wait_for(1)
    assert reply["touser"] == "bob" and reply["msgtype"] == "markdown"
    assert "已为 #1「冬至节气海报」投票 · 共 1 票" in reply["markdown"]["content"]


def test_a_menu_click_shows_the_digest(wecom: WecomRig) -> None:
    wecom.callback(event_message("click", "digest", user="carol"))
    (reply,) = wecom.wait_for(1)
    assert "☀️ 内容组 · 11月23日 周一 早报" in reply["markdown"]["content"]


@pytest.mark.parametrize("problem", ["signature", "corp"])
def test_forged_callbacks_get_401_and_change_nothing(wecom: WecomRig, problem: str) -> None:
    xml = text_message("/topic add 不该保存")
    response = (
        wecom.callback(xml, bad_signature=True)
        if problem == "signature"
        else wecom.callback(xml, corp="wx-other")
    )
    assert response.status_code == 401
    assert wecom.fake.sent() == [] and wecom.topics() == []


@pytest.mark.parametrize("age", [6 * 60, 24 * 3600, -6 * 60])
def test_a_callback_signed_outside_five_minutes_is_refused(wecom: WecomRig, age: int) -> None:
    """Correctly signed, but captured earlier (or stamped ahead): a replay."""
    response = wecom.callback(text_message("/topic add 不该保存", msg_id="99"), age=age)

    assert response.status_code == 401
    assert wecom.fake.sent() == [] and wecom.topics() == []


def test_a_callback_signed_four_minutes_ago_is_taken(wecom: WecomRig) -> None:
    assert wecom.callback(text_message("/topic add 晚到的选题"), age=4 * 60).status_code == 200
    assert wecom.topics() == ["晚到的选题"]


def test_a_replayed_msg_id_is_processed_once(wecom: WecomRig) -> None:
    xml = text_message("/topic add 只要一次", msg_id="4561255354251345929")
    assert wecom.callback(xml).status_code == 200
    assert wecom.callback(xml).status_code == 200
    wecom.wait_for(1)
    assert wecom.topics() == ["只要一次"]


def test_the_robot_rate_limit_then_delivery_and_token_refresh(wecom: WecomRig) -> None:
    wecom.fake.robot_limited = 1
    wecom.clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
    Scheduler(wecom.bot).tick()
    first = wecom.deliver()
    assert (first.sent, first.retried) == (0, 1)  # 45009: never dropped, retried later
    wecom.clock.advance(timedelta(seconds=60))
    assert wecom.deliver().sent == 1
    posts = wecom.fake.robot()
    assert len(posts) == 2 and posts[-1]["markdown"]["content"].startswith("**<font")
    assert all(len(p["markdown"]["content"].encode()) <= 4096 for p in posts)

    wecom.fake.expire_next = True  # the cached token expired: 42001
    wecom.clock.set(datetime.fromisoformat("2026-11-23T09:30:00+08:00"))
    Scheduler(wecom.bot).tick()
    wecom.deliver()
    assert wecom.fake.tokens_issued == 2
    prompted = sorted({m["touser"] for m in wecom.fake.sent()})
    assert prompted == ["alice", "bob", "carol"]


def test_a_long_robot_post_limited_halfway_resumes_without_repeating_a_part(
    wecom: WecomRig,
) -> None:
    rows = [(f"#{n}", f"第 {n} 行 · 冬至节气海报 · 小红书 · 评分 4.33") for n in range(300)]
    long = Reply("周报来了", sections=[Section(rows=rows)])
    parts = [body["markdown"]["content"] for body in WecomClient.robot_messages(long)]
    assert len(parts) >= 3  # over the robot's 4096 bytes
    wecom.fake.robot_limited_posts = {2}
    with transaction(wecom.bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key="long", platform="wecom", target="team",
            kind="summary", payload=reply_to_dict(long), now=wecom.clock.now(),
        )  # fmt: skip

    assert wecom.deliver().retried == 1
    wecom.clock.advance(timedelta(seconds=60))
    assert wecom.deliver().sent == 1

    posted = [post["markdown"]["content"] for post in wecom.fake.robot()]
    assert posted == [parts[0], parts[1], *parts[1:]]  # the limited part again, no other


def test_long_markdown_is_split_under_the_byte_limit() -> None:
    text = "\n".join(f"第 {n} 行 · 冬至节气海报 · 小红书 · 评分 4.33" for n in range(400))
    chunks = split_by_bytes(text, 4096)
    assert len(chunks) > 1
    assert all(len(chunk.encode()) <= 4096 for chunk in chunks)
    assert "\n".join(chunks) == text


def test_doctor_checks_the_corp_credentials(wecom: WecomRig) -> None:
    check = wecom.check()
    assert check.ok and "能取得 access token（应用 1）" in check.text


def test_doctor_says_what_to_do_about_a_wrong_secret(wecom: WecomRig) -> None:
    wecom.fake.wrong_secret = True
    check = wecom.check()
    assert not check.ok
    assert "40001" in check.text and "platforms.wecom.secret" in check.text


def test_doctor_says_which_ip_to_trust_and_that_robot_mode_needs_none(wecom: WecomRig) -> None:
    wecom.fake.untrusted_ip = True  # gettoken still works: only the calls after it fail
    check = wecom.check()
    assert not check.ok
    assert "本服务器的 IP 127.0.0.1 不是这个应用的企业可信 IP（60020）" in check.text
    assert "企业可信IP 中加入 127.0.0.1" in check.text
    assert "platforms.wecom.mode: robot" in check.text


@pytest.mark.parametrize(
    ("switch", "words"),
    [
        ({"blocked": {"/cgi-bin/agent/get"}}, "这个应用不能调用该接口（48002）"),
        ({"rate_limited": 1}, "调用太频繁（45009）"),
    ],
)
def test_doctor_explains_the_setup_errors_in_words(
    wecom: WecomRig, switch: dict[str, object], words: str
) -> None:
    for name, value in switch.items():
        setattr(wecom.fake, name, value)
    check = wecom.check()
    assert not check.ok and words in check.text


def test_a_send_from_an_untrusted_ip_fails_at_once_with_the_advice(wecom: WecomRig) -> None:
    """60020 is not retried: no backoff fixes a missing trusted IP."""
    wecom.fake.untrusted_ip = True
    wecom.clock.set(datetime.fromisoformat("2026-11-23T09:30:00+08:00"))  # the prompts
    Scheduler(wecom.bot).tick()

    report = wecom.deliver()

    # The three prompts and, once each had failed for good, the summaries behind them:
    # each tried once and given up at once.
    assert report.failed == 6 and report.retried == 0
    assert wecom.fake.shown() == []
    with transaction(wecom.bot.engine) as session:
        errors = {item.last_error for item in outbox_store.failed_items(session)}
    assert len(errors) == 1 and "60020" in (errors.pop() or "")


def test_a_command_whose_transaction_failed_runs_when_wecom_retries_it(
    wecom: WecomRig, first_topic_write_fails: list[str]
) -> None:
    """WeCom retries a callback it did not get an answer to; a command that failed must
    not have been marked handled, so the retry (same MsgId) is processed."""
    xml = text_message("/topic add 重试后保存", msg_id="4561255354251345930")

    assert wecom.callback(xml).status_code == 200
    assert wecom.topics() == []
    assert wecom.callback(xml).status_code == 200

    assert wecom.topics() == ["重试后保存"]
    assert wecom.callback(xml).status_code == 200  # once handled, a replay changes nothing
    assert wecom.topics() == ["重试后保存"] and len(first_topic_write_fails) == 2
