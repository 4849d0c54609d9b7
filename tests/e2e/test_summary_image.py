"""The weekly summary's chart in the channel: on Monday at 09:30 the summary is posted,
then its chart — on Slack through the external-upload flow, on WeCom as a robot `image`
post — as one more part of the same outbox item, so that a retry never posts the text
twice and a picture refused for good never holds the text back. Against the fake Slack
and the fake WeCom on 127.0.0.1, which check every step of what they are sent."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image as PILImage
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.chat.slack.sender import SlackSender
from bot.core.render import chart
from bot.runtime.scheduler import Scheduler
from storage.db import transaction
from storage.models import OutboxItem
from tests.chat_rig import ChatRig, chat_rig
from tests.fake_slack import SIGNING_SECRET, FakeSlack, fake_slack
from tests.fake_wecom import FakeWecom, fake_wecom

MONDAY_9 = datetime.fromisoformat("2026-11-23T09:00:00+08:00")
SUMMARY_TIME = datetime.fromisoformat("2026-11-23T09:30:00+08:00")
WEEK_47 = date(2026, 11, 16)
FILENAME = "weekly-summary-2026-W47.png"
SUMMARY_TITLE = "第 47 周数据周报"
KPI_LINES = (
    "/kpi log wechat 11-09 reads=30000 shares=1000 conversions=100 new_followers=1000",
    "/kpi log wechat 11-09 unfollows=200",
    "/kpi log wechat 11-16 reads=20000 shares=600 conversions=50 new_followers=700 unfollows=100",
    "/kpi log wechat 11-20 reads=16000 shares=500 conversions=40 new_followers=600 unfollows=150",
    "/kpi log xhs 11-17 reads=800 shares=5 favorites=40",
)
SLACK_MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "slack": "U01"},
    {"id": "bob", "name": "Bob", "role": "editor", "slack": "U02"},
]
WECOM_MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "wecom": "alice"},
    {"id": "bob", "name": "Bob", "role": "editor", "wecom": "bob"},
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def log_kpis(rig: ChatRig) -> None:
    """Two weeks of KPIs, so that the chart has lines to draw."""
    for line in KPI_LINES:
        reply = rig.say(line)
        assert not reply.is_error, (line, reply.title)


def monday_summary(rig: ChatRig) -> None:
    """The Monday 09:30 tick, then one delivery round (as `opsbot tick` does)."""
    rig.clock.set(SUMMARY_TIME)
    Scheduler(rig.bot).tick()
    rig.deliver()


def summary_item(rig: ChatRig) -> OutboxItem:
    with transaction(rig.bot.engine) as session:
        (item,) = session.exec(  # the team's post (each member's own lines go by DM)
            select(OutboxItem).where(
                OutboxItem.kind == "weekly_summary", OutboxItem.target == "team"
            )
        )
        session.expunge(item)
    return item


def png_title(png: bytes) -> str:
    """The title the chart shows (the renderer stores it as the PNG's `Title`)."""
    with PILImage.open(io.BytesIO(png)) as picture:
        return str(picture.info.get("Title", ""))


# -- Slack --------------------------------------------------------------------------------


def slack_settings(fake: FakeSlack) -> dict[str, Any]:
    return {"bot_token": "xoxb-test", "signing_secret": SIGNING_SECRET, "mode": "http",
            "api_url": fake.api_url}  # fmt: skip


@pytest.fixture
def slack(sqlite_url: str) -> Iterator[tuple[ChatRig, FakeSlack]]:
    with fake_slack() as fake, chat_rig(
        sqlite_url, "slack", slack_settings(fake), members=SLACK_MEMBERS,
        channels={"slack": "C0123"}, now=MONDAY_9, serve=False,
    ) as rig:  # fmt: skip
        sender = rig.connection.sender()
        assert isinstance(sender, SlackSender)
        sender.interval = 0  # pacing is not what these tests are about
        yield rig, fake


def summary_posts(fake: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in fake.posted() if SUMMARY_TITLE in p["text"] and p["channel"] == "C0123"]


def upload_steps(fake: FakeSlack) -> list[str]:
    """The files.* calls and uploads, in order, as `method` or `/upload/<id>`."""
    return [name for name, _ in fake.calls if name.startswith(("files.", "/upload/"))]


def ticket_id(fake: FakeSlack) -> str:
    """The file id the one files.getUploadURLExternal handed out."""
    (file_id,) = fake.issued
    return file_id


def test_the_fake_slack_refuses_an_upload_out_of_order() -> None:
    """The checks the tests below rely on: each wrong step is refused and recorded."""
    with fake_slack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        with pytest.raises(SlackApiError, match="method_deprecated"):
            client.api_call("files.upload", params={"channels": "C0123", "content": "x"})
        ticket = client.files_getUploadURLExternal(filename="a.png", length=3)
        with pytest.raises(SlackApiError, match="invalid_arguments"):  # not uploaded yet
            client.files_completeUploadExternal(
                files=[{"id": ticket["file_id"]}], channel_id="C0123"
            )
        assert httpx.post(ticket["upload_url"], content=b"four").status_code == 400
        with pytest.raises(SlackApiError, match="invalid_arguments"):
            client.files_getUploadURLExternal(filename="b.png", length=0)
        assert len(fake.violations) == 4
        fake.violations.clear()  # seen: the fake would fail this test on closing otherwise


def test_the_monday_summary_uploads_exactly_one_chart_that_the_completion_names(
    slack: tuple[ChatRig, FakeSlack],
) -> None:
    rig, fake = slack
    log_kpis(rig)

    monday_summary(rig)

    assert len(summary_posts(fake)) == 1
    assert upload_steps(fake) == [
        "files.getUploadURLExternal",
        "/upload/F0001",
        "files.completeUploadExternal",
    ]
    last_text = fake.calls.index(("chat.postMessage", summary_posts(fake)[-1]))
    first_file = next(n for n, (name, _) in enumerate(fake.calls) if name.startswith("files."))
    assert last_text < first_file  # the text first, then its picture
    (ticket,) = fake.posted("files.getUploadURLExternal")
    ((channel, title, png),) = fake.files()
    assert ticket["filename"] == FILENAME
    assert int(ticket["length"]) == len(png) and png.startswith(PNG_MAGIC)
    assert channel == "C0123"
    assert "\n" not in ticket["alt_txt"] and "近 8 周主要数据" in ticket["alt_txt"]
    assert "公众号" in ticket["alt_txt"] and "阅读" in ticket["alt_txt"]
    assert title == ticket["alt_txt"]
    (completion,) = fake.posted("files.completeUploadExternal")
    assert [f["id"] for f in json.loads(completion["files"])] == [ticket_id(fake)]
    assert completion["channel_id"] == "C0123"
    item = summary_item(rig)
    assert (item.status, item.parts_sent) == ("sent", len(summary_posts(fake)) + 1)
    assert item.payload["image"]["filename"] == FILENAME

    rig.clock.advance(timedelta(minutes=5))
    Scheduler(rig.bot).tick()
    rig.deliver()
    assert len(summary_posts(fake)) == 1 and len(fake.files()) == 1  # once a week, once


def test_an_image_refused_for_good_leaves_the_text_posted_once_and_the_item_sent(
    slack: tuple[ChatRig, FakeSlack], caplog: pytest.LogCaptureFixture
) -> None:
    rig, fake = slack
    log_kpis(rig)
    fake.complete_errors = ["not_in_channel"]  # Slack will not change its mind on this

    with caplog.at_level(logging.WARNING, logger="bot.chat.slack.sender"):
        monday_summary(rig)

    assert len(summary_posts(fake)) == 1
    assert fake.files() == []
    assert summary_item(rig).status == "sent"
    assert any(
        "without its picture" in r.message and "not_in_channel" in r.message for r in caplog.records
    )
    rig.clock.advance(timedelta(hours=1))
    rig.deliver()
    assert len(summary_posts(fake)) == 1  # the text, once
    assert upload_steps(fake).count("files.completeUploadExternal") == 1  # not tried again


@pytest.mark.parametrize("failure", ["upload 503", "completion internal_error"])
def test_a_retry_after_a_transient_image_failure_posts_only_the_image(
    slack: tuple[ChatRig, FakeSlack], failure: str
) -> None:
    rig, fake = slack
    log_kpis(rig)
    if failure == "upload 503":
        fake.upload_statuses = [503]
    else:
        fake.complete_errors = ["internal_error"]

    monday_summary(rig)

    first = summary_item(rig)
    assert (first.status, first.parts_sent) == ("pending", len(summary_posts(fake)))
    assert len(summary_posts(fake)) == 1 and fake.files() == []

    rig.clock.advance(timedelta(minutes=1))  # past the first backoff (30 s)
    report = rig.deliver()

    assert report.sent == 1
    assert len(summary_posts(fake)) == 1  # the text is not posted again
    ((channel, _, png),) = fake.files()
    assert channel == "C0123" and png.startswith(PNG_MAGIC)
    assert upload_steps(fake)[-3:] == [
        "files.getUploadURLExternal", "/upload/F0002", "files.completeUploadExternal",
    ]  # fmt: skip
    assert summary_item(rig).status == "sent"


def test_a_week_without_kpis_posts_the_text_alone(slack: tuple[ChatRig, FakeSlack]) -> None:
    rig, fake = slack

    monday_summary(rig)

    assert len(summary_posts(fake)) == 1
    assert upload_steps(fake) == []
    assert summary_item(rig).payload["image"] is None


def test_a_chart_that_cannot_be_drawn_never_stops_the_text(
    slack: tuple[ChatRig, FakeSlack], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig, fake = slack
    log_kpis(rig)

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("matplotlib fell over")

    monkeypatch.setattr("handlers.summary.render_summary_chart", broken)
    monday_summary(rig)

    assert len(summary_posts(fake)) == 1
    assert upload_steps(fake) == []
    assert summary_item(rig).status == "sent"


# -- the chart's words without a CJK font ------------------------------------------------


def test_the_chart_falls_back_to_english_labels_without_a_cjk_font(
    slack: tuple[ChatRig, FakeSlack], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig, fake = slack
    log_kpis(rig)
    monkeypatch.setattr(chart, "_cjk_font", lambda: None)

    monday_summary(rig)

    ((_, alt, png),) = fake.files()
    assert png_title(png) == "content · main metrics, last 8 weeks"  # the team by its id
    assert "近 8 周主要数据" in alt  # what people read stays in the team's language


def test_every_word_on_the_chart_is_english_without_a_cjk_font(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    labels = {"wechat": "公众号", "reads": "阅读", "shares": "分享", "conversions": "转化",
              "net_followers": "净增粉丝"}  # fmt: skip
    fallback = {"wechat": "WeChat", "reads": "Reads", "shares": "Shares",
                "conversions": "Conversions", "net_followers": "Net followers",
                chart.TITLE_KEY: "content · main metrics, last 8 weeks"}  # fmt: skip
    series: dict[str, dict[str, list[float | None]]] = {
        "wechat": {m: [None] * 6 + [1.0, 2.0] for m in chart.METRICS_SHOWN}
    }
    monkeypatch.setattr(chart, "_cjk_font", lambda: None)

    texts = chart.chart_texts("内容组 · 近 8 周主要数据", labels, fallback)
    figure = chart.summary_figure(series, last_week_start=WEEK_47, texts=texts)

    shown = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    shown = [text for text in shown if text]
    assert not [text for text in shown if any(ord(c) > 0x2E80 for c in text)]
    assert {"content · main metrics, last 8 weeks", "Reads", "Net followers", "WeChat"} <= set(
        shown
    )
    assert texts.font == chart.LATIN_FONT

    monkeypatch.setattr(chart, "_cjk_font", lambda: "Noto Sans CJK SC")
    with_font = chart.chart_texts("内容组 · 近 8 周主要数据", labels, fallback)
    assert (with_font.title, with_font.labels["reads"], with_font.font) == (
        "内容组 · 近 8 周主要数据", "阅读", "Noto Sans CJK SC",
    )  # fmt: skip


# -- WeCom --------------------------------------------------------------------------------


def wecom_settings(fake: FakeWecom) -> dict[str, Any]:
    return {"corp_id": "wx5823bf96d3bd56c7", "agent_id": 1, "secret": "s", "token": "QDG6eK",
            "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            "robot_webhook_key": "robot-key", "base_url": fake.base}  # fmt: skip


@pytest.fixture
def wecom_fake() -> Iterator[FakeWecom]:
    with fake_wecom() as fake:
        yield fake


@pytest.fixture
def wecom(sqlite_url: str, wecom_fake: FakeWecom) -> Iterator[tuple[ChatRig, FakeWecom]]:
    with chat_rig(
        sqlite_url, "wecom", wecom_settings(wecom_fake), members=WECOM_MEMBERS,
        channels={"wecom": "robot"}, now=MONDAY_9, serve=False,
    ) as rig:  # fmt: skip
        yield rig, wecom_fake


def robot_summary(fake: FakeWecom) -> list[dict[str, Any]]:
    """The robot posts from the summary's first markdown part on (the image included)."""
    posts = fake.robot()
    first = next(
        n for n, p in enumerate(posts) if SUMMARY_TITLE in p.get("markdown", {}).get("content", "")
    )
    return posts[first:]


def test_the_robot_gets_the_summary_then_one_image(wecom: tuple[ChatRig, FakeWecom]) -> None:
    rig, fake = wecom
    log_kpis(rig)

    monday_summary(rig)

    posts = robot_summary(fake)
    assert [p["msgtype"] for p in posts] == ["markdown"] * (len(posts) - 1) + ["image"]
    (png,) = fake.robot_images()
    assert png.startswith(PNG_MAGIC)
    assert posts[-1]["image"]["md5"] == hashlib.md5(png).hexdigest()
    item = summary_item(rig)
    assert (item.status, item.parts_sent) == ("sent", len(posts))


def test_a_rate_limited_image_is_retried_without_the_markdown(
    wecom: tuple[ChatRig, FakeWecom],
) -> None:
    rig, fake = wecom
    log_kpis(rig)
    fake.image_errors = [45009]  # the robot's 20 a minute

    monday_summary(rig)
    markdown = [p for p in robot_summary(fake) if p["msgtype"] == "markdown"]
    assert summary_item(rig).status == "pending"

    rig.clock.advance(timedelta(seconds=61))
    rig.deliver()

    posts = robot_summary(fake)
    assert [p for p in posts if p["msgtype"] == "markdown"] == markdown  # not again
    assert [p["msgtype"] for p in posts[len(markdown) :]] == ["image", "image"]  # 45009, then ok
    assert summary_item(rig).status == "sent"


def test_an_image_the_robot_refuses_for_good_leaves_the_item_sent(
    wecom: tuple[ChatRig, FakeWecom], caplog: pytest.LogCaptureFixture
) -> None:
    rig, fake = wecom
    log_kpis(rig)
    fake.image_errors = [40058]

    with caplog.at_level(logging.WARNING, logger="bot.chat.wecom.sender"):
        monday_summary(rig)

    assert summary_item(rig).status == "sent"
    assert any("without its picture" in r.message for r in caplog.records)
    assert len(fake.robot_images()) == 1  # tried once, not again


def test_an_image_over_2_mb_is_skipped_and_logged(
    wecom: tuple[ChatRig, FakeWecom], caplog: pytest.LogCaptureFixture
) -> None:
    rig, fake = wecom
    log_kpis(rig)
    rig.connection.sender().robot_image_bytes = 1000  # the chart is bigger than that

    with caplog.at_level(logging.WARNING, logger="bot.chat.wecom.sender"):
        monday_summary(rig)

    assert fake.robot_images() == []
    assert robot_summary(fake) and summary_item(rig).status == "sent"
    assert any("over the robot's 1000 bytes" in r.message for r in caplog.records)


def test_app_messages_go_without_the_image(
    sqlite_url: str, wecom_fake: FakeWecom, caplog: pytest.LogCaptureFixture
) -> None:
    with chat_rig(
        sqlite_url, "wecom", wecom_settings(wecom_fake), members=WECOM_MEMBERS,
        channels={"wecom": "alice|bob"}, now=MONDAY_9, serve=False,
    ) as rig, caplog.at_level(logging.INFO, logger="bot.chat.wecom.sender"):  # fmt: skip
        log_kpis(rig)
        monday_summary(rig)
        item = summary_item(rig)

    to_team = [m for m in wecom_fake.sent() if m["touser"] == "alice|bob"]
    assert {m["msgtype"] for m in to_team} == {"markdown"}  # the digest and the summary
    assert any(SUMMARY_TITLE in m["markdown"]["content"] for m in to_team)
    assert wecom_fake.robot() == []
    assert item.status == "sent"
    assert any("app messages carry no picture" in r.message for r in caplog.records)
