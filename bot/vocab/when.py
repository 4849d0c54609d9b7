"""The one parser for `<when>` (a day and a time) and `<date>` (a day), SPEC §3.

Accepted, in the team's timezone: `2026-11-24`, `2026/11/24`, `11-24`, `11/24`,
`11月24日`; `today`/`tomorrow`, 今天/明天/后天; weekday names (`mon`, `monday`, `周三`,
`星期三`, `礼拜三`) and next week's (`下周三`); times `20:00`, `8:30`, `20：00`,
`20点`, `20点30`. A day and its time may be glued together (`明天20:00`).

A wall-clock time that does not exist (skipped by a DST change) or exists twice (the
hour repeated when clocks go back) is refused with a message, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.vocab.errors import InputError

RELATIVE_DAYS = {
    "today": 0, "今天": 0, "今日": 0,
    "tomorrow": 1, "明天": 1, "明日": 1,
    "后天": 2,
}  # fmt: skip

_WEEKDAY_NAMES = (
    ("mon", "monday", "一"),
    ("tue", "tuesday", "二"),
    ("wed", "wednesday", "三"),
    ("thu", "thursday", "四"),
    ("fri", "friday", "五"),
    ("sat", "saturday", "六"),
    ("sun", "sunday", "日", "天"),
)
WEEKDAYS: dict[str, int] = {}
for _index, (_short, _long, *_chinese) in enumerate(_WEEKDAY_NAMES):
    WEEKDAYS[_short] = WEEKDAYS[_long] = _index
    for _character in _chinese:
        for _prefix in ("周", "星期", "礼拜"):
            WEEKDAYS[_prefix + _character] = _index

_ISO_DAY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})$")
_CHINESE_MONTH_DAY = re.compile(r"^(\d{1,2})月(\d{1,2})[日号]?$")
_NEXT_WEEK_DAY = re.compile(r"^(下周|下星期|下礼拜|next)(.+)$")
_CLOCK_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")
_CHINESE_TIME = re.compile(r"^(\d{1,2})点(?:(\d{1,2})分?|半)?$")
_GLUED = re.compile(r"^(.+?)(\d{1,2}[:：]\d{2}|\d{1,2}点(?:\d{1,2}分?|半)?)$")


@dataclass(frozen=True)
class _Day:
    day: date
    is_weekday_name: bool = False


def week_bounds(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week that contains `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _nearest_year(month: int, day_of_month: int, today: date, original: str) -> date:
    """A month and day without a year: the year that puts it closest to today."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day_of_month))
        except ValueError:
            continue
    if not candidates:
        raise InputError("when.error.bad_date", value=original)
    return min(candidates, key=lambda candidate: abs((candidate - today).days))


def _parse_day(word: str, today: date) -> _Day | None:
    """The day a word names, None when it does not look like a day at all."""
    folded = word.casefold()
    if folded in RELATIVE_DAYS:
        return _Day(today + timedelta(days=RELATIVE_DAYS[folded]))
    if folded in WEEKDAYS:
        return _Day(today + timedelta(days=(WEEKDAYS[folded] - today.weekday()) % 7), True)
    next_week = _NEXT_WEEK_DAY.match(folded)
    if next_week:
        name = next_week.group(2).lstrip("-")
        weekday = WEEKDAYS.get(name) if name in WEEKDAYS else WEEKDAYS.get("周" + name)
        if weekday is None:
            return None
        monday, _ = week_bounds(today)
        return _Day(monday + timedelta(days=7 + weekday))
    try:
        if match := _ISO_DAY.match(word):
            year, month, day_of_month = (int(part) for part in match.groups())
            return _Day(date(year, month, day_of_month))
        if match := _MONTH_DAY.match(word) or _CHINESE_MONTH_DAY.match(word):
            month, day_of_month = (int(part) for part in match.groups())
            return _Day(_nearest_year(month, day_of_month, today, word))
    except ValueError:
        raise InputError("when.error.bad_date", value=word[:20]) from None
    return None


def _parse_time(word: str) -> time | None:
    if match := _CLOCK_TIME.match(word):
        hour, minute = int(match.group(1)), int(match.group(2))
    elif match := _CHINESE_TIME.match(word):
        hour = int(match.group(1))
        minute = 30 if word.endswith("半") else int(match.group(2) or 0)
    else:
        return None
    if hour > 23 or minute > 59:
        raise InputError("when.error.bad_time", value=word[:20])
    return time(hour, minute)


def _split_glued(words: list[str]) -> list[str]:
    if len(words) == 1 and (match := _GLUED.match(words[0])) and _parse_time(words[0]) is None:
        return [match.group(1), match.group(2)]
    return words


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a day starts in a zone (the boundary used for "today" and "this week")."""
    return datetime.combine(day, time(0), tzinfo=zone)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time in a zone; refuses times a DST change skips or repeats."""
    naive = datetime.combine(day, at)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    shown = f"{day.strftime('%m-%d')} {at.strftime('%H:%M')}"
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise InputError("when.error.skipped_by_dst", value=shown, zone=zone.key)
    if first.utcoffset() != second.utcoffset():
        raise InputError("when.error.repeated_by_dst", value=shown, zone=zone.key)
    return first


def parse_date(words: list[str], *, today: date) -> date:
    """A `<date>`: exactly one day word."""
    if len(words) != 1:
        raise InputError("when.error.bad_date", value=" ".join(words)[:30] or "–")
    parsed = _parse_day(words[0], today)
    if parsed is None:
        raise InputError("when.error.bad_date", value=words[0][:20])
    return parsed.day


def looks_like_date(word: str, *, today: date) -> bool:
    """Whether a word is meant as a day (so a command can tell it from free text)."""
    try:
        return _parse_day(word, today) is not None
    except InputError:
        return True


def parse_when(words: list[str], *, now: datetime, zone: ZoneInfo) -> datetime:
    """A `<when>`: a day and a time (or a time alone, meaning today), as an aware instant.

    A weekday name means its next occurrence: `mon 20:00` said on a Monday evening after
    20:00 is next Monday.
    """
    if not words:
        raise InputError("when.error.missing_when")
    local_now = now.astimezone(zone)
    words = _split_glued(words)
    shown = " ".join(words)[:30] or "–"
    if len(words) == 1:
        at = _parse_time(words[0])
        if at is None:
            key = (
                "when.error.missing_time"
                if looks_like_date(words[0], today=local_now.date())
                else "when.error.bad_when"
            )
            raise InputError(key, value=shown)
        return local_instant(local_now.date(), at, zone)
    if len(words) != 2:
        raise InputError("when.error.bad_when", value=shown)
    day = _parse_day(words[0], local_now.date())
    at = _parse_time(words[1])
    if day is None or at is None:
        raise InputError("when.error.bad_when", value=shown)
    instant = local_instant(day.day, at, zone)
    if day.is_weekday_name and instant < now:
        instant = local_instant(day.day + timedelta(days=7), at, zone)
    return instant


def split_trailing_when(
    words: list[str], *, now: datetime, zone: ZoneInfo
) -> tuple[list[str], datetime]:
    """Take a `<when>` off the end of free text (`冬季护肤指南 明天 20:00`)."""
    for width in (2, 1):
        if len(words) < width:
            continue
        tail = words[-width:]
        if _parse_time(tail[-1]) is None and _GLUED.match(tail[-1]) is None:
            break
        try:
            return words[:-width], parse_when(tail, now=now, zone=zone)
        except InputError as error:
            if width == 1 or error.message_key not in ("when.error.bad_when",):
                raise
    raise InputError("when.error.missing_when")
