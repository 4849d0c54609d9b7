"""The team's calendar as iCalendar: planned posts at their time in the team's timezone,
with one UID each that a `/publish move` keeps (the event is updated, not duplicated),
marketing dates as all-day events, `GET /calendar/<team>.ics?token=…` over real HTTP
(a wrong token is refused as an unknown team is), and `opsbot calendar token|export`."""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from bot.runtime.calendar_feed import feed, team_token
from bot.runtime.server import BackgroundServer, build_http_app
from tests.conftest import BotFactory
from tests.e2e.test_cli import ROOT, opsbot

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=SHANGHAI)


def _events(body: bytes) -> dict[str, list]:  # type: ignore[type-arg]
    """UID → the events with it (a well-kept feed has one each)."""
    found: dict[str, list] = {}  # type: ignore[type-arg]
    for event in Calendar.from_ical(body).walk("VEVENT"):
        found.setdefault(str(event["UID"]), []).append(event)
    return found


def test_a_moved_post_keeps_its_uid_and_is_updated_not_duplicated(make_bot: BotFactory) -> None:
    bot = make_bot(now=NOW)
    bot.send("/发布 新增 冬至海报 p:公众号 12月20日 20:00")
    team = bot.bot.settings.team()

    before, posts, _ = feed(bot.bot, team)

    calendar = Calendar.from_ical(before)
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = _events(before)
    (post,) = events["post-1@content.opsbot"]
    start = post.decoded("DTSTART")
    assert start == datetime(2026, 12, 20, 20, 0, tzinfo=SHANGHAI)
    assert post["DTSTART"].params["TZID"] == "Asia/Shanghai"  # local time, not UTC
    assert post.decoded("DTEND") - start == (datetime(2026, 1, 1, 0, 30) - datetime(2026, 1, 1))
    assert str(post["SUMMARY"]) == "《冬至海报》 · 公众号" and posts == 1
    assert "Alice → 任一编辑" in str(post["DESCRIPTION"])
    (solstice,) = events["date-winter-solstice-2026@content.opsbot"]
    assert solstice.decoded("DTSTART") == date(2026, 12, 22)  # all day: a DATE, no time
    assert solstice.decoded("DTEND") == date(2026, 12, 23)
    assert str(solstice["SUMMARY"]) == "冬至" and str(solstice["TRANSP"]) == "TRANSPARENT"

    bot.clock.set(datetime(2026, 12, 16, 9, 0, tzinfo=SHANGHAI))
    assert "已改期" in bot.send("/发布 改期 1 12月21日 19:00")
    after, _, _ = feed(bot.bot, team)

    moved_events = _events(after)
    (moved,) = moved_events["post-1@content.opsbot"]  # the same event, once
    assert moved.decoded("DTSTART") == datetime(2026, 12, 21, 19, 0, tzinfo=SHANGHAI)
    assert moved.decoded("SEQUENCE") > post.decoded("SEQUENCE")
    assert moved.decoded("LAST-MODIFIED") > post.decoded("LAST-MODIFIED")
    assert set(moved_events) == set(events)  # every UID stable: no new, none lost
    assert all(len(found) == 1 for found in moved_events.values())


def test_times_are_the_teams_own_and_hidden_dates_are_left_out(make_bot: BotFactory) -> None:
    new_york = ZoneInfo("America/New_York")
    bot = make_bot(
        locale="en", now=datetime(2026, 11, 23, 10, 0, tzinfo=new_york),
        team={"timezone": "America/New_York"},
    )  # fmt: skip
    bot.send("/publish add Thanksgiving recipes p:wechat 2026-11-25 18:30")
    bot.send("/calendar hide Christmas")
    bot.send("/calendar add 2027-01-08 Product launch")

    body, _, _ = feed(bot.bot, bot.bot.settings.team())

    events = _events(body)
    (post,) = events["post-1@content.opsbot"]
    assert post.decoded("DTSTART") == datetime(2026, 11, 25, 18, 30, tzinfo=new_york)
    assert post["DTSTART"].params["TZID"] == "America/New_York"
    assert str(events["date-thanksgiving-2026@content.opsbot"][0]["SUMMARY"]) == "Thanksgiving"
    assert "date-christmas-2026@content.opsbot" not in events
    (launch,) = events["date-own-2@content.opsbot"]  # row 1 is the hidden Christmas
    assert launch.decoded("DTSTART") == date(2027, 1, 8)
    assert str(launch["SUMMARY"]) == "Product launch"


def test_the_feed_over_http_needs_the_teams_token(
    make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = make_bot(now=NOW)
    bot.send("/发布 新增 冬至海报 p:公众号 12月20日 20:00")
    token = team_token(bot.bot, bot.bot.settings.team())
    assert team_token(bot.bot, bot.bot.settings.team()) == token  # made once, then kept
    server = BackgroundServer(build_http_app(bot.bot))
    port = server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            served = http.get("/calendar/content.ics", params={"token": token})
            refused = [
                http.get(
                    "/calendar/content.ics",
                    params={"token": token[:-1] + ("y" if token.endswith("x") else "x")},
                ),
                http.get("/calendar/content.ics"),
                http.get("/calendar/content.ics", params={"token": ""}),
                http.get("/calendar/nobody.ics", params={"token": token}),
            ]
            head = http.post("/calendar/content.ics", params={"token": token})
    finally:
        server.stop()

    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/calendar")
    assert "post-1@content.opsbot" in _events(served.content)
    # A wrong token and an unknown team look the same: nothing says the team exists.
    assert [(r.status_code, r.content) for r in refused] == [(404, b"Not Found")] * 4
    assert head.status_code == 405
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not [r for r in server_side if token in r.getMessage()]  # only the test's client


def test_the_command_line_prints_the_token_and_writes_the_feed(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    env = {"OPSBOT_NOW": "2026-12-15T10:00:00+08:00"}
    planned = opsbot(
        "console", "--as", "alice", cwd=tmp_path, env=env,
        stdin="/发布 新增 冬至海报 p:公众号 12月20日 20:00\n",
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr

    first = opsbot("calendar", "token", cwd=tmp_path, env=env)
    again = opsbot("calendar", "token", cwd=tmp_path, env=env)
    rotated = opsbot("calendar", "token", "--rotate", cwd=tmp_path, env=env)
    assert first.returncode == again.returncode == rotated.returncode == 0, first.stderr
    token = first.stdout.strip()
    assert len(token) >= 32 and again.stdout.strip() == token
    assert rotated.stdout.strip() != token
    assert "/calendar/" in first.stderr and token not in first.stderr

    out = tmp_path / "team.ics"
    written = opsbot("calendar", "export", "--ics", "--out", str(out), cwd=tmp_path, env=env)
    assert written.returncode == 0, written.stderr
    assert "1 个发布" in written.stderr
    events = _events(out.read_bytes())
    assert any(uid.startswith("post-1@") for uid in events)
    printed = opsbot("calendar", "export", "--ics", cwd=tmp_path, env=env)
    assert printed.returncode == 0 and printed.stdout.startswith("BEGIN:VCALENDAR")
