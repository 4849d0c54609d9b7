"""Slack: signed slash commands and button clicks over real HTTP, replies in Block Kit,
and the bot's own posts through chat.postMessage — against a fake Slack on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from sqlalchemy import text

from bot.chat.slack.adapter import SlackAdapter
from bot.chat.slack.render import render_messages
from bot.core.messages import Reply, Section, reply_to_dict
from bot.runtime.app import OpsBot
from bot.runtime.scheduler import Scheduler
from storage import outbox as outbox_store
from storage.db import transaction
from storage.export import export_tables
from tests.chat_rig import ChatRig, chat_rig
from tests.fake_slack import (
    SIGNING_SECRET,
    FakeSlack,
    button_click,
    fake_slack,
    signed_headers,
    slash_command,
)

MONDAY_10 = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "slack": "U01"},
    {"id": "bob", "name": "Bob", "role": "editor", "slack": "U02"},
    {"id": "carol", "name": "Carol", "role": "editor", "slack": "U03"},
    {"id": "dave", "name": "Dave", "role": "member", "slack": "U04"},
]


@dataclass
class SlackRig(ChatRig):
    fake: FakeSlack | None = None

    @property
    def adapter(self) -> SlackAdapter:
        return self.connection.adapter

    def post(self, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.url}/slack/events",
            content=body,
            headers=headers or signed_headers(body),
            timeout=10,
        )

    def command(self, command: str, text: str, **who: str) -> dict:
        response = self.post(slash_command(self.fake, command, text, **who))
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def slack(sqlite_url: str) -> Iterator[SlackRig]:
    with fake_slack() as fake:
        settings = {"bot_token": "xoxb-test", "signing_secret": SIGNING_SECRET, "mode": "http",
                    "api_url": fake.api_url}  # fmt: skip
        with chat_rig(
            sqlite_url, "slack", settings, members=MEMBERS, channels={"slack": "C0123"}
        ) as rig:
            yield SlackRig.of(rig, fake)


def texts(message: dict) -> str:
    return "\n".join(block.get("text", {}).get("text", "") for block in message["blocks"])


def answers_at(fake: FakeSlack, name: str) -> list[dict]:
    """What the bot posted to a response_url (it posts from a thread of its own)."""
    deadline = time.monotonic() + 5
    while not fake.posted(f"/response/{name}") and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # a second (wrong) answer would arrive about now
    return fake.posted(f"/response/{name}")


def test_a_slash_command_round_trip(slack: SlackRig) -> None:
    answer = slack.command("/ops-topic", "add 冬季护肤指南 #护肤 p:wechat t:5 v:4 c:4")

    assert answer["response_type"] == "ephemeral"
    assert (
        answer["text"]
        == "✅ 选题 #1「冬季护肤指南」已保存 · 公众号 · #护肤 · 评分 4.33 · 优先级 高"
    )
    assert "*选题 #1「冬季护肤指南」已保存 · 公众号 · #护肤 · 评分 4.33 · 优先级 高*" in texts(
        answer
    )
    button = answer["blocks"][-1]["elements"][0]
    assert (button["value"], button["text"]["text"]) == ("/topic vote 1", "👍 投票")
    assert slack.topics() == ["冬季护肤指南"]


def test_mentions_become_members_and_team_replies_go_to_the_channel(slack: SlackRig) -> None:
    answer = slack.command("/ops-team", "role <@U04|dave> editor")
    assert answer["text"] == "✅ Dave 的角色：成员 → 编辑"
    hot = slack.command("/ops-topic", "hot 双十一战报")
    assert hot["response_type"] == "in_channel"


def test_a_newcomer_is_registered_with_their_slack_name(slack: SlackRig) -> None:
    slack.command("/ops-topic", "add 新人的选题", user="U99", name="erin")
    answer = slack.command("/ops-team", "list")
    assert "@erin" in texts(answer)


def test_a_button_click_runs_the_command_and_updates_the_message(slack: SlackRig) -> None:
    slack.command("/ops-topic", "add 冬季护肤指南")

    response = slack.post(button_click(slack.fake, "/topic vote 1", user="U02", name="bob"))

    assert response.status_code == 200
    (update,) = answers_at(slack.fake, "button")
    assert update["replace_original"] is True
    assert update["text"] == "✅ 已为 #1「冬季护肤指南」投票 · 共 1 票"


@pytest.mark.parametrize(
    "headers",
    [
        lambda body: signed_headers(body, secret="wrong-secret"),
        lambda body: signed_headers(body, timestamp=int(time.time()) - 6 * 60),
        lambda body: {"Content-Type": "application/x-www-form-urlencoded"},
    ],
    ids=["forged", "stale", "unsigned"],
)
def test_forged_stale_or_unsigned_requests_get_401_and_change_nothing(
    slack: SlackRig, headers
) -> None:  # type: ignore[no-untyped-def]
    body = slash_command(slack.fake, "/ops-topic", "add 不该保存")

    response = slack.post(body, headers(body))

    assert response.status_code == 401
    assert slack.topics() == []


def test_a_tampered_body_gets_401(slack: SlackRig) -> None:
    body = slash_command(slack.fake, "/ops-topic", "add 原来的")
    headers = signed_headers(body)
    response = slack.post(body.replace("%E5%8E%9F", "%E6%96%B0"), headers)
    assert response.status_code == 401
    assert slack.topics() == []


def test_a_retried_delivery_is_processed_once(slack: SlackRig) -> None:
    body = slash_command(slack.fake, "/ops-topic", "add 只要一次", trigger="trigger-42")
    first = slack.post(body)
    retry_headers = signed_headers(body) | {
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    again = slack.post(body, retry_headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert slack.topics() == ["只要一次"]


def test_a_retried_read_is_answered_again(slack: SlackRig) -> None:
    slack.command("/ops-topic", "add 冬季护肤指南")
    body = slash_command(slack.fake, "/ops-topic", "list", trigger="trigger-43")
    retry_headers = signed_headers(body) | {"X-Slack-Retry-Num": "1"}

    first, again = slack.post(body).json(), slack.post(body, retry_headers).json()

    assert first == again
    assert "冬季护肤指南" in texts(again)


def test_scheduled_digest_arrives_once_and_reminders_go_by_dm(slack: SlackRig) -> None:
    slack.command("/ops-publish", "add 冬季护肤指南 p:wechat 今天 20:00 <@U03|carol>")
    for when in ("2026-11-23T09:00:00+08:00", "2026-11-23T09:00:30+08:00"):
        slack.clock.set(datetime.fromisoformat(when))
        Scheduler(slack.bot).tick()
        slack.deliver()

    digests = [p for p in slack.fake.posted() if p["text"].startswith("☀️")]
    assert len(digests) == 1
    assert digests[0]["channel"] == "C0123"
    assert "冬季护肤指南" in json.dumps(digests[0]["blocks"], ensure_ascii=False)

    slack.clock.set(datetime.fromisoformat("2026-11-23T18:00:00+08:00"))
    Scheduler(slack.bot).tick()
    slack.deliver()
    opened = [call["users"] for call in slack.fake.posted("conversations.open")]
    assert opened == ["U01", "U03"]  # the author (alice) and the named reviewer (carol)
    dms = [p["channel"] for p in slack.fake.posted() if "⏰" in p["text"]]
    assert dms == ["DU01", "DU03"]


def test_a_429_on_post_message_is_retried_after_retry_after(slack: SlackRig) -> None:
    slack.fake.rate_limit_next = 1
    with transaction(slack.bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key="k", platform="slack", target="team", kind="test",
            payload=reply_to_dict(Reply("周报来了")), now=slack.clock.now(),
        )  # fmt: skip
    report = slack.deliver()

    assert report.sent == 1
    attempts = [p for p in slack.fake.posted() if p["text"] == "周报来了"]
    assert len(attempts) == 2  # the 429, then the delivery (slack-sdk waited Retry-After)


def test_a_long_post_that_fails_halfway_resumes_without_posting_a_part_twice(
    slack: SlackRig,
) -> None:
    long = Reply(
        "周报来了", sections=[Section(title=f"第 {n} 节", lines=[f"内容 {n}"]) for n in range(80)]
    )
    parts = [text for _, text in render_messages(long)]
    assert len(parts) >= 3  # Slack's 50-block limit splits it
    slack.fake.fail_posts = {2}  # Slack fails the second part
    slack.connection.sender().interval = 0  # pacing is not what this test is about
    with transaction(slack.bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key="long", platform="slack", target="team",
            kind="summary", payload=reply_to_dict(long), now=slack.clock.now(),
        )  # fmt: skip

    first = slack.deliver()
    slack.clock.advance(timedelta(minutes=1))
    second = slack.deliver()

    assert (first.retried, second.sent) == (1, 1)
    delivered = [json.dumps(post["blocks"], ensure_ascii=False) for post in slack.fake.posted()]
    assert len(delivered) == len(parts) + 1  # every part once, plus the failed try
    assert delivered[1] == delivered[2]  # the failed part, then its retry
    assert len(set(delivered)) == len(parts)  # and no part posted twice
    (row,) = bot_outbox(slack)
    assert (row["status"], row["parts_sent"]) == ("sent", len(parts))


def bot_outbox(slack: SlackRig) -> list[dict]:
    with transaction(slack.bot.engine) as session:
        return export_tables(session, zone_for_team=lambda _: slack.bot.settings.team().zone)[
            "outbox"
        ]


def test_health_metrics_and_doctor(slack: SlackRig) -> None:
    assert httpx.get(f"{slack.url}/healthz").json() == {"status": "ok"}
    slack.command("/ops-help", "")
    metrics = httpx.get(f"{slack.url}/metrics").text
    assert 'opsbot_http_requests_total{route="/slack/events",status="200"}' in metrics
    assert 'opsbot_outbox_items{status="failed"} 0.0' in metrics
    check = slack.check()
    assert check.ok and "工作区 Acme，身份 opsbot" in check.text


@contextmanager
def database_held_by_someone_else(bot: OpsBot) -> Iterator[None]:
    """Another writer holds the database (a long import, say) until the block ends."""
    with transaction(bot.engine) as session:
        session.execute(text("UPDATE members SET name = name WHERE 0"))
        yield


def test_a_command_waiting_on_a_busy_database_is_acknowledged_in_time_and_answered_later(
    slack: SlackRig,
) -> None:
    slack.adapter.answer_within = 0.3
    with database_held_by_someone_else(slack.bot):
        answer = slack.command("/ops-topic", "add 慢慢来", trigger="slow")
        assert answer == {"response_type": "ephemeral", "text": "⏳ 收到，正在处理…"}
        assert slack.fake.posted("/response/slow") == []

    (later,) = answers_at(slack.fake, "slow")
    assert later["text"].startswith("✅ 选题 #1「")
    assert later["response_type"] == "ephemeral"
    assert slack.topics() == ["慢慢来"]


def test_a_read_is_answered_at_once_from_what_was_last_committed_while_a_writer_waits(
    slack: SlackRig,
) -> None:
    slack.command("/ops-topic", "add 已经存好的选题")
    slack.adapter.answer_within = 0.3
    with database_held_by_someone_else(slack.bot):
        answer = slack.command("/ops-topic", "list", trigger="read-while-held")

    assert "已经存好的选题" in texts(answer)
    assert answer["response_type"] == "ephemeral"
    assert slack.fake.posted("/response/read-while-held") == []


def test_a_newcomer_s_first_read_waits_its_turn_because_it_registers_them(
    slack: SlackRig,
) -> None:
    slack.adapter.answer_within = 0.3
    with database_held_by_someone_else(slack.bot):
        answer = slack.command("/ops-topic", "list", user="U77", name="zoe", trigger="newcomer")
        assert answer["text"] == "⏳ 收到，正在处理…"

    (later,) = answers_at(slack.fake, "newcomer")
    assert later["text"] == slack.command("/ops-topic", "list", user="U77", name="zoe")["text"]
    assert "@zoe" in texts(slack.command("/ops-team", "list"))


def test_commands_that_need_no_waiting_do_not_queue_behind_a_slow_one(slack: SlackRig) -> None:
    slack.adapter.answer_within = 0.3
    release = threading.Event()
    slow = slack.adapter.workers.submit(release.wait, 10)  # the command thread is busy
    try:
        added = slack.command("/ops-topic", "add 不用排队")
        listed = slack.command("/ops-topic", "list")
    finally:
        release.set()
        slow.result()

    assert added["text"].startswith("✅ 选题 #1「")
    assert "不用排队" in texts(listed)


def test_a_fast_command_is_answered_in_the_acknowledgement_itself(slack: SlackRig) -> None:
    slack.adapter.answer_within = 0.3
    answer = slack.command("/ops-topic", "add 快", trigger="fast")

    assert answer["text"].startswith("✅ 选题 #1「")
    time.sleep(slack.adapter.answer_within + 0.2)  # past the deadline: no second answer
    assert slack.fake.posted("/response/fast") == []


class SocketModeClientRecorder:
    """Stands in for the Socket Mode connection: records the envelopes sent back."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("test.socket_mode")
        self.sent: list[SocketModeResponse] = []

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.sent.append(response)


def socket_envelope(slack: SlackRig, text: str, trigger: str) -> SocketModeRequest:
    form = dict(parse_qsl(slash_command(slack.fake, "/ops-topic", text, trigger=trigger)))
    return SocketModeRequest(type="slash_commands", envelope_id=f"env-{trigger}", payload=form)


def test_socket_mode_answers_the_envelope_and_keeps_the_deadline(slack: SlackRig) -> None:
    handler = slack.adapter.socket_mode_handler("xapp-test")
    (listener,) = handler.client.socket_mode_request_listeners  # what the connection calls
    client = SocketModeClientRecorder()
    slack.adapter.answer_within = 0.3

    listener(client, socket_envelope(slack, "add 走长连接", "socket-1"))
    with database_held_by_someone_else(slack.bot):
        listener(client, socket_envelope(slack, "add 排队中", "socket-2"))
        listener(client, socket_envelope(slack, "list", "socket-3"))  # reads need not wait

    first, second, third = client.sent
    assert [envelope.envelope_id for envelope in client.sent] == [
        "env-socket-1", "env-socket-2", "env-socket-3"
    ]  # fmt: skip
    assert first.payload["text"].startswith("✅ 选题 #1「")
    assert second.payload["text"] == "⏳ 收到，正在处理…"
    assert "走长连接" in texts(third.payload)
    (later,) = answers_at(slack.fake, "socket-2")
    assert later["text"].startswith("✅ 选题 #2「")
    assert slack.topics() == ["走长连接", "排队中"]


# Slack's built-in commands, as the issue that found the problem lists them: a manifest
# that registers any of them is refused whole ("the slash command has an invalid name").
SLACK_BUILT_INS = {
    "/topic", "/remind", "/status", "/who", "/invite", "/leave", "/msg", "/dm", "/away",
    "/mute", "/search", "/shrug", "/me", "/feed", "/call", "/apps", "/archive", "/rename",
    "/collapse", "/expand", "/star", "/active", "/open", "/prefs", "/shortcuts", "/remove",
    "/kick", "/dnd", "/join", "/pro",
}  # fmt: skip


def _manifest() -> dict:
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "slack" / "manifest.yaml"
    return yaml.safe_load(path.read_text())


def test_the_manifest_registers_no_slack_built_in_and_a_command_for_every_family() -> None:
    from bot.chat.slack.names import SLACK_RESERVED, VALID_NAME
    from handlers.registry import ALL_FAMILIES

    commands = [c["command"] for c in _manifest()["features"]["slash_commands"]]

    assert set(commands).isdisjoint(SLACK_BUILT_INS)
    assert SLACK_BUILT_INS <= SLACK_RESERVED  # the config check knows them all too
    assert all(VALID_NAME.match(name) for name in commands)  # lowercase, at most 32
    assert commands[0] == "/ops"
    assert sorted(commands[1:]) == sorted(f"/ops-{f.name}" for f in ALL_FAMILIES)
    assert all(c["should_escape"] for c in _manifest()["features"]["slash_commands"])
    settings = _manifest()["settings"]
    assert settings["socket_mode_enabled"] and settings["interactivity"]["is_enabled"]


def test_the_umbrella_takes_every_family_in_both_languages(slack: SlackRig) -> None:
    english = slack.command("/ops", "topic add 冬季护肤指南 p:wechat")
    chinese = slack.command("/ops", "选题 新增 冬至节气海报")
    one_word_less = slack.command("/ops-topic", "add 双十一")

    assert english["text"].startswith("✅ 选题 #1「")
    assert chinese["text"].startswith("✅ 选题 #2「")
    assert one_word_less["text"].startswith("✅ 选题 #3「")
    assert slack.topics() == ["冬季护肤指南", "冬至节气海报", "双十一"]
    assert slack.command("/ops", "")["text"].startswith("opsbot")  # /ops alone: the help


def test_replies_name_commands_the_way_slack_runs_them(slack: SlackRig) -> None:
    help_text = texts(slack.command("/ops", "help"))
    assert "/ops topic" in help_text and "/ops 选题" in help_text
    assert "`/topic" not in help_text and " /topic " not in help_text
    usage = slack.command("/ops-topic", "add")["text"]
    assert usage.endswith("用法：/ops topic add <标题> [#标签…] [p:平台] [t:1-5] [v:1-5] [c:1-5]")


def test_a_built_in_name_for_the_umbrella_is_refused_at_start() -> None:
    from bot.core.config import ConfigError
    from bot.runtime.settings import parse_settings

    text = "platforms:\n  slack: {bot_token: x, signing_secret: y, command: /topic}\n"
    with pytest.raises(ConfigError) as refused:
        parse_settings(text, environ={})
    assert "platforms.slack.command: /topic is one of Slack's built-in commands" in str(
        refused.value
    )
