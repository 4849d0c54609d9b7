"""Every event reaches one team, the right one, or none: a team is found from the
channel a command came from or from the speaker's own membership, never by falling back
to the first team; and a newcomer joins only from the team's own channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from bot.core.clock import FrozenClock
from bot.core.dispatch import Delivery
from bot.core.messages import Command, Reply
from bot.runtime.app import OpsBot
from bot.runtime.settings import settings_from
from storage.db import transaction
from storage.export import export_tables

SLACK = {"bot_token": "xoxb", "signing_secret": "s", "mode": "http"}


def teams(*, open_registration: bool = True) -> list[dict[str, Any]]:
    return [
        {"id": "content", "name": "内容组", "channels": {"slack": "C_CONTENT", "feishu": "oc_c"},
         "open_registration": open_registration,
         "members": [{"id": "alice", "role": "admin", "slack": "U_ALICE", "wecom": "alice"}]},
        {"id": "video", "name": "视频组", "channels": {"slack": "C_VIDEO"},
         "members": [{"id": "vera", "role": "admin", "slack": "U_VERA", "wecom": "vera"}]},
    ]  # fmt: skip


def open_bot(url: str, **team_options: bool) -> OpsBot:
    settings = settings_from({
        "locale": "zh-CN", "storage": {"url": url}, "platforms": {"slack": SLACK},
        "teams": teams(**team_options),
    })  # fmt: skip
    return OpsBot.open(settings, FrozenClock(datetime.fromisoformat("2026-12-01T10:00:00+08:00")))


@pytest.fixture
def bot(sqlite_url: str) -> Iterator[OpsBot]:
    opened = open_bot(sqlite_url)
    yield opened
    opened.engine.dispose()


def send(
    bot: OpsBot, text: str, user: str, *, channel: str | None = None, platform: str = "slack"
) -> Reply:
    command = Command(text=text, team_id=None, user_id=user, user_name=user.lower(),
                      channel_id=channel, direct=channel is None)  # fmt: skip
    reply = bot.dispatch(command, Delivery(platform))
    assert reply is not None
    return reply


def stored(bot: OpsBot) -> dict[str, list[dict[str, Any]]]:
    with transaction(bot.engine) as session:
        tables = export_tables(session, zone_for_team=lambda _: bot.settings.team().zone,
                               chat_platforms=("slack", "feishu", "wecom"))  # fmt: skip
    return {name: rows for name, rows in tables.items() if name != "ledger"}


def test_a_stranger_s_direct_message_reaches_no_team_stores_nothing_and_says_how_to_join(
    bot: OpsBot,
) -> None:
    before = stored(bot)

    reply = send(bot, "/topic add 冬至节气海报", "U_STRANGER")

    assert reply.is_error
    assert "你还不在任何团队里" in reply.title and "U_STRANGER" in reply.title
    assert "团队的频道" in reply.title
    assert stored(bot) == before


def test_a_stranger_cannot_even_read_a_team_s_backlog_from_a_dm(bot: OpsBot) -> None:
    send(bot, "/topic add 冬至节气海报", "U_ALICE", channel="C_CONTENT")

    reply = send(bot, "/topic list", "U_STRANGER")

    assert reply.is_error and "冬至" not in str(reply)


def test_a_newcomer_in_a_team_s_channel_joins_that_team(bot: OpsBot) -> None:
    reply = send(bot, "/topic add 短视频脚本", "U_NEW", channel="C_VIDEO")

    assert not reply.is_error, reply.title
    members = [(m["team"], m["id"]) for m in stored(bot)["members"] if m["slack"] == "U_NEW"]
    assert members == [("video", "u_new")]
    assert [(t["team"], t["title"]) for t in stored(bot)["topics"]] == [("video", "短视频脚本")]


def test_a_member_s_dm_reaches_their_own_team_not_the_first(bot: OpsBot) -> None:
    send(bot, "/topic add 短视频脚本", "U_VERA")

    assert [(t["team"], t["title"]) for t in stored(bot)["topics"]] == [("video", "短视频脚本")]


def test_a_channel_no_team_owns_reaches_no_team(bot: OpsBot) -> None:
    reply = send(bot, "/topic add 冬至节气海报", "U_STRANGER", channel="C_RANDOM")

    assert reply.is_error and "你还不在任何团队里" in reply.title
    assert stored(bot)["topics"] == []


def test_a_wecom_app_message_from_someone_not_in_the_config_reaches_no_team(
    bot: OpsBot,
) -> None:
    """WeCom app messages come from no channel: only the member's own mapping routes them."""
    refused = send(bot, "/topic add 冬至节气海报", "zhangsan", platform="wecom")
    vera = send(bot, "/topic add 短视频脚本", "vera", platform="wecom")

    assert refused.is_error and "zhangsan" in refused.title
    assert not vera.is_error
    assert [(t["team"], t["title"]) for t in stored(bot)["topics"]] == [("video", "短视频脚本")]


def test_with_registration_closed_only_listed_members_take_part(sqlite_url: str) -> None:
    bot = open_bot(sqlite_url, open_registration=False)

    refused = send(bot, "/topic add 冬至节气海报", "U_NEW", channel="C_CONTENT")
    listed = send(bot, "/topic add 年终盘点", "U_ALICE", channel="C_CONTENT")

    assert refused.is_error
    assert "内容组" in refused.title and "不自动登记新成员" in refused.title
    assert "U_NEW" in refused.title
    assert not listed.is_error
    assert [t["title"] for t in stored(bot)["topics"]] == ["年终盘点"]
    assert [m["slack"] for m in stored(bot)["members"] if m["slack"] == "U_NEW"] == []
    bot.engine.dispose()


def test_the_refusal_speaks_english_too(sqlite_url: str) -> None:
    settings = settings_from({
        "locale": "en", "storage": {"url": sqlite_url}, "platforms": {"slack": SLACK},
        "teams": teams(),
    })  # fmt: skip
    bot = OpsBot.open(settings, FrozenClock(datetime.fromisoformat("2026-12-01T10:00:00+08:00")))

    reply = send(bot, "/topic add Winter", "U_STRANGER")

    assert reply.title.startswith("You are not in a team yet")
    assert "U_STRANGER" in reply.title
    bot.engine.dispose()


def test_a_member_s_dm_finds_team_and_speaker_in_the_read_a_channel_needs_for_the_speaker(
    bot: OpsBot,
) -> None:
    """From a DM the team is found by the speaker's membership, which names the speaker
    too: a DM costs no statement more than the team's own channel."""
    from tests.sql_counting import statements

    send(bot, "/topic add 冬至节气海报", "U_ALICE", channel="C_CONTENT")
    with statements(bot.engine) as in_channel:
        send(bot, "/topic list", "U_ALICE", channel="C_CONTENT")
    with statements(bot.engine) as in_dm:
        reply = send(bot, "/topic list", "U_ALICE")

    assert "冬至节气海报" in str(reply)
    assert len(in_dm) == len(in_channel)


def test_a_removed_member_s_dm_is_refused_and_stores_nothing(bot: OpsBot) -> None:
    assert not send(bot, "/topic add 年终盘点", "U_NEW", channel="C_CONTENT").is_error
    assert not send(bot, "/topic add 冬至节气海报", "U_NEW").is_error  # their DM reaches the team
    send(bot, "/team remove @u_new", "U_ALICE", channel="C_CONTENT")
    before = stored(bot)

    reply = send(bot, "/topic add 元旦海报", "U_NEW")

    assert reply.is_error and "@u_new 已被移出团队" in reply.title, reply.title
    assert stored(bot) == before
