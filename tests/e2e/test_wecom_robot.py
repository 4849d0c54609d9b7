"""WeCom in robot mode: the smart robot's long connection, against a fake WeCom
WebSocket server on 127.0.0.1 that speaks the documented frames — commands in a group
and a single chat, a card updated by its button, the digest pushed to the team's
group, and a dropped connection resumed with nothing lost and nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.chat.wecom.robot import WecomRobotConnection
from bot.chat.wecom.robot_client import Backoff
from bot.core.config import ConfigError
from bot.runtime.scheduler import Scheduler
from bot.runtime.settings import configured_platforms, settings_from
from tests.chat_rig import ChatRig, chat_rig
from tests.fake_wecom_robot import FakeRobot, fake_wecom_robot

GROUP = "wrkSFfCgAAxxxxGroupChatId"
MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "wecom": "alice"},
    {"id": "bob", "name": "Bob", "role": "editor", "wecom": "bob"},
    {"id": "carol", "name": "Carol", "role": "editor", "wecom": "carol"},
]


@dataclass
class RobotRig(ChatRig):
    fake: FakeRobot | None = None

    @property
    def robot(self) -> WecomRobotConnection:
        connection: WecomRobotConnection = self.connection
        return connection

    def start(self) -> None:
        """`opsbot run` starts the connection; reconnecting at once keeps tests fast."""
        subscribed = self.fake.subscriptions
        self.robot.client.backoff = Backoff(first=0, most=0.05)
        self.robot.client.replaced_pause_seconds = 0
        self.robot.start()
        self.fake.wait_subscribed(subscribed + 1)

    def answer(self, req_id: str, count: int = 1) -> list[dict[str, Any]]:
        """The bodies the bot replied to a callback with, once there are `count`."""
        self.fake.wait(lambda: len(self.fake.replies_to(req_id)) >= count)
        return [frame["body"] for frame in self.fake.replies_to(req_id)]


def robot_settings(fake: FakeRobot, **overrides: Any) -> dict[str, Any]:
    return {"mode": "robot", "bot_id": fake.bot_id, "bot_secret": fake.secret,
            "ws_url": fake.url, **overrides}  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeRobot]:
    with fake_wecom_robot() as robot:
        yield robot


@pytest.fixture
def robot(sqlite_url: str, fake: FakeRobot) -> Iterator[RobotRig]:
    with chat_rig(
        sqlite_url, "wecom", robot_settings(fake), members=MEMBERS,
        channels={"wecom": GROUP}, serve=False,
    ) as rig:  # fmt: skip
        started = RobotRig.of(rig, fake)
        started.start()
        yield started


# -- the config ------------------------------------------------------------------------


def test_robot_mode_needs_only_the_robots_id_and_secret(tmp_path: Any) -> None:
    document = {"storage": {"url": f"sqlite:///{tmp_path}/a.db"}, "teams": [{"id": "content"}]}
    settings = settings_from(
        {**document, "platforms": {"wecom": {"mode": "robot", "bot_id": "b", "bot_secret": "s"}}}
    )
    (wecom,) = configured_platforms(settings)
    assert (wecom.settings.mode, wecom.settings.ws_url) == (
        "robot",
        "wss://openws.work.weixin.qq.com",
    )

    with pytest.raises(ConfigError) as missing:
        settings_from({**document, "platforms": {"wecom": {"mode": "robot", "bot_secret": "s"}}})
    assert str(missing.value) == "platforms.wecom.bot_id: required in robot mode"

    with pytest.raises(
        ConfigError, match=r"platforms\.wecom\.mode: Input should be 'app' or 'robot'"
    ):
        settings_from({**document, "platforms": {"wecom": {"mode": "socket"}}})
    with pytest.raises(ConfigError, match=r"platforms\.wecom\.corp_id: required in app mode"):
        settings_from({**document, "platforms": {"wecom": {"bot_id": "b", "bot_secret": "s"}}})


# -- commands --------------------------------------------------------------------------


def test_a_group_command_is_answered_on_its_callback(robot: RobotRig) -> None:
    req_id = robot.fake.push_text(
        "@运营助手 /选题 新增 冬至节气海报 p:小红书", user="alice", chat=GROUP
    )

    bodies = robot.answer(req_id)
    card = bodies[-1]["template_card"]  # the reply has a vote button
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"].startswith("选题 #1「")
    assert card["button_list"][0]["key"] == "/topic vote 1"
    assert robot.topics() == ["冬至节气海报"]


def test_a_single_chat_command_is_answered_in_markdown(robot: RobotRig) -> None:
    robot.say("/topic add 冬至节气海报")

    req_id = robot.fake.push_text("/选题 列表", user="bob")

    (body,) = robot.answer(req_id)
    assert body["msgtype"] == "markdown"
    assert "冬至节气海报" in body["markdown"]["content"]


def test_group_chatter_without_a_command_is_not_answered(robot: RobotRig) -> None:
    robot.fake.push_text("@运营助手 大家好", user="alice", chat=GROUP)
    marker = robot.fake.push_text("/帮助", user="alice", chat=GROUP)

    robot.answer(marker)  # handled in order: the chatter before it was passed over
    assert [f["headers"]["req_id"] for f in robot.fake.sent("aibot_respond_msg")] == [marker]


def test_a_button_click_updates_the_card_of_who_clicked(robot: RobotRig) -> None:
    added = robot.fake.push_text("/topic add 冬至节气海报", user="alice", chat=GROUP)
    card = robot.answer(added)[-1]["template_card"]

    click = robot.fake.push_click(
        card["button_list"][0]["key"], card["task_id"], user="bob", chat=GROUP
    )

    robot.fake.wait(lambda: robot.fake.sent("aibot_respond_update_msg"))
    (update,) = robot.fake.sent("aibot_respond_update_msg")
    assert update["headers"]["req_id"] == click
    assert update["body"]["userids"] == ["bob"]
    updated = update["body"]["template_card"]
    assert updated["task_id"] == card["task_id"]
    assert (
        "已为 #1「冬至节气海报」投票"
        in updated["main_title"]["title"] + updated["main_title"]["desc"]
    )
    assert [b["key"] for b in updated["button_list"]] == ["/topic vote 1"]  # ✓: runs it again
    assert robot.say("/topic list").sections[0].rows[0][-1] == "👍1"  # bob's vote counts


def test_a_click_answered_after_wecoms_five_seconds_is_posted_instead(robot: RobotRig) -> None:
    card = robot.answer(robot.fake.push_text("/topic add 慢", chat=GROUP))[-1]["template_card"]
    robot.robot.adapter.card_answer_within = timedelta(seconds=-1)  # as if it took too long

    robot.fake.push_click("/topic vote 1", card["task_id"], user="bob", chat=GROUP)

    robot.fake.wait(lambda: robot.fake.posts_to(GROUP))
    assert "已为 #1「慢」投票" in robot.fake.posts_to(GROUP)[0]["body"]["markdown"]["content"]
    assert robot.fake.sent("aibot_respond_update_msg") == []


def test_a_refused_click_is_posted_to_the_chat_and_the_card_stays(robot: RobotRig) -> None:
    robot.fake.push_text("/帮助", user="alice", chat=GROUP)  # the group has written
    robot.fake.push_click("/publish confirm 99", "task1", user="bob", chat=GROUP)

    robot.fake.wait(lambda: robot.fake.posts_to(GROUP))
    (post,) = robot.fake.posts_to(GROUP)
    assert post["body"]["msgtype"] == "markdown" and "99" in post["body"]["markdown"]["content"]
    assert robot.fake.sent("aibot_respond_update_msg") == []


# -- posts -----------------------------------------------------------------------------


def test_the_digest_is_pushed_to_the_teams_group(robot: RobotRig) -> None:
    robot.fake.push_text("/帮助", user="alice", chat=GROUP)  # WeCom: the group wrote first
    robot.clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
    Scheduler(robot.bot).tick()

    report = robot.deliver()

    assert report.sent >= 1
    digests = [p for p in robot.fake.posts_to(GROUP) if "早报" in p["body"]["markdown"]["content"]]
    assert len(digests) == 1
    assert robot.deliver().sent == 0  # delivered once


def test_opsbot_tick_never_subscribes_and_leaves_the_post_to_opsbot_run(
    sqlite_url: str, fake: FakeRobot
) -> None:
    with chat_rig(sqlite_url, "wecom", robot_settings(fake), members=MEMBERS,
                  channels={"wecom": GROUP}, serve=False) as rig:  # fmt: skip
        rig.clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
        Scheduler(rig.bot).tick()
        report = rig.deliver()  # as `opsbot tick` does: no long connection
        assert (report.sent, report.retried) == (0, 1)
        assert fake.subscriptions == 0


# -- the connection --------------------------------------------------------------------


def test_a_dropped_connection_resumes_and_a_pushed_again_message_runs_once(
    robot: RobotRig,
) -> None:
    first = robot.fake.push_text("/topic add 只要一次", user="alice", chat=GROUP, msgid="m-1")
    robot.answer(first)

    robot.fake.drop()
    robot.fake.wait_subscribed(2)
    again = robot.fake.push_text("/topic add 只要一次", user="alice", chat=GROUP, msgid="m-1")
    after = robot.fake.push_text("/topic add 第二个", user="alice", chat=GROUP, msgid="m-2")

    robot.answer(after)
    assert robot.fake.replies_to(again) == []
    assert robot.topics() == ["只要一次", "第二个"]


def test_a_message_pushed_again_after_a_restart_runs_once(sqlite_url: str, fake: FakeRobot) -> None:
    """The msgid is recorded with the command (the dispatcher's delivery ledger, as for
    every platform's retries), so a new process recognises it too."""

    def running() -> Any:
        rig = chat_rig(sqlite_url, "wecom", robot_settings(fake), members=MEMBERS,
                       channels={"wecom": GROUP}, serve=False)  # fmt: skip
        return rig

    with running() as first:
        RobotRig.of(first, fake).start()
        RobotRig.of(first, fake).answer(
            fake.push_text("/topic add 重启也一次", chat=GROUP, msgid="m-9")
        )
    with running() as second:
        again = RobotRig.of(second, fake)
        again.start()
        pushed_again = fake.push_text("/topic add 重启也一次", chat=GROUP, msgid="m-9")
        again.answer(fake.push_text("/topic add 新的", chat=GROUP, msgid="m-10"))
        assert fake.replies_to(pushed_again) == []
        assert again.topics() == ["重启也一次", "新的"]


def test_an_answer_the_dropped_connection_lost_is_posted_after_reconnecting(
    robot: RobotRig,
) -> None:
    lost = robot.fake.push_then_drop("/topic add 断线也不丢", user="alice", chat=GROUP, msgid="m-3")

    robot.fake.wait_subscribed(2)
    robot.fake.wait(lambda: robot.fake.posts_to(GROUP))
    robot.fake.push_text("/topic add 断线也不丢", user="alice", chat=GROUP, msgid="m-3")
    marker = robot.fake.push_text("/帮助", user="alice", chat=GROUP)
    robot.answer(marker)

    assert robot.fake.replies_to(lost) == []  # never reached WeCom: the connection closed
    posts = robot.fake.posts_to(GROUP)
    assert posts[-1]["body"]["template_card"]["main_title"]["title"].startswith("选题 #1「")
    assert len([p for p in posts if p["body"]["msgtype"] == "template_card"]) == 1
    assert robot.topics() == ["断线也不丢"]
    assert robot.robot.adapter.unsent == 0


def test_being_replaced_by_another_connection_is_logged_and_waited_out(
    robot: RobotRig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.chat.wecom.robot_client"):
        robot.fake.replace()
        robot.fake.wait_subscribed(2)

    assert "another connection subscribed with bot bot-1" in caplog.text


def test_a_wrong_secret_is_logged_in_words_and_retried(
    sqlite_url: str, fake: FakeRobot, caplog: pytest.LogCaptureFixture
) -> None:
    settings = robot_settings(fake, bot_secret="wrong")
    with chat_rig(sqlite_url, "wecom", settings, members=MEMBERS, channels={"wecom": GROUP},
                  serve=False) as rig, caplog.at_level(logging.ERROR):  # fmt: skip
        rig.connection.client.backoff = Backoff(first=0, most=0.01)
        rig.connection.start()
        fake.wait(lambda: fake.refusals >= 2)

    assert "check platforms.wecom.bot_id and bot_secret" in caplog.text
    assert fake.subscriptions == 0


def test_the_heartbeat_is_a_ping_frame_that_wecom_answers(robot: RobotRig) -> None:
    robot.robot.stop()
    robot.robot.client.heartbeat_seconds = 0.02
    robot.start()

    robot.fake.wait(lambda: len([f for f in robot.fake.frames if f["cmd"] == "ping"]) >= 3)
    assert robot.fake.subscriptions == 2  # answered pings keep the connection


def test_a_connection_whose_pings_go_unanswered_is_replaced(robot: RobotRig) -> None:
    robot.fake.answer_pings = False
    robot.robot.stop()
    robot.robot.client.heartbeat_seconds = 0.02
    robot.start()

    robot.fake.wait_subscribed(3)  # two pings unanswered: taken for dead, reconnected


def test_stopping_closes_the_connection_for_good(robot: RobotRig) -> None:
    robot.robot.stop()

    robot.fake.wait(lambda: not robot.fake.connected)
    assert robot.fake.subscriptions == 1 and not robot.robot.client.started


def test_doctor_reaches_the_address_without_subscribing(robot: RobotRig, fake: FakeRobot) -> None:
    check = robot.check()
    assert check.ok and fake.url in check.text
    assert fake.subscriptions == 1  # only the running bot's


def test_doctor_names_an_address_that_cannot_be_reached(sqlite_url: str) -> None:
    settings = {"mode": "robot", "bot_id": "b", "bot_secret": "s", "ws_url": "ws://127.0.0.1:9"}
    with chat_rig(sqlite_url, "wecom", settings, members=MEMBERS, channels={"wecom": GROUP},
                  serve=False) as rig:  # fmt: skip
        check = rig.check()
    assert not check.ok and "ws://127.0.0.1:9" in check.text
