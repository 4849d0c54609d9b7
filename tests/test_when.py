"""The one `<when>` / `<date>` parser: every accepted form, DST edges, and clear refusals."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.vocab.errors import InputError as CommandError
from bot.vocab.when import parse_date, parse_when, split_trailing_when, week_bounds

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 23 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def when(text: str, *, now: datetime = NOW, zone: ZoneInfo = SHANGHAI) -> str:
    return (
        parse_when(text.split(), now=now, zone=zone).astimezone(zone).strftime("%Y-%m-%d %H:%M %z")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24 20:00", "2026-11-24 20:00 +0800"),
        ("2026/11/24 8:05", "2026-11-24 08:05 +0800"),
        ("11-24 20:00", "2026-11-24 20:00 +0800"),
        ("11/24 20:00", "2026-11-24 20:00 +0800"),
        ("11月24日 20:00", "2026-11-24 20:00 +0800"),
        ("01-05 09:00", "2027-01-05 09:00 +0800"),  # the nearest 5 January is next year's
        ("today 20:00", "2026-11-23 20:00 +0800"),
        ("Tomorrow 20:00", "2026-11-24 20:00 +0800"),
        ("今天 20:00", "2026-11-23 20:00 +0800"),
        ("明天 20:00", "2026-11-24 20:00 +0800"),
        ("后天 20:00", "2026-11-25 20:00 +0800"),
        ("明天 20：00", "2026-11-24 20:00 +0800"),
        ("明天 20点", "2026-11-24 20:00 +0800"),
        ("明天 8点半", "2026-11-24 08:30 +0800"),
        ("明天 20点15分", "2026-11-24 20:15 +0800"),
        ("明天20:00", "2026-11-24 20:00 +0800"),
        ("20:00", "2026-11-23 20:00 +0800"),
        ("wed 20:00", "2026-11-25 20:00 +0800"),
        ("Wednesday 20:00", "2026-11-25 20:00 +0800"),
        ("周三 20:00", "2026-11-25 20:00 +0800"),
        ("星期三 20:00", "2026-11-25 20:00 +0800"),
        ("礼拜天 20:00", "2026-11-29 20:00 +0800"),
        ("周日 20:00", "2026-11-29 20:00 +0800"),
        ("下周三 20:00", "2026-12-02 20:00 +0800"),
        ("mon 20:00", "2026-11-23 20:00 +0800"),  # today, still ahead
        ("mon 09:00", "2026-11-30 09:00 +0800"),  # today's 09:00 has passed: next Monday
    ],
)
def test_accepted_forms(text: str, expected: str) -> None:
    assert when(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "when.error.missing_when"),
        ("明天", "when.error.missing_time"),
        ("someday 20:00", "when.error.bad_when"),
        ("明天 25:00", "when.error.bad_time"),
        ("明天 20:61", "when.error.bad_time"),
        ("2026-02-30 10:00", "when.error.bad_date"),
        ("13-01 10:00", "when.error.bad_date"),
        ("明天 20:00 extra", "when.error.bad_when"),
    ],
)
def test_invalid_input_is_refused_with_a_reason(text: str, key: str) -> None:
    with pytest.raises(CommandError) as error:
        when(text)
    assert error.value.message_key == key


def test_a_time_skipped_by_dst_is_refused() -> None:
    # New York, Sunday 8 March 2026: 02:00 jumps to 03:00.
    before = datetime(2026, 3, 6, 12, 0, tzinfo=NEW_YORK)
    with pytest.raises(CommandError) as error:
        when("2026-03-08 02:30", now=before, zone=NEW_YORK)
    assert error.value.message_key == "when.error.skipped_by_dst"
    assert error.value.params == {"value": "03-08 02:30", "zone": "America/New_York"}
    assert when("2026-03-08 01:59", now=before, zone=NEW_YORK) == "2026-03-08 01:59 -0500"
    assert when("2026-03-08 03:00", now=before, zone=NEW_YORK) == "2026-03-08 03:00 -0400"


def test_a_time_repeated_by_dst_is_refused() -> None:
    # New York, Sunday 1 November 2026: 02:00 goes back to 01:00, so 01:30 happens twice.
    before = datetime(2026, 10, 30, 12, 0, tzinfo=NEW_YORK)
    with pytest.raises(CommandError) as error:
        when("11-01 01:30", now=before, zone=NEW_YORK)
    assert error.value.message_key == "when.error.repeated_by_dst"
    assert when("11-01 00:30", now=before, zone=NEW_YORK) == "2026-11-01 00:30 -0400"
    assert when("11-01 02:30", now=before, zone=NEW_YORK) == "2026-11-01 02:30 -0500"


def test_weekday_names_across_a_dst_change_keep_the_wall_clock_time() -> None:
    friday = datetime(2026, 3, 6, 12, 0, tzinfo=NEW_YORK)
    assert when("mon 09:00", now=friday, zone=NEW_YORK) == "2026-03-09 09:00 -0400"
    assert when("sun 09:00", now=friday, zone=NEW_YORK) == "2026-03-08 09:00 -0400"
    assert when("sat 09:00", now=friday, zone=NEW_YORK) == "2026-03-07 09:00 -0500"


def test_days_are_the_teams_days_not_utc_days() -> None:
    # 07:00 on Tuesday in Shanghai is still Monday in UTC; "today" is Tuesday.
    early = datetime(2026, 11, 23, 23, 0, tzinfo=ZoneInfo("UTC"))
    assert when("today 20:00", now=early) == "2026-11-24 20:00 +0800"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 11, 23)),
        ("明天", date(2026, 11, 24)),
        ("周一", date(2026, 11, 23)),
        ("fri", date(2026, 11, 27)),
        ("11-20", date(2026, 11, 20)),
        ("2026-12-31", date(2026, 12, 31)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert parse_date([text], today=NOW.date()) == expected


def test_a_date_must_be_one_known_word() -> None:
    for words in ([], ["soon"], ["明天", "20:00"]):
        with pytest.raises(CommandError) as error:
            parse_date(words, today=NOW.date())
        assert error.value.message_key == "when.error.bad_date"


def test_split_trailing_when_leaves_the_title() -> None:
    for text, title in [
        ("冬季护肤指南 明天 20:00", ["冬季护肤指南"]),
        ("Winter guide 11-24 20:00", ["Winter", "guide"]),
        ("冬季护肤指南 明天20:00", ["冬季护肤指南"]),
        ("一周 热点 20:00", ["一周", "热点"]),
    ]:
        rest, instant = split_trailing_when(text.split(), now=NOW, zone=SHANGHAI)
        assert rest == title
        assert instant.astimezone(SHANGHAI).hour == 20
    with pytest.raises(CommandError) as error:
        split_trailing_when(["只有标题"], now=NOW, zone=SHANGHAI)
    assert error.value.message_key == "when.error.missing_when"


def test_week_bounds_are_monday_to_sunday() -> None:
    assert week_bounds(date(2026, 11, 25)) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week_bounds(date(2026, 11, 29)) == (date(2026, 11, 23), date(2026, 11, 29))
