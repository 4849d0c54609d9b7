"""Feishu cards in JSON 2.0, checked the way Feishu checks them; pictures uploaded once
and shown in the card; card buttons answered within Feishu's 3 seconds, slow commands
finishing through the delayed update — over real HTTP against the fake on 127.0.0.1."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import logging
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bot.chat.feishu import client as client_module
from bot.chat.feishu.adapter import FeishuAdapter
from bot.chat.feishu.client import FeishuError
from bot.chat.feishu.render import escape, render_card
from bot.chat.feishu.sender import FeishuSender
from bot.core.messages import Button, Image, Reply, Section, Tone, reply_to_dict
from bot.core.outbound import DeliveryError, OutgoingMessage
from bot.runtime.scheduler import Scheduler
from handlers import topics
from storage import outbox as outbox_store
from storage.db import snapshot, transaction
from storage.models import OutboxItem
from tests.fake_feishu import (
    ELEMENT_KEYS,
    MAX_IMAGE_BYTES,
    CardRefused,
    FeishuRig,
    card_action,
    feishu_rig,
    message_event,
    validate_callback_answer,
)  # fmt: skip

JSON_1_CARD = {
    "config": {"wide_screen_mode": True},
    "header": {"title": {"tag": "plain_text", "content": "旧卡片"}, "template": "blue"},
    "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**1.0**"}}],
}


@pytest.fixture
def feishu(sqlite_url: str) -> Iterator[FeishuRig]:
    with feishu_rig(sqlite_url) as rig:
        yield rig


def cards(feishu: FeishuRig) -> list[dict[str, Any]]:
    """The cards Feishu took, in order."""
    return [
        json.loads(message["content"])
        for message in feishu.feishu.delivered()
        if message["msg_type"] == "interactive"
    ]


def tags(card: dict[str, Any]) -> list[str]:
    return [element["tag"] for element in card["body"]["elements"]]


def markdown(card: dict[str, Any]) -> str:
    return "\n".join(e["content"] for e in card["body"]["elements"] if e["tag"] == "markdown")


def a_card(**body: Any) -> dict[str, Any]:
    """A valid JSON 2.0 card, or one with `body` changed to make it invalid."""
    card: dict[str, Any] = {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": "标题"}, "template": "blue"},
        "body": {"elements": [{"tag": "markdown", "content": "正文"}]},
    }
    card.update(body)
    return card


# -- every reply and post is a card JSON 2.0 ----------------------------------------------


def test_replies_and_posts_are_cards_in_json_2_0(feishu: FeishuRig) -> None:
    feishu.send(message_event("/topic add 冬至节气海报 p:小红书", chat_type="p2p"))
    feishu.send(message_event("/topic list", chat_type="p2p"))
    feishu.clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
    Scheduler(feishu.bot).tick()
    assert feishu.deliver().sent >= 1  # the morning digest, to the group

    assert feishu.feishu.refused == []
    (added, listed, *posts) = cards(feishu)
    assert posts and feishu.feishu.delivered()[-1]["receive_id"] == "oc_123"
    for card in (added, listed, *posts):
        assert card["schema"] == "2.0" and card["config"] == {"update_multi": True}
        assert "elements" not in card and card["header"]["title"]["tag"] == "plain_text"
        assert set(tags(card)) <= set(ELEMENT_KEYS)
    assert added["header"]["template"] == "green"
    (row,) = [e for e in added["body"]["elements"] if e["tag"] == "column_set"]
    (button,) = [b for column in row["columns"] for b in column["elements"]]
    assert button["behaviors"] == [{"type": "callback", "value": {"command": "/topic vote 1"}}]
    assert button["text"] == {"tag": "plain_text", "content": "👍 投票"}
    assert "冬至节气海报" in markdown(listed)


def test_sections_are_split_by_rules_and_buttons_stand_in_a_row() -> None:
    reply = Reply(
        "标题",
        sections=[
            Section("一", lines=["甲"]),
            Section(),
            Section("二", fields=[("负责人", "Bob")]),
        ],
        buttons=[
            Button("投票", "/topic vote 1", "primary"),
            Button("删除", "/topic drop 1", "danger"),
        ],
    )
    answer = FeishuAdapter.card_answer(reply)
    validate_callback_answer(answer)
    card = answer["card"]["data"]
    assert tags(card) == ["markdown", "hr", "markdown", "column_set"]
    assert markdown(card) == "**一**\n甲\n**二**\n**负责人**：Bob"
    (row,) = card["body"]["elements"][-1:]
    assert row["flex_mode"] == "flow"
    assert [c["elements"][0]["type"] for c in row["columns"]] == ["primary", "danger"]


@pytest.mark.parametrize(
    ("card", "problem"),
    [
        (JSON_1_CARD, "schema is None"),
        (a_card(elements=[]), "unknown properties ['elements']"),
        (a_card(body={"elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "x"}}]}), "unknown tag 'div'"),
        (a_card(body={"elements": [{"tag": "action", "actions": []}]}), "unknown tag 'action'"),
        (a_card(body={"elements": [{"tag": "markdown", "content": "x", "colour": "red"}]}), "unknown properties ['colour']"),
        (a_card(header={"title": {"tag": "plain_text", "content": "x"}, "theme": "blue"}), "header has unknown properties"),
        (a_card(config={"wide_screen_mode": True}), "config has unknown properties"),
        (a_card(config={"update_multi": False}), "update_multi must be true"),
        (a_card(body={"elements": [{"tag": "button", "text": {"tag": "plain_text", "content": "投票"},
                                    "value": {"command": "/topic vote 1"}}]}), "unknown properties ['value']"),
        (a_card(body={"elements": [{"tag": "button", "text": {"tag": "plain_text", "content": "投票"}}]}), "without behaviors"),
        (a_card(body={"elements": [{"tag": "button", "text": {"tag": "plain_text", "content": ""},
                                    "behaviors": [{"type": "callback", "value": {}}]}]}), "without text"),
        (a_card(body={"elements": [{"tag": "img", "img_key": "img_v3_nope", "alt": {"tag": "plain_text", "content": ""}}]}), "never uploaded"),
        (a_card(body={"elements": [{"tag": "markdown", "content": "x" * 40_000}]}), "over 30 KB"),
    ],
)  # fmt: skip
def test_a_malformed_card_is_refused_as_feishu_refuses_it(
    feishu: FeishuRig, card: dict[str, Any], problem: str
) -> None:
    body = {"receive_id": "oc_123", "msg_type": "interactive", "uuid": "u-bad",
            "content": json.dumps(card, ensure_ascii=False)}  # fmt: skip

    with pytest.raises(FeishuError) as refused:
        feishu.connection.client.call(
            "POST", "/open-apis/im/v1/messages", params={"receive_id_type": "chat_id"}, json=body
        )

    assert (refused.value.status, refused.value.code) == (400, 230099)
    assert "Failed to create card content" in str(refused.value) and problem in str(refused.value)
    assert feishu.feishu.delivered() == []
    with pytest.raises(CardRefused, match=re.escape(problem)):
        validate_callback_answer({"card": {"type": "raw", "data": card}})


def test_a_malformed_card_fails_the_post_for_good(
    feishu: FeishuRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the renderer to fall back into JSON 1.0, the fake refuses it like Feishu, and
    the sender says it is not worth retrying."""
    monkeypatch.setattr(
        client_module, "render_message", lambda reply, **_: ("interactive", JSON_1_CARD)
    )

    with pytest.raises(DeliveryError) as failed:
        feishu.connection.sender().send(outgoing(Reply("早报")))

    assert not failed.value.retryable and "230099" in str(failed.value)
    assert feishu.feishu.refused and feishu.feishu.delivered() == []


def test_a_callback_answer_with_a_json_1_card_is_refused() -> None:
    with pytest.raises(CardRefused):
        validate_callback_answer(
            {
                "toast": {"type": "success", "content": "好"},
                "card": {"type": "raw", "data": JSON_1_CARD},
            }
        )
    with pytest.raises(CardRefused):
        validate_callback_answer({"toast": {"type": "done", "content": "好"}})


# -- user text cannot break out of the markdown --------------------------------------------

HOSTILE = [  # each short enough that the list shows it whole (40 columns)
    "**粗** <at id=all></at> ~~删~~",
    "[链](https://e.cn) `码` :OK:",
    "1. | a | _斜_ &#42; $x$ \\",
]


def test_user_text_shows_as_written_and_mentions_nobody(feishu: FeishuRig) -> None:
    for title in HOSTILE:
        feishu.send(message_event(f'/topic add "{title}"', chat_type="p2p"))
    feishu.send(message_event("/topic list", chat_type="p2p"))

    content = markdown(cards(feishu)[-1])
    for title in HOSTILE:
        assert escape(title) in content and title in html.unescape(content)
    for markup in ("<at", "**粗", "~~", "](", "`", ":OK:", "_斜", "$x"):
        assert markup not in content


def test_line_starts_cannot_open_a_list_a_quote_or_a_code_block() -> None:
    assert escape("1. 第一") == "1&#46; 第一"
    assert escape("- 项") == "&#45; 项"
    assert escape("> 引用") == "&#62; 引用"
    assert escape("    缩进") == "&#160;&#160;&#160;&#160;缩进"
    assert escape("# 标题") == "&#35; 标题"
    assert escape("09:30 https://example.com") == "09:30 https://example.com"


SYNTAX = set("\\`*_~[]()#+-!<>|&$=")


@given(st.text(max_size=200))
def test_escaped_text_has_no_markdown_left_and_reads_the_same(text: str) -> None:
    escaped = escape(text)
    outside_entities = re.sub(r"&#\d+;", "", escaped)
    assert not SYNTAX & set(outside_entities)
    assert not re.search(r":[A-Za-z]", escaped)  # an emoji key
    assert not re.search(r"^[ \t]|^\d+\.", escaped, re.MULTILINE)  # a code block, a list
    leading = re.sub(r"^[ \t]+", lambda m: "\xa0" * len(m.group(0)), text, flags=re.MULTILINE)
    assert html.unescape(escaped) == leading


# -- pictures ---------------------------------------------------------------------------------


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def summary(png: bytes | None = None) -> Reply:
    picture = Image(
        base64.b64encode(png or tiny_png()).decode(), alt="近 8 周阅读量", filename="2026-W47.png"
    )
    return Reply(
        "上周数据 2026-W47", tone=Tone.INFO,
        sections=[Section("公众号", fields=[("阅读", "1,200"), ("粉丝", "+35")])], image=picture,
    )  # fmt: skip


def outgoing(
    reply: Reply, *, parts_sent: int = 0, recorded: list[int] | None = None
) -> OutgoingMessage:
    return OutgoingMessage(
        1, "content", "team", "oc_123", "weekly_summary", "content:weekly_summary:2026-W47", reply,
        parts_sent=parts_sent, record_parts_sent=(recorded if recorded is not None else []).append,
    )  # fmt: skip


def test_a_post_with_a_picture_uploads_it_and_shows_it_in_the_card(feishu: FeishuRig) -> None:
    with transaction(feishu.bot.engine) as session:
        outbox_store.enqueue(
            session, team_id="content", key="content:weekly_summary:2026-W47", platform="feishu",
            target="team", kind="weekly_summary", payload=reply_to_dict(summary()), now=feishu.clock.now(),
        )  # fmt: skip

    assert feishu.deliver().sent == 1

    (upload,) = feishu.feishu.uploads()
    assert upload == {"image_type": "message", "filename": "2026-W47.png", "size": len(tiny_png())}
    (card,) = cards(feishu)
    (picture,) = [e for e in card["body"]["elements"] if e["tag"] == "img"]
    assert feishu.feishu.images[picture["img_key"]] == tiny_png()
    assert picture["alt"] == {"tag": "plain_text", "content": "近 8 周阅读量"}
    assert tags(card) == ["markdown", "img"] and "**阅读**：1,200" in markdown(card)
    with snapshot(feishu.bot.engine) as session:
        (item,) = session.exec(select(OutboxItem)).all()
        assert (item.status, item.parts_sent) == ("sent", 1)


@pytest.mark.parametrize(
    ("png", "fail_with"),
    [(None, 400), (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES, 0), (b"not a picture", 0)],
    ids=["refused", "over 10 MB", "not a picture"],
)
def test_a_picture_refused_for_good_is_left_out_and_logged(
    feishu: FeishuRig, caplog: pytest.LogCaptureFixture, png: bytes | None, fail_with: int
) -> None:
    feishu.feishu.fail_next_upload = fail_with
    sender: FeishuSender = feishu.connection.sender()

    with caplog.at_level(logging.WARNING, logger="bot.chat.feishu.sender"):
        sender.send(outgoing(summary(png)))

    assert len(feishu.feishu.uploads()) == 1 and feishu.feishu.images == {}
    (card,) = cards(feishu)
    assert "img" not in tags(card)
    assert card == render_card(summary(png))  # the text summary, complete without its picture
    assert "the post goes without it" in caplog.text and "2026-W47.png" in caplog.text


def test_feishu_down_during_the_upload_makes_the_post_wait(feishu: FeishuRig) -> None:
    feishu.feishu.fail_next_upload = 503
    sender: FeishuSender = feishu.connection.sender()
    recorded: list[int] = []

    with pytest.raises(DeliveryError) as down:
        sender.send(outgoing(summary(), recorded=recorded))

    assert down.value.retryable and feishu.feishu.delivered() == [] and recorded == []
    sender.send(outgoing(summary(), recorded=recorded))  # the outbox's retry
    assert len(feishu.feishu.uploads()) == 2 and len(feishu.feishu.images) == 1
    (card,) = cards(feishu)
    assert "img" in tags(card) and recorded == [1]


def test_a_retry_after_the_message_was_taken_uploads_nothing_again(feishu: FeishuRig) -> None:
    """Feishu took the message but its answer was lost: the retry reuses the picture and
    the uuid, so there is one upload and one message."""
    feishu.feishu.lose_next_answer = True
    sender: FeishuSender = feishu.connection.sender()
    recorded: list[int] = []

    with pytest.raises(DeliveryError) as lost:
        sender.send(outgoing(summary(), recorded=recorded))
    assert lost.value.retryable and recorded == []

    sender.send(outgoing(summary(), recorded=recorded))

    assert len(feishu.feishu.uploads()) == 1
    assert len(feishu.feishu.messages()) == 2 and len(feishu.feishu.delivered()) == 1
    assert len({m["uuid"] for m in feishu.feishu.messages()}) == 1
    assert recorded == [1]


def test_a_post_the_outbox_knows_was_taken_is_not_uploaded_or_sent_again(feishu: FeishuRig) -> None:
    feishu.connection.sender().send(outgoing(summary(), parts_sent=1))

    assert feishu.feishu.calls == []


# -- card buttons within 3 seconds ---------------------------------------------------------


@contextmanager
def commands_on_threads(
    feishu: FeishuRig, *, answer_within: float = 0.2
) -> Iterator[FeishuAdapter]:
    """The adapter as in production: commands on a thread pool (the rig's executor runs
    them inline), with a short deadline and no grace before the late update."""
    adapter: FeishuAdapter = feishu.connection.adapter
    inline = adapter.services
    with ThreadPoolExecutor(2, thread_name_prefix="test-card") as pool:
        adapter.services = dataclasses.replace(inline, executor=pool)
        adapter.card_answer_within, adapter.card_update_grace = answer_within, 0.0
        try:
            yield adapter
        finally:
            adapter.services = inline
            del adapter.card_answer_within, adapter.card_update_grace


@pytest.fixture
def slow_vote(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """`/topic vote` made slow: it waits for the event the test sets."""
    release = threading.Event()
    index, vote = next((i, s) for i, s in enumerate(topics.family.subcommands) if s.name == "vote")

    def slow(ctx: Any, args: list[str]) -> Reply:
        assert release.wait(10), "the test never let the command finish"
        return vote.handler(ctx, args)

    subcommands = list(topics.family.subcommands)
    subcommands[index] = dataclasses.replace(vote, handler=slow)
    monkeypatch.setattr(topics.family, "subcommands", subcommands)
    return release


def test_a_quick_button_is_answered_with_the_updated_card(feishu: FeishuRig) -> None:
    feishu.say("/topic add 冬至节气海报")

    with commands_on_threads(feishu, answer_within=5.0):
        answer = feishu.click(card_action("/topic vote 1"))

    assert answer["toast"] == {
        "type": "success",
        "content": "已为 #1「冬至节气海报」投票 · 共 1 票",
    }
    assert answer["card"]["data"]["schema"] == "2.0"
    assert feishu.feishu.card_updates == [] and feishu.feishu.delivered() == []


def test_a_slow_button_is_answered_at_once_and_its_card_updated_later(
    feishu: FeishuRig, slow_vote: threading.Event
) -> None:
    feishu.say("/topic add 冬至节气海报")

    with commands_on_threads(feishu):
        answer = feishu.click(card_action("/topic vote 1", card_token="c-slow-vote"))

        assert answer == {"toast": {"type": "info", "content": "⏳ 处理中…"}}
        assert feishu.feishu.card_updates == []  # the command is still waiting
        slow_vote.set()
        assert feishu.feishu.wait_for(lambda: feishu.feishu.card_updates)

    (update,) = feishu.feishu.card_updates
    assert update["token"] == "c-slow-vote"
    assert update["card"]["header"]["title"]["content"] == "已为 #1「冬至节气海报」投票 · 共 1 票"
    assert feishu.feishu.refused == [] and feishu.feishu.delivered() == []
    (row,) = feishu.say("/topic list").sections[0].rows
    assert row[-1] == "👍1"  # the vote was stored once


def test_a_slow_button_that_fails_answers_in_the_chat(
    feishu: FeishuRig, slow_vote: threading.Event
) -> None:
    """A failure's toast is gone by then, and the card stays as it was: the reason is
    posted as an answer to the card's message."""
    with commands_on_threads(feishu):
        answer = feishu.click(card_action("/topic vote 9", message_id="om_card_9"))
        assert answer["toast"]["content"] == "⏳ 处理中…"
        slow_vote.set()
        assert feishu.feishu.wait_for(feishu.feishu.delivered)

    (posted,) = feishu.feishu.delivered()
    assert feishu.feishu.card_updates == []
    assert [path for path, _, _ in feishu.feishu.calls if "/reply" in path] == [
        "/open-apis/im/v1/messages/om_card_9/reply"
    ]
    assert json.loads(posted["content"])["header"]["template"] == "red"
