"""The one `<when>` / `<date>` parser: every accepted form, DST edges, and clear refusals."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.vocab.errors import InputError
from bot.vocab.when import (
    _word_tokens,
    looks_like_date,
    parse_date,
    parse_when,
    split_trailing_date,
    split_trailing_when,
    week_bounds,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 23 November 2026, 10:00 in Shanghai (the old tests' now).
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
# The grammar table's nows: Monday 07:30, Sunday 23:59, Monday after 20:00.
MONDAY_MORNING = datetime(2026, 11, 23, 7, 30, tzinfo=SHANGHAI)
SUNDAY_NIGHT = datetime(2026, 11, 29, 23, 59, tzinfo=SHANGHAI)
MONDAY_EVENING = datetime(2026, 11, 23, 20, 30, tzinfo=SHANGHAI)
NEW_YEARS_EVE_EVE = datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI)


def when(text: str, *, now: datetime = NOW, zone: ZoneInfo = SHANGHAI) -> str:
    return (
        parse_when(text.split(), now=now, zone=zone).astimezone(zone).strftime("%Y-%m-%d %H:%M %z")
    )


def local(instant: datetime, zone: ZoneInfo = SHANGHAI) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def outcome(text: str, now: datetime) -> str:
    """The local instant a phrase means, or the key of its refusal."""
    try:
        return local(parse_when(text.split(), now=now, zone=SHANGHAI))
    except InputError as error:
        assert 0 < len(str(error.params["value"])) <= 30
        return error.message_key


# --- The old module's tests, assertions unchanged ---------------------------------------


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
    with pytest.raises(InputError) as error:
        when(text)
    assert error.value.message_key == key


def test_a_time_skipped_by_dst_is_refused() -> None:
    # New York, Sunday 8 March 2026: 02:00 jumps to 03:00.
    before = datetime(2026, 3, 6, 12, 0, tzinfo=NEW_YORK)
    with pytest.raises(InputError) as error:
        when("2026-03-08 02:30", now=before, zone=NEW_YORK)
    assert error.value.message_key == "when.error.skipped_by_dst"
    assert error.value.params == {"value": "03-08 02:30", "zone": "America/New_York"}
    assert when("2026-03-08 01:59", now=before, zone=NEW_YORK) == "2026-03-08 01:59 -0500"
    assert when("2026-03-08 03:00", now=before, zone=NEW_YORK) == "2026-03-08 03:00 -0400"


def test_a_time_repeated_by_dst_is_refused() -> None:
    # New York, Sunday 1 November 2026: 02:00 goes back to 01:00, so 01:30 happens twice.
    before = datetime(2026, 10, 30, 12, 0, tzinfo=NEW_YORK)
    with pytest.raises(InputError) as error:
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
        with pytest.raises(InputError) as error:
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
    with pytest.raises(InputError) as error:
        split_trailing_when(["只有标题"], now=NOW, zone=SHANGHAI)
    assert error.value.message_key == "when.error.missing_when"


def test_week_bounds_are_monday_to_sunday() -> None:
    assert week_bounds(date(2026, 11, 25)) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week_bounds(date(2026, 11, 29)) == (date(2026, 11, 23), date(2026, 11, 29))


# --- The grammar, phrase by phrase ------------------------------------------------------

# Said on Monday 2026-11-23 at 07:30 in Shanghai. Tue 24, Wed 25 … Sun 29; next Mon 30.
MONDAY_MORNING_PHRASES = [
    # Chinese: day, part of the day and time, glued or spaced.
    ("明天 晚上 8点", "2026-11-24 20:00"),
    ("明天晚上8点", "2026-11-24 20:00"),
    ("明天 晚上8点", "2026-11-24 20:00"),
    ("明晚8点", "2026-11-24 20:00"),
    ("明晚 8点", "2026-11-24 20:00"),
    ("明日 20:00", "2026-11-24 20:00"),
    ("明天 8点", "2026-11-24 08:00"),
    ("明天 8点半", "2026-11-24 08:30"),
    ("明天 8点30", "2026-11-24 08:30"),
    ("明天 8点30分", "2026-11-24 08:30"),
    ("明天 八点半", "2026-11-24 08:30"),
    ("明天 晚上 八点半", "2026-11-24 20:30"),
    ("明天 八点钟", "2026-11-24 08:00"),
    ("明天 8点整", "2026-11-24 08:00"),
    ("明早 9点", "2026-11-24 09:00"),
    ("明早9点", "2026-11-24 09:00"),
    ("今早 9点", "2026-11-23 09:00"),
    ("今晚 9点", "2026-11-23 21:00"),
    ("今晚9点半", "2026-11-23 21:30"),
    ("今晚 21:00", "2026-11-23 21:00"),
    ("今天 下午 3点", "2026-11-23 15:00"),
    ("今日 下午3点", "2026-11-23 15:00"),
    ("下午3点", "2026-11-23 15:00"),
    ("下午 3点", "2026-11-23 15:00"),
    ("下午 两点", "2026-11-23 14:00"),
    ("下午 12点", "2026-11-23 12:00"),
    ("下午 15:30", "2026-11-23 15:30"),
    ("中午 12点", "2026-11-23 12:00"),
    ("中午 1点", "2026-11-23 13:00"),
    ("中午12点半", "2026-11-23 12:30"),
    ("凌晨 12点", "2026-11-23 00:00"),
    ("明天 凌晨 2点", "2026-11-24 02:00"),
    ("明天 凌晨 12点半", "2026-11-24 00:30"),
    ("早上 8点", "2026-11-23 08:00"),
    ("早晨 7:45", "2026-11-23 07:45"),
    ("上午 10点", "2026-11-23 10:00"),
    ("上午 10:30", "2026-11-23 10:30"),
    ("傍晚 6点", "2026-11-23 18:00"),
    ("晚上 21:00", "2026-11-23 21:00"),
    ("晚上 9:00", "2026-11-23 21:00"),
    ("晚上 8", "2026-11-23 20:00"),
    ("后天 晚上 7点", "2026-11-25 19:00"),
    ("大后天 10:00", "2026-11-26 10:00"),
    ("昨天 10:00", "2026-11-22 10:00"),
    ("前天 10:00", "2026-11-21 10:00"),
    # Weekdays: the next occurrence, this week's, next week's, last week's.
    ("周三 晚上 8点", "2026-11-25 20:00"),
    ("周三晚上8点", "2026-11-25 20:00"),
    ("星期五 15:00", "2026-11-27 15:00"),
    ("礼拜天 10点", "2026-11-29 10:00"),
    ("周天 10点", "2026-11-29 10:00"),
    ("周一 9点", "2026-11-23 09:00"),
    ("周一 7点", "2026-11-30 07:00"),
    ("周一 7:30", "2026-11-23 07:30"),
    ("下周三 20:00", "2026-12-02 20:00"),
    ("下星期三 20:00", "2026-12-02 20:00"),
    ("下礼拜一 9:00", "2026-11-30 09:00"),
    ("下周日 20:00", "2026-12-06 20:00"),
    ("下周 周三 20:00", "2026-12-02 20:00"),
    ("这周五 18:00", "2026-11-27 18:00"),
    ("本周五 18:00", "2026-11-27 18:00"),
    ("这周一 7点", "2026-11-23 07:00"),
    ("上周五 18:00", "2026-11-20 18:00"),
    # Dates.
    ("11月24日 20:00", "2026-11-24 20:00"),
    ("11月24号 20:00", "2026-11-24 20:00"),
    ("11月24日晚上8点", "2026-11-24 20:00"),
    ("十二月二十五日 10点", "2026-12-25 10:00"),
    ("十二月二十五号 晚上 八点", "2026-12-25 20:00"),
    ("2026年11月24日 20:00", "2026-11-24 20:00"),
    ("2026年 11月 24日 20:00", "2026-11-24 20:00"),
    ("二〇二六年十一月二十四日 八点", "2026-11-24 08:00"),
    ("2026-11-24 20:00", "2026-11-24 20:00"),
    ("2026/11/24 20:00", "2026-11-24 20:00"),
    ("2026.11.24 20:00", "2026-11-24 20:00"),
    ("11-24 20:00", "2026-11-24 20:00"),
    ("11/24 8:05", "2026-11-24 08:05"),
    ("01-05 09:00", "2027-01-05 09:00"),
    ("2100-12-31 23:59", "2100-12-31 23:59"),
    ("1970-01-01 08:00", "1970-01-01 08:00"),
    # Times alone: today.
    ("12点", "2026-11-23 12:00"),
    ("20点", "2026-11-23 20:00"),
    ("20时30分", "2026-11-23 20:30"),
    ("8点一刻", "2026-11-23 08:15"),
    ("晚上8点三刻", "2026-11-23 20:45"),
    ("8点05", "2026-11-23 08:05"),
    ("八点零五分", "2026-11-23 08:05"),
    ("八点十", "2026-11-23 08:10"),
    ("两点", "2026-11-23 02:00"),
    ("２０：００", "2026-11-23 20:00"),
    ("0:00", "2026-11-23 00:00"),
    # English.
    ("tomorrow 8pm", "2026-11-24 20:00"),
    ("tomorrow 8:30pm", "2026-11-24 20:30"),
    ("tomorrow 8:30 pm", "2026-11-24 20:30"),
    ("tomorrow 8 pm", "2026-11-24 20:00"),
    ("Tomorrow 8PM", "2026-11-24 20:00"),
    ("tomorrow 8 p.m.", "2026-11-24 20:00"),
    ("tomorrow at 8pm", "2026-11-24 20:00"),
    ("tomorrow at 20:00", "2026-11-24 20:00"),
    ("8pm tomorrow", "2026-11-24 20:00"),
    ("at 8pm tomorrow", "2026-11-24 20:00"),
    ("tomorrow20:00", "2026-11-24 20:00"),
    ("tonight 9", "2026-11-23 21:00"),
    ("tonight 9pm", "2026-11-23 21:00"),
    ("tonight 21:00", "2026-11-23 21:00"),
    ("9pm tonight", "2026-11-23 21:00"),
    ("fri 3pm", "2026-11-27 15:00"),
    ("Friday 3pm", "2026-11-27 15:00"),
    ("fri. 3pm", "2026-11-27 15:00"),
    ("thurs 10am", "2026-11-26 10:00"),
    ("next mon 9am", "2026-11-30 09:00"),
    ("next-mon 9am", "2026-11-30 09:00"),
    ("Next Monday 9am", "2026-11-30 09:00"),
    ("this fri 5pm", "2026-11-27 17:00"),
    ("next wed 20:00", "2026-12-02 20:00"),
    ("last fri 20:00", "2026-11-20 20:00"),
    ("tomorrow morning 9", "2026-11-24 09:00"),
    ("tomorrow afternoon 3", "2026-11-24 15:00"),
    ("tomorrow evening 8", "2026-11-24 20:00"),
    ("12am", "2026-11-23 00:00"),
    ("tomorrow 12am", "2026-11-24 00:00"),
    ("12pm", "2026-11-23 12:00"),
    ("12:30pm", "2026-11-23 12:30"),
    ("8 a.m.", "2026-11-23 08:00"),
    ("today 8:30am", "2026-11-23 08:30"),
    ("mon 20:00", "2026-11-23 20:00"),
    ("mon 7:00", "2026-11-30 07:00"),
    ("sun 10am", "2026-11-29 10:00"),
    ("yesterday 9am", "2026-11-22 09:00"),
    ("2026-11-24 8pm", "2026-11-24 20:00"),
    ("11/24 8:30pm", "2026-11-24 20:30"),
    # Refused: only part of a time.
    ("明天", "when.error.missing_time"),
    ("明天 晚上", "when.error.missing_time"),
    ("明天晚上", "when.error.missing_time"),
    ("明晚", "when.error.missing_time"),
    ("晚上", "when.error.missing_time"),
    ("明天 中午", "when.error.missing_time"),
    ("tonight", "when.error.missing_time"),
    ("next fri", "when.error.missing_time"),
    ("11月24日", "when.error.missing_time"),
    # Refused: the part of the day and the hour disagree.
    ("上午 15:00", "when.error.period_mismatch"),
    ("上午 20点", "when.error.period_mismatch"),
    ("早上 0点", "when.error.period_mismatch"),
    ("中午 5点", "when.error.period_mismatch"),
    ("凌晨 8点", "when.error.period_mismatch"),
    ("下午 0点", "when.error.period_mismatch"),
    ("晚上 15:00", "when.error.period_mismatch"),
    ("13pm", "when.error.period_mismatch"),
    ("0am", "when.error.period_mismatch"),
    ("tomorrow 20:00pm", "when.error.period_mismatch"),
    ("明早 9pm", "when.error.period_mismatch"),
    ("今晚 8am", "when.error.period_mismatch"),
    # Refused: two readings, no guess.
    ("晚上 12点", "when.error.ambiguous_time"),
    ("明天 晚上 12点", "when.error.ambiguous_time"),
    ("晚上 1点", "when.error.ambiguous_time"),
    ("今晚 3点", "when.error.ambiguous_time"),
    ("tonight 12", "when.error.ambiguous_time"),
    ("上午 12点", "when.error.ambiguous_time"),
    ("8点5", "when.error.ambiguous_time"),
    ("8点6", "2026-11-23 08:06"),
    ("明天 八点五", "when.error.ambiguous_time"),
    # Refused: a bare hour, or words that do not make one time.
    ("明天 8", "when.error.bad_when"),
    ("tomorrow 8", "when.error.bad_when"),
    ("8", "when.error.bad_when"),
    ("9 tonight", "when.error.bad_when"),
    ("明天 后天 20:00", "when.error.bad_when"),
    ("20:00 21:00", "when.error.bad_when"),
    ("明天 20:00 晚上", "when.error.bad_when"),
    ("someday 20:00", "when.error.bad_when"),
    ("明天的 20:00", "when.error.bad_when"),
    # Refused: not a real day or time.
    ("明天 25:00", "when.error.bad_time"),
    ("24:00", "when.error.bad_time"),
    ("明天 8点61", "when.error.bad_time"),
    ("tonight 25", "when.error.bad_time"),
    ("2026-02-30 10:00", "when.error.bad_date"),
    ("02-29 10:00", "when.error.bad_date"),
    ("十三月一日 10点", "when.error.bad_date"),
    ("下周 20:00", "when.error.bad_date"),
    ("1969-12-31 10:00", "when.error.out_of_range"),
    ("2101-01-01 10:00", "when.error.out_of_range"),
    ("9999年1月1日 10点", "when.error.out_of_range"),
    ("", "when.error.missing_when"),
]

SUNDAY_NIGHT_PHRASES = [  # Sunday 2026-11-29 23:59
    ("明天 8点", "2026-11-30 08:00"),
    ("周一 9点", "2026-11-30 09:00"),
    ("这周一 9点", "2026-11-23 09:00"),
    ("下周一 9点", "2026-11-30 09:00"),
    ("next mon 9am", "2026-11-30 09:00"),
    ("sun 23:59", "2026-11-29 23:59"),
    ("sun 23:58", "2026-12-06 23:58"),
    ("周日 10点", "2026-12-06 10:00"),
    ("这周日 10点", "2026-11-29 10:00"),
    ("本周六 10点", "2026-11-28 10:00"),
    ("下周日 10:00", "2026-12-06 10:00"),
    ("今晚 11点", "2026-11-29 23:00"),
    ("后天 9点", "2026-12-01 09:00"),
    ("12-01 9点", "2026-12-01 09:00"),
]

MONDAY_EVENING_PHRASES = [  # Monday 2026-11-23 20:30
    ("mon 20:00", "2026-11-30 20:00"),
    ("mon 21:00", "2026-11-23 21:00"),
    ("周一 晚上 8点", "2026-11-30 20:00"),
    ("周一 晚上 8点半", "2026-11-23 20:30"),  # exactly now: still today
    ("today 20:00", "2026-11-23 20:00"),  # not a weekday name: never moved (caller refuses)
    ("今晚 9点", "2026-11-23 21:00"),
    ("这周一 晚上 8点", "2026-11-23 20:00"),
]

NEW_YEAR_PHRASES = [  # Wednesday 2026-12-30 10:00
    ("1月2日 10点", "2027-01-02 10:00"),
    ("12-25 10:00", "2026-12-25 10:00"),
    ("下周五 10点", "2027-01-08 10:00"),
    ("fri 10am", "2027-01-01 10:00"),
]


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [(MONDAY_MORNING, text, expected) for text, expected in MONDAY_MORNING_PHRASES]
    + [(SUNDAY_NIGHT, text, expected) for text, expected in SUNDAY_NIGHT_PHRASES]
    + [(MONDAY_EVENING, text, expected) for text, expected in MONDAY_EVENING_PHRASES]
    + [(NEW_YEARS_EVE_EVE, text, expected) for text, expected in NEW_YEAR_PHRASES],
)
def test_grammar(now: datetime, text: str, expected: str) -> None:
    assert outcome(text, now) == expected


def test_the_grammar_table_is_big_enough() -> None:
    assert len(MONDAY_MORNING_PHRASES) >= 100


def test_refusals_name_what_was_not_understood() -> None:
    cases = [
        ("明天 晚上", {"value": "明天 晚上"}),
        ("上午 15:00", {"value": "上午 15:00"}),
        ("明天 25:00", {"value": "25:00"}),
        ("下周 20:00", {"value": "下周"}),
        ("1969-12-31 10:00", {"value": "1969-12-31"}),
        ("8点5", {"value": "8点5"}),
    ]
    for text, params in cases:
        with pytest.raises(InputError) as error:
            parse_when(text.split(), now=MONDAY_MORNING, zone=SHANGHAI)
        assert error.value.params == params
    with pytest.raises(InputError) as error:
        parse_when(["很长的标题" * 10, "20:00"], now=MONDAY_MORNING, zone=SHANGHAI)
    assert len(str(error.value.params["value"])) == 30


def test_a_dst_refusal_comes_after_the_weekday_is_rolled() -> None:
    # Sunday 8 March 2026 at 04:00 in New York: today's 02:30 was skipped, but "sun 02:30"
    # has passed anyway and means next Sunday, which exists.
    sunday = datetime(2026, 3, 8, 4, 0, tzinfo=NEW_YORK)
    assert when("sun 02:30", now=sunday, zone=NEW_YORK) == "2026-03-15 02:30 -0400"


# --- Dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["昨天"], date(2026, 11, 22)),
        (["前天"], date(2026, 11, 21)),
        (["yesterday"], date(2026, 11, 22)),
        (["今晚"], date(2026, 11, 23)),
        (["明早"], date(2026, 11, 24)),
        (["下周一"], date(2026, 11, 30)),
        (["next", "fri"], date(2026, 12, 4)),
        (["这周日"], date(2026, 11, 29)),
        (["上周五"], date(2026, 11, 20)),
        (["十二月二十五日"], date(2026, 12, 25)),
        (["2026年", "11月", "24日"], date(2026, 11, 24)),
        (["2026年11月24号"], date(2026, 11, 24)),
    ],
)
def test_more_dates(words: list[str], expected: date) -> None:
    assert parse_date(words, today=MONDAY_MORNING.date()) == expected


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (["下周"], "when.error.bad_date"),
        (["5号"], "when.error.bad_date"),
        (["2026年"], "when.error.bad_date"),
        (["明天", "晚上"], "when.error.bad_date"),
        (["1969-01-01"], "when.error.out_of_range"),
    ],
)
def test_dates_that_are_refused(words: list[str], key: str) -> None:
    with pytest.raises(InputError) as error:
        parse_date(words, today=MONDAY_MORNING.date())
    assert error.value.message_key == key


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("明天", True),
        ("今晚", True),
        ("周五", True),
        ("11月24日", True),
        ("2026-02-30", True),  # a broken day is still meant as a day: refuse, don't store it
        ("下周", True),
        ("5号", True),
        ("2026年", False),
        ("11月", False),
        ("20:00", False),
        ("明天20:00", False),
        ("周报", False),
        ("next", False),
    ],
)
def test_looks_like_date(word: str, expected: bool) -> None:
    assert looks_like_date(word, today=MONDAY_MORNING.date()) is expected


# --- Taking a <when> or <date> off the end of a title -----------------------------------


@pytest.mark.parametrize(
    ("words", "title", "expected"),
    [
        (["年终盘点", "明天", "晚上", "8点"], ["年终盘点"], "2026-11-24 20:00"),
        (["年终盘点", "明天晚上8点"], ["年终盘点"], "2026-11-24 20:00"),
        (["复盘", "明天", "20:00"], ["复盘"], "2026-11-24 20:00"),
        (
            ["准备", "周三", "的会议", "明天", "10:00"],
            ["准备", "周三", "的会议"],
            "2026-11-24 10:00",
        ),
        (["明天", "早会", "纪要", "明早", "9点"], ["明天", "早会", "纪要"], "2026-11-24 09:00"),
        (["Top", "10", "明天", "20:00"], ["Top", "10"], "2026-11-24 20:00"),
        (["I", "am", "明天", "20:00"], ["I", "am"], "2026-11-24 20:00"),
        (["2026年", "总结", "明天", "20:00"], ["2026年", "总结"], "2026-11-24 20:00"),
        (["报告", "2026年", "11月24日", "20:00"], ["报告"], "2026-11-24 20:00"),
        (["Meet", "at", "8pm"], ["Meet"], "2026-11-23 20:00"),
        (["Call", "tomorrow", "at", "8pm"], ["Call"], "2026-11-24 20:00"),
        (["Call", "8pm", "tomorrow"], ["Call"], "2026-11-24 20:00"),
        (["What's", "next", "mon", "9am"], ["What's"], "2026-11-30 09:00"),
        (["Weekly", "fri", "3", "pm"], ["Weekly"], "2026-11-27 15:00"),
        (["直播", "今晚", "9"], ["直播"], "2026-11-23 21:00"),
        (["明天", "20:00"], [], "2026-11-24 20:00"),
    ],
)
def test_split_trailing_when(words: list[str], title: list[str], expected: str) -> None:
    rest, instant = split_trailing_when(words, now=MONDAY_MORNING, zone=SHANGHAI)
    assert (rest, local(instant)) == (title, expected)


@pytest.mark.parametrize(
    ("words", "key", "value"),
    [
        (["半成品", "明天", "晚上"], "when.error.missing_time", "明天 晚上"),
        (["半成品", "明天晚上"], "when.error.missing_time", "明天晚上"),
        (["x", "今晚"], "when.error.missing_time", "今晚"),
        (["Chapter", "8", "tonight"], "when.error.missing_time", "tonight"),
        (["准备", "周三", "明天", "10:00"], "when.error.unplaced", "周三"),
        (["采访", "5号", "明天", "20:00"], "when.error.unplaced", "5号"),
        (["x", "20:00", "明天", "20:00"], "when.error.unplaced", "20:00"),
        (["Good", "morning", "明天", "20:00"], "when.error.unplaced", "morning"),
        (["x", "明天", "8"], "when.error.bad_when", "明天 8"),
        (["x", "10", "明天", "8"], "when.error.bad_when", "明天 8"),
        (["x", "上午", "15:00"], "when.error.period_mismatch", "上午 15:00"),
        (["x", "下周", "20:00"], "when.error.bad_date", "下周"),
        (["只有标题"], "when.error.missing_when", "只有标题"),
        (["Top", "10"], "when.error.missing_when", "10"),
        (["回顾", "2026年"], "when.error.missing_when", "2026年"),
        (["明天的会"], "when.error.missing_when", "明天的会"),
        ([], "when.error.missing_when", "–"),
    ],
)
def test_split_trailing_when_refuses(words: list[str], key: str, value: str) -> None:
    with pytest.raises(InputError) as error:
        split_trailing_when(words, now=MONDAY_MORNING, zone=SHANGHAI)
    assert (error.value.message_key, error.value.params["value"]) == (key, value)


@pytest.mark.parametrize(
    ("words", "title", "expected"),
    [
        (["写稿", "明天"], ["写稿"], date(2026, 11, 24)),
        (["写稿", "昨天"], ["写稿"], date(2026, 11, 22)),
        (["写稿", "前天"], ["写稿"], date(2026, 11, 21)),
        (["写稿", "yesterday"], ["写稿"], date(2026, 11, 22)),
        (["周报", "周五"], ["周报"], date(2026, 11, 27)),
        (["写稿", "next", "fri"], ["写稿"], date(2026, 12, 4)),
        (["写稿", "2026年", "11月", "24日"], ["写稿"], date(2026, 11, 24)),
        (["写稿", "11-24"], ["写稿"], date(2026, 11, 24)),
        (["Top", "10", "明天"], ["Top", "10"], date(2026, 11, 24)),
        (["准备", "周三", "的会议"], ["准备", "周三", "的会议"], None),
        (["直播", "20:00"], ["直播", "20:00"], None),
        (["Top", "10"], ["Top", "10"], None),
        (["回顾", "11月"], ["回顾", "11月"], None),
        (["写稿"], ["写稿"], None),
        (["明天"], [], date(2026, 11, 24)),
        ([], [], None),
    ],
)
def test_split_trailing_date(words: list[str], title: list[str], expected: date | None) -> None:
    assert split_trailing_date(words, today=MONDAY_MORNING.date()) == (title, expected)


@pytest.mark.parametrize(
    ("words", "key", "value"),
    [
        (["写稿", "明天", "晚上"], "when.error.bad_date", "明天 晚上"),
        (["写稿", "明天", "20:00"], "when.error.bad_date", "明天 20:00"),
        (["写稿", "下周"], "when.error.bad_date", "下周"),
        (["写稿", "2026-02-30"], "when.error.bad_date", "2026-02-30"),
        (["采访", "5号"], "when.error.bad_date", "5号"),
        (["准备", "周三", "明天"], "when.error.unplaced", "周三"),
        (["写稿", "2101-01-01"], "when.error.out_of_range", "2101-01-01"),
    ],
)
def test_split_trailing_date_refuses(words: list[str], key: str, value: str) -> None:
    with pytest.raises(InputError) as error:
        split_trailing_date(words, today=MONDAY_MORNING.date())
    assert (error.value.message_key, error.value.params["value"]) == (key, value)


# --- Property: a title is never eaten, a when is never changed --------------------------

# Characters time words are made of, so that ordinary words come close to them (明天的,
# 周末, 8点档) without being them.
_NEAR_MISSES = "明今后昨前天日晚早上下中午周星期礼拜点时分半号月年刻整一二三四五八十两凌晨"
_WORD_CHARACTERS = st.one_of(
    st.sampled_from(_NEAR_MISSES),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'-"),
)
_ENGLISH_WEEK_WORDS = {"next", "this", "last"}  # time words only before a weekday name
TITLE_WORDS = st.text(_WORD_CHARACTERS, min_size=1, max_size=6).filter(
    lambda word: _word_tokens(word) is None and word.casefold() not in _ENGLISH_WEEK_WORDS
)
WHEN_PHRASES = [
    text
    for text, expected in MONDAY_MORNING_PHRASES
    if text and not expected.startswith("when.error.")
]
DATE_PHRASES = [
    "明天",
    "昨天",
    "周五",
    "下周三",
    "next fri",
    "11月24日",
    "2026年 11月 24日",
    "11-24",
]


@given(st.lists(TITLE_WORDS, min_size=1, max_size=5), st.sampled_from(WHEN_PHRASES))
def test_a_title_before_a_when_is_kept_whole(title: list[str], phrase: str) -> None:
    when_words = phrase.split()
    instant = parse_when(when_words, now=MONDAY_MORNING, zone=SHANGHAI)
    assert split_trailing_when(title + when_words, now=MONDAY_MORNING, zone=SHANGHAI) == (
        title,
        instant,
    )


@given(st.lists(TITLE_WORDS, min_size=1, max_size=5), st.sampled_from(DATE_PHRASES))
def test_a_title_before_a_date_is_kept_whole(title: list[str], phrase: str) -> None:
    today = MONDAY_MORNING.date()
    date_words = phrase.split()
    day = parse_date(date_words, today=today)
    assert split_trailing_date(title + date_words, today=today) == (title, day)
    assert split_trailing_date(title, today=today) == (title, None)
