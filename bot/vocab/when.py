"""The one parser for `<when>` (a day and a time) and `<date>` (a day), SPEC §3.

The rule is "understand or refuse": what is stored is exactly what the person meant, or
the bot refuses and names the part it did not understand. It never guesses, so a phrase
that could mean two instants (`晚上 12点`, `8点5`) or that is only partly a time
(`明天 晚上`) is refused with a catalogue key and the text as `value`.

Accepted, in the team's timezone, in either language and glued or spaced:

* days: 今天/今日/today, 明天/明日/tomorrow, 后天, 大后天, 昨天/昨日/前天/yesterday,
  今晚/明晚/tonight and 今早/明早 (a day and a part of it), weekday names (`mon`,
  `monday`, 周三, 星期三, 礼拜天), this/next/last week's (这周五, 本周五, 下周三, 上周一,
  `this fri`, `next mon`, `next-mon`), dates `2026-11-24`, `2026/11/24`, `11-24`,
  `11/24`, `11月24日`, `11月24号`, `2026年11月24日`, 十二月二十五日, 二〇二六年十一月二十四日;
* parts of the day: 早上/早晨/清晨/上午/morning, 中午, 下午/afternoon, 傍晚, 晚上/evening,
  凌晨, and `am`/`pm` after an hour;
* times: `20:00`, `8:30`, `20：00`, `8点`, `8点半`, `8点30`, `8点30分`, `8点一刻`,
  `八点半`, `20时30分`, `8pm`, `8:30 pm`, and a bare hour after a part of the day
  (`tonight 9`, `晚上 8`).

The words are read as one of two shapes: a day, an optional part of the day, a time and
an optional am/pm (`明天 晚上 8点`, `tomorrow at 8pm`), or, as English has it, a time that
carries its own half of the day followed by the day (`8pm tomorrow`). Anything else is
refused. A wall-clock time that a DST change skips or repeats is refused too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, NoReturn
from zoneinfo import ZoneInfo

from bot.vocab.errors import InputError

RELATIVE_DAYS = {
    "today": 0, "今天": 0, "今日": 0,
    "tomorrow": 1, "明天": 1, "明日": 1,
    "后天": 2, "大后天": 3,
    "yesterday": -1, "昨天": -1, "昨日": -1,
    "前天": -2,
}  # fmt: skip

# Day words that also say which part of the day: the hour after them is read in it.
_DAYS_WITH_PERIOD = {
    "今晚": (0, "evening"), "tonight": (0, "evening"), "明晚": (1, "evening"),
    "今早": (0, "morning"), "明早": (1, "morning"),
}  # fmt: skip

_WEEKDAY_NAMES = (
    ("mon", "monday", "一"),
    ("tue", "tues", "tuesday", "二"),
    ("wed", "wednesday", "三"),
    ("thu", "thur", "thurs", "thursday", "四"),
    ("fri", "friday", "五"),
    ("sat", "saturday", "六"),
    ("sun", "sunday", "日", "天"),
)
WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate(_WEEKDAY_NAMES):
    for _name in _names:
        if _name.isascii():
            WEEKDAYS[_name] = _index
        else:
            for _prefix in ("周", "星期", "礼拜"):
                WEEKDAYS[_prefix + _name] = _index

# Which week a weekday name belongs to: None means "its next occurrence".
_WEEK_PREFIXES = {"这": 0, "本": 0, "this": 0, "下": 1, "next": 1, "上": -1, "last": -1}
_ENGLISH_WEEK_WORDS = ("this", "next", "last")

_PERIOD_WORDS = {
    "早上": "morning", "早晨": "morning", "清晨": "morning", "上午": "morning",
    "morning": "morning",
    "中午": "noon",
    "下午": "afternoon", "afternoon": "afternoon",
    "傍晚": "dusk",
    "晚上": "evening", "evening": "evening",
    "凌晨": "small_hours",
}  # fmt: skip


def _table(*parts: Iterable[tuple[int, int]]) -> dict[int, int]:
    return {written: meant for part in parts for written, meant in part}


def _same(hours: range) -> Iterable[tuple[int, int]]:
    return ((hour, hour) for hour in hours)


def _plus_twelve(hours: range) -> Iterable[tuple[int, int]]:
    return ((hour, hour + 12) for hour in hours)


# The hour a part of the day turns a written hour into. A written hour missing from its
# table contradicts the part of the day (`上午 15:00`) and is refused.
_PERIOD_HOURS: dict[str, dict[int, int]] = {
    "morning": _table(_same(range(1, 12))),
    "noon": _table(_same(range(11, 15)), _plus_twelve(range(1, 3))),
    "afternoon": _table({12: 12}.items(), _plus_twelve(range(1, 12)), _same(range(13, 24))),
    "dusk": _table(_plus_twelve(range(1, 12)), _same(range(13, 24))),  # 傍晚: like pm
    "evening": _table(_plus_twelve(range(5, 12)), _same(range(17, 24))),
    # 凌晨 12点 is the midnight that starts the named day: 明天 凌晨 12点 = 明天 00:00.
    "small_hours": _table(_same(range(7)), {12: 0}.items()),
    "am": _table({12: 0}.items(), _same(range(1, 12))),
    "pm": _table({12: 12}.items(), _plus_twelve(range(1, 12))),
}
# Written hours a part of the day leaves open between two instants; refused, not guessed.
# 上午/早上 12点 is noon to some and midnight to others. 晚上/tonight 12 is a midnight, but
# which one: 明天 晚上 12点 is 后天 00:00 (the end of 明天) to most and 明天 00:00 to some,
# and storing either would be a guess, so it is refused rather than moved to the next day;
# the reply suggests 23:59 or the next day's 00:00. 晚上 1点 to 4点 is colloquially the
# small hours after midnight (the next calendar day), not 13:00 to 16:00, so it is refused
# too; 凌晨 1点 or 13:00 says it.
_AMBIGUOUS_HOURS = {"morning": {12}, "evening": {0, 1, 2, 3, 4, 12}}

_CHINESE_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_FIRST_YEAR, _LAST_YEAR = 1970, 2100

_DayKind = Literal["relative", "weekday", "date", "month_day", "broken"]
_Shape = Literal["valid", "incomplete", "invalid"]


@dataclass(frozen=True)
class _Day:
    """A day as written, before it is pinned to a calendar date relative to today."""

    kind: _DayKind
    offset: int = 0
    weekday: int = 0
    week: int | None = None  # None: the next occurrence; 0/1/-1: this, next, last ISO week
    year: int = 0
    month: int = 0
    day_of_month: int = 0


@dataclass(frozen=True)
class _Token:
    """One recognised piece of a word.

    Kinds: D a day, P a part of the day, T a clock time, N a bare hour, M am/pm, A "at",
    X a week with no weekday yet (下周), Y a year, O a month, Q a day of the month; the
    last four only mean something next to their neighbours and are merged by `_combine`.
    """

    kind: str
    text: str
    hour: int = 0
    minute: int = 0
    minute_unclear: bool = False  # 8点5: 8:05 or 8:50?
    period: str | None = None
    day: _Day | None = None
    number: int = 0


def _small_number(text: str, *, counting: bool = False) -> int | None:
    """0–99 in Arabic or Chinese numerals (八, 十二, 二十五, 零五), None when malformed.

    两 is a counting word (两点 = 2 o'clock) and never an ordinal (no one writes 两号 for
    the 2nd), so it is accepted only where `counting` says so.
    """
    if text.isascii():
        return int(text) if text.isdigit() else None
    if "两" in text and not (counting and text == "两"):
        return None
    if "十" in text:
        tens_text, _, units_text = text.partition("十")
        tens = 1 if tens_text == "" else _CHINESE_DIGITS.get(tens_text)
        units = 0 if units_text == "" else _CHINESE_DIGITS.get(units_text)
        if tens in (None, 0) or units is None or (units_text and units == 0):
            return None
        return tens * 10 + units
    if len(text) == 1:
        return _CHINESE_DIGITS.get(text)
    if len(text) == 2 and text[0] in "零〇" and text[1] in _CHINESE_DIGITS:
        return _CHINESE_DIGITS[text[1]]  # 八点零五分
    return None


def _year_number(text: str) -> int:
    """A four-digit year in Arabic or digit-by-digit Chinese numerals (二〇二六)."""
    return int(text) if text.isascii() else int("".join(str(_CHINESE_DIGITS[c]) for c in text))


_NUM = r"[0-9]{1,2}(?![0-9])|[零〇一二两三四五六七八九十]{1,3}"


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation that tries longer words first (`monday` before `mon`)."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


def _relative(match: re.Match[str]) -> _Token:
    word = match.group(0)
    if word in _DAYS_WITH_PERIOD:
        offset, period = _DAYS_WITH_PERIOD[word]
        return _Token("D", word, period=period, day=_Day("relative", offset=offset))
    return _Token("D", word, day=_Day("relative", offset=RELATIVE_DAYS[word]))


def _weekday(match: re.Match[str]) -> _Token:
    prefix, name = match.group(1), match.group(2)
    week = _WEEK_PREFIXES[prefix] if prefix else None
    return _Token("D", match.group(0), day=_Day("weekday", weekday=WEEKDAYS[name], week=week))


def _chinese_weekday(match: re.Match[str]) -> _Token:
    prefix, name = match.group(1), match.group(2) + match.group(3)
    week = _WEEK_PREFIXES[prefix] if prefix else None
    return _Token("D", match.group(0), day=_Day("weekday", weekday=WEEKDAYS[name], week=week))


def _week(match: re.Match[str]) -> _Token:
    return _Token("X", match.group(0), number=_WEEK_PREFIXES[match.group(1)])


def _period(match: re.Match[str]) -> _Token:
    return _Token("P", match.group(0), period=_PERIOD_WORDS[match.group(0)])


def _iso_date(match: re.Match[str]) -> _Token:
    year, month, day = (int(part) for part in match.groups())
    return _Token("D", match.group(0), day=_Day("date", year=year, month=month, day_of_month=day))


def _month_day(match: re.Match[str]) -> _Token | None:
    month, day = _small_number(match.group(1)), _small_number(match.group(2))
    if month is None or day is None:
        return None
    return _Token("D", match.group(0), day=_Day("month_day", month=month, day_of_month=day))


def _year(match: re.Match[str]) -> _Token:
    return _Token("Y", match.group(0), number=_year_number(match.group(1)))


def _lone_part(kind: str) -> Callable[[re.Match[str]], _Token | None]:
    def build(match: re.Match[str]) -> _Token | None:
        number = _small_number(match.group(1))
        return None if number is None else _Token(kind, match.group(0), number=number)

    return build


def _clock(match: re.Match[str]) -> _Token:
    return _Token("T", match.group(0), hour=int(match.group(1)), minute=int(match.group(2)))


def _chinese_clock(match: re.Match[str]) -> _Token | None:
    hour = _small_number(match.group("hour"), counting=True)
    if hour is None:
        return None
    minute, unclear = 0, False
    if match.group("half"):
        minute = 30
    elif match.group("quarter"):
        minute = 15 if match.group("quarter") == "一刻" else 45
    elif written := match.group("minute"):
        parsed = _small_number(written)
        if parsed is None:
            return None
        minute = parsed
        # 8点05 and 八点三十 are clear; 8点5 / 八点五 might be 8:05 or 8:50 (8点6 cannot be
        # 8:60, so only a single 1–5 without 分 is in doubt).
        unclear = not match.group("fen") and len(written) == 1 and 1 <= minute <= 5
    return _Token("T", match.group(0), hour=hour, minute=minute, minute_unclear=unclear)


def _meridiem(match: re.Match[str]) -> _Token:
    return _Token("M", match.group(0), period=match.group(1) + "m")


def _bare_hour(match: re.Match[str]) -> _Token:
    return _Token("N", match.group(0), hour=int(match.group(0)))


_END = r"(?![a-z])"  # English words end at a letter boundary: `mon` is not `month`
_DAY_WORDS = (*RELATIVE_DAYS, *_DAYS_WITH_PERIOD)
_CHINESE_DAY_WORDS = _alternatives(word for word in _DAY_WORDS if not word.isascii())
_ENGLISH_DAY_WORDS = _alternatives(word for word in _DAY_WORDS if word.isascii())
_ENGLISH_WEEKDAYS = _alternatives(word for word in WEEKDAYS if word.isascii())
_SCANNERS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], _Token | None]], ...] = (
    (re.compile(_CHINESE_DAY_WORDS), _relative),
    (re.compile(r"(下|这|本|上)?(周|星期|礼拜)([一二三四五六日天])"), _chinese_weekday),
    (re.compile(r"(下|这|本|上)(?:周|星期|礼拜)"), _week),
    (re.compile(_alternatives(w for w in _PERIOD_WORDS if not w.isascii())), _period),
    (re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?![0-9])"), _iso_date),
    (re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})(?![0-9])"), _month_day),
    (re.compile(r"([0-9]{4}|[零〇一二三四五六七八九]{4})年"), _year),
    (re.compile(rf"({_NUM})月({_NUM})[日号]?"), _month_day),
    (re.compile(rf"({_NUM})月"), _lone_part("O")),
    (re.compile(rf"({_NUM})[日号]"), _lone_part("Q")),
    (re.compile(r"([0-9]{1,2}):([0-9]{2})(?![0-9])"), _clock),
    (re.compile(
        rf"(?P<hour>{_NUM})[点时]"
        rf"(?:(?P<half>半)|(?P<quarter>一刻|三刻)|整|钟|(?P<minute>{_NUM})(?P<fen>分)?)?"
    ), _chinese_clock),
    (re.compile(rf"(?:({'|'.join(_ENGLISH_WEEK_WORDS)})[-_]?)?({_ENGLISH_WEEKDAYS})\.?{_END}"),
     _weekday),
    (re.compile(rf"(?:{_ENGLISH_DAY_WORDS}){_END}"), _relative),
    (re.compile(rf"(?:{_alternatives(w for w in _PERIOD_WORDS if w.isascii())}){_END}"), _period),
    (re.compile(rf"([ap])\.?m\.?{_END}"), _meridiem),
    (re.compile(r"[0-9]{1,2}(?![0-9])"), _bare_hour),
)  # fmt: skip


def _fold(word: str) -> str:
    """Full-width digits and colons become ASCII, letters lower-case: `２０：００` is 20:00."""
    return unicodedata.normalize("NFKC", word).casefold()


def _word_tokens(word: str) -> list[_Token] | None:
    """The tokens a whole word is made of, or None when any part of it is not a when.

    A word is all-or-nothing: `明天晚上8点` is three tokens, `明天的会` is an ordinary word.
    """
    text = _fold(word)
    if text == "at":
        return [_Token("A", text)]
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        for pattern, build in _SCANNERS:
            match = pattern.match(text, position)
            if match and (token := build(match)) is not None:
                tokens.append(token)
                position = match.end()
                break
        else:
            return None
    return tokens or None


def _is_plain_weekday(tokens: list[_Token] | None) -> bool:
    if not tokens or tokens[0].day is None:
        return False
    return tokens[0].day.kind == "weekday" and tokens[0].day.week is None


def _tokenize(words: Sequence[str]) -> list[list[_Token] | None]:
    """Each word's tokens; `this`/`next`/`last` count only right before a weekday name."""
    per_word = [_word_tokens(word) for word in words]
    for index, word in enumerate(words[:-1]):
        folded = _fold(word)
        modifier = per_word[index] is None and folded in _ENGLISH_WEEK_WORDS
        if modifier and _is_plain_weekday(per_word[index + 1]):
            per_word[index] = [_Token("X", folded, number=_WEEK_PREFIXES[folded])]
    return per_word


# Words that may end a title even right before a `<when>`: a number (`Top 10`), a year or
# a month (`2026年`, `11月`), `at`, `am`. Everything else time-like there is refused.
_WEAK_KINDS = frozenset("NMAYO")


def _is_strong(tokens: list[_Token] | None) -> bool:
    return tokens is not None and not (len(tokens) == 1 and tokens[0].kind in _WEAK_KINDS)


def _combine(tokens: list[_Token]) -> list[_Token]:
    """Merge pieces that only name a day together: `下周 周三`, `next fri`, `2026年 11月 24日`."""
    merged: list[_Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        ahead = tokens[index + 1 : index + 3]
        kinds = "".join(t.kind for t in ahead)
        first_day = ahead[0].day if ahead else None
        if token.kind == "X" and first_day and _is_plain_weekday(ahead[:1]):
            day = replace(first_day, week=token.number)
            merged.append(_Token("D", f"{token.text} {ahead[0].text}", day=day))
            index += 2
        elif token.kind == "Y" and first_day and first_day.kind == "month_day":
            day = replace(first_day, kind="date", year=token.number)
            merged.append(_Token("D", token.text + ahead[0].text, day=day))
            index += 2
        elif token.kind == "Y" and kinds == "OQ":
            month, day_of_month = ahead[0].number, ahead[1].number
            day = _Day("date", year=token.number, month=month, day_of_month=day_of_month)
            merged.append(_Token("D", token.text + ahead[0].text + ahead[1].text, day=day))
            index += 3
        elif token.kind == "O" and kinds[:1] == "Q":
            day = _Day("month_day", month=token.number, day_of_month=ahead[0].number)
            merged.append(_Token("D", token.text + ahead[0].text, day=day))
            index += 2
        elif token.kind == "X":  # 下周 with no weekday: clearly a day word, but not a day
            merged.append(_Token("D", token.text, day=_Day("broken")))
            index += 1
        else:
            merged.append(token)
            index += 1
    return merged


# A day, then at most one part of the day and an `at` in either order, a time and am/pm
# (`明天 晚上 8点`, `tomorrow at 8pm`); or a time that needs no part of the day, then the
# day (`8pm tomorrow`, `20:00 明天`; not `9 tonight`, which ends "Chapter 8 tonight"). A
# bare hour (N) is allowed only when a part of the day places it (`tonight 9`, `晚上 8`).
_VALID_SHAPE = re.compile(r"D?(?:A|P|AP|PA)?[TN]M?|A?(?:TM?|NM)D")
_INCOMPLETE_SHAPE = re.compile(r"D|DP|P")


def _shape(tokens: list[_Token]) -> _Shape:
    kinds = "".join(token.kind for token in tokens)
    if _INCOMPLETE_SHAPE.fullmatch(kinds):
        return "incomplete"
    if not _VALID_SHAPE.fullmatch(kinds):
        return "invalid"
    if "N" in kinds and not any(token.period for token in tokens):
        return "invalid"  # `明天 8`: 08:00 or 20:00?
    return "valid"


def _shown(words: Sequence[str]) -> str:
    """The words as quoted back in a message, short enough for a chat reply."""
    return " ".join(words)[:30] or "–"


def week_bounds(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week that contains `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _in_range(day: date, shown: str) -> date:
    if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        raise InputError("when.error.out_of_range", value=shown[:30])
    return day


def _calendar_date(year: int, month: int, day_of_month: int, shown: str) -> date:
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise InputError("when.error.out_of_range", value=shown[:30])
    try:
        return date(year, month, day_of_month)
    except ValueError:
        raise InputError("when.error.bad_date", value=shown[:30]) from None


def _nearest_year(month: int, day_of_month: int, today: date, original: str) -> date:
    """A month and day without a year: the year that puts it closest to today."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day_of_month))
        except ValueError:
            continue
    if not candidates:
        raise InputError("when.error.bad_date", value=original[:30])
    return _in_range(min(candidates, key=lambda c: abs((c - today).days)), original)


def _resolve_day(token: _Token, today: date) -> date:
    """The calendar date a day token names, seen from `today` (a weekday is not rolled)."""
    day = token.day
    assert day is not None
    if day.kind == "relative":
        return _in_range(today + timedelta(days=day.offset), token.text)
    if day.kind == "weekday":
        if day.week is None:
            ahead = (day.weekday - today.weekday()) % 7
            return _in_range(today + timedelta(days=ahead), token.text)
        monday, _ = week_bounds(today)
        return _in_range(monday + timedelta(days=7 * day.week + day.weekday), token.text)
    if day.kind == "date":
        return _calendar_date(day.year, day.month, day.day_of_month, token.text)
    if day.kind == "month_day":
        return _nearest_year(day.month, day.day_of_month, today, token.text)
    raise InputError("when.error.bad_date", value=token.text[:30])


def _place_hour(period: str, hour: int, shown: str) -> int:
    """The 24-hour hour a written hour means in a part of the day, or a refusal."""
    if hour in _AMBIGUOUS_HOURS.get(period, ()):
        raise InputError("when.error.ambiguous_time", value=shown)
    if hour not in _PERIOD_HOURS[period]:
        raise InputError("when.error.period_mismatch", value=shown)
    return _PERIOD_HOURS[period][hour]


def _resolve_time(tokens: list[_Token], shown: str) -> time:
    clock = next(token for token in tokens if token.kind in "TN")
    if clock.minute_unclear:
        raise InputError("when.error.ambiguous_time", value=clock.text[:30])
    if clock.hour > 23 or clock.minute > 59:
        raise InputError("when.error.bad_time", value=clock.text[:30])
    hours = {_place_hour(t.period, clock.hour, shown) for t in tokens if t.period}
    if len(hours) > 1:  # 明早 9pm
        raise InputError("when.error.period_mismatch", value=shown)
    return time(hours.pop() if hours else clock.hour, clock.minute)


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


def _resolve_when(tokens: list[_Token], shown: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The instant of tokens already known to have a valid shape.

    A weekday name alone means its next occurrence, today included while the time is still
    ahead: `mon 20:00` said on a Monday at 19:00 is today, at 20:01 it is next Monday.
    """
    local_now = now.astimezone(zone)
    day_token = next((token for token in tokens if token.kind == "D"), None)
    day = local_now.date() if day_token is None else _resolve_day(day_token, local_now.date())
    at = _resolve_time(tokens, shown)
    rolls = day_token is not None and _is_plain_weekday([day_token])
    if rolls and datetime.combine(day, at) < local_now.replace(tzinfo=None):
        day = _in_range(day + timedelta(days=7), shown)
    return local_instant(day, at, zone)


def _refuse_incomplete(tokens: list[_Token], shown: str, today: date) -> NoReturn:
    """A day and/or a part of the day with no time: name the day's own problem first."""
    for token in tokens:
        if token.kind == "D":
            _resolve_day(token, today)
    raise InputError("when.error.missing_time", value=shown)


def parse_date(words: list[str], *, today: date) -> date:
    """A `<date>`: exactly one day, in one word or spread over several (`2026年 11月 24日`)."""
    shown = _shown(words)
    per_word = _tokenize(words)
    if not words or any(tokens is None for tokens in per_word):
        raise InputError("when.error.bad_date", value=shown)
    tokens = _combine([token for tokens in per_word if tokens for token in tokens])
    if len(tokens) != 1 or tokens[0].kind != "D":
        raise InputError("when.error.bad_date", value=shown)
    return _resolve_day(tokens[0], today)


def looks_like_date(word: str, *, today: date) -> bool:
    """Whether a word is meant as a day, so a command can tell it from free text.

    True also for a broken day (`2026-02-30`, `下周`, `5号`) so that the caller refuses it
    instead of storing it as text; False for a lone year or month (`2026年`, `11月`),
    which are ordinary title words. `today` is kept for the callers' signature.
    """
    del today
    tokens = _word_tokens(word)
    if tokens is None or not _is_strong(tokens):
        return False
    combined = _combine(tokens)
    return len(combined) == 1 and combined[0].kind in "DQ"


def parse_when(words: list[str], *, now: datetime, zone: ZoneInfo) -> datetime:
    """A `<when>`: a day and a time (or a time alone, meaning today), as an aware instant.

    `now` is an aware instant; days are the team's days in `zone`. The caller refuses the
    past itself, so `昨天 10:00` and `这周一 9点` on a Friday parse.
    """
    if not words:
        raise InputError("when.error.missing_when", value="–")
    shown = _shown(words)
    per_word = _tokenize(words)
    if any(tokens is None for tokens in per_word):
        raise InputError("when.error.bad_when", value=shown)
    tokens = _combine([token for tokens in per_word if tokens for token in tokens])
    shape = _shape(tokens)
    if shape == "incomplete":
        _refuse_incomplete(tokens, shown, now.astimezone(zone).date())
    if shape == "invalid":
        raise InputError("when.error.bad_when", value=shown)
    return _resolve_when(tokens, shown, now, zone)


def _trailing_run(per_word: list[list[_Token] | None]) -> int:
    """Where the words at the end that are all time-like begin."""
    start = len(per_word)
    while start > 0 and per_word[start - 1] is not None:
        start -= 1
    return start


def _refuse_unplaced(
    words: Sequence[str], per_word: list[list[_Token] | None], start: int, end: int
) -> None:
    """Time-like words left between the title and its `<when>`: which one did they mean?"""
    strong = [index for index in range(start, end) if _is_strong(per_word[index])]
    if strong:
        raise InputError("when.error.unplaced", value=_shown(words[strong[0] : end]))


def split_trailing_when(
    words: list[str], *, now: datetime, zone: ZoneInfo
) -> tuple[list[str], datetime]:
    """Take a `<when>` off the end of free text (`冬季护肤指南 明天 20:00`).

    The `<when>` is the longest run of words at the end that reads as one. Time-like words
    left behind it (`准备 周三 明天 10:00`) are refused: 周三 might be the title's or a
    mistyped part of the time. A day word stays in the title only when an ordinary word
    separates it from the `<when>` (`准备 周三 的会议 明天 10:00`), and a day or part of
    the day with no time (`半成品 明天 晚上`) is refused rather than read as title text.
    """
    per_word = _tokenize(words)
    start = _trailing_run(per_word)
    today = now.astimezone(zone).date()
    for begin in range(start, len(words)):
        tokens = _combine([token for tokens in per_word[begin:] if tokens for token in tokens])
        shape = _shape(tokens)
        if shape == "invalid":
            continue
        shown = _shown(words[begin:])
        if shape == "incomplete":
            _refuse_incomplete(tokens, shown, today)
        _refuse_unplaced(words, per_word, start, begin)
        return list(words[:begin]), _resolve_when(tokens, shown, now, zone)
    strong = [index for index in range(start, len(words)) if _is_strong(per_word[index])]
    if strong:
        raise InputError("when.error.bad_when", value=_shown(words[strong[0] :]))
    raise InputError("when.error.missing_when", value=_shown(words[-1:]))


def split_trailing_date(words: list[str], *, today: date) -> tuple[list[str], date | None]:
    """Take an optional `<date>` off the end of free text (`写周报 周五`).

    None when the words at the end name no day at all (`直播 20:00`, `Top 10`): those stay
    in the title. When they do name a day but are not exactly one (`写稿 明天 晚上`,
    `写稿 明天 20:00`) the words are refused, never filed as a title without its date.
    """
    per_word = _tokenize(words)
    start = _trailing_run(per_word)
    names_a_day = any(
        _is_strong(tokens) and any(token.kind in "DXQ" for token in tokens)
        for tokens in per_word[start:]
        if tokens
    )
    if not names_a_day:
        return list(words), None
    for begin in range(start, len(words)):
        tokens = _combine([token for tokens in per_word[begin:] if tokens for token in tokens])
        if len(tokens) == 1 and tokens[0].kind == "D":
            _refuse_unplaced(words, per_word, start, begin)
            return list(words[:begin]), _resolve_day(tokens[0], today)
    strong = [index for index in range(start, len(words)) if _is_strong(per_word[index])]
    raise InputError("when.error.bad_date", value=_shown(words[strong[0] :]))
