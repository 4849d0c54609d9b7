"""The marketing calendar (营销日历): the dates a content team plans around.

Three sources, all without a network:
- the 24 solar terms (节气) from the maintained `chinese-calendar` package, which computes
  them for any year it covers (`chinese_calendar.get_solar_terms`);
- festivals and public holidays, by rule: a fixed month-day (国庆 10/1) or a lunar
  month-day (春节 1/1, 中秋 8/15), converted with the maintained `lunardate` package (the
  holiday *periods* the State Council sets each year are `bot/vocab/workdays.py`'s);
- commercial dates (520, 618, 七夕, 双十一 …): this module's data, each with its rule —
  a fixed month-day, the nth weekday of a month (母亲节: 2nd Sunday of May), a lunar
  month-day (七夕: 7/7), or days before a lunar date.

Each date has a stable `key` (the feed's UIDs use it), its Chinese and English names and
the other names a title or a tag may give it (`双11`, `Singles' Day`): `names` is what a
topic or a post is matched against. A team's own dates and the ones it hides are rows in
`calendar_dates`, not here.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import chinese_calendar
from lunardate import LunarDate

Kind = Literal["solar_term", "holiday", "festival", "commercial", "own"]


@dataclass(frozen=True)
class DateRule:
    """A built-in date and how to find it in a year. Exactly one rule is set."""

    key: str
    zh: str
    en: str
    kind: Kind
    aliases: tuple[str, ...] = ()
    month_day: tuple[int, int] | None = None  # every year on this month and day
    nth_weekday: tuple[int, int, int] | None = None  # (month, weekday 0=Mon, n: 1st, 2nd …)
    lunar: tuple[int, int] | None = None  # a lunar month and day
    before_lunar: tuple[int, int, int] | None = None  # (days before, lunar month, lunar day)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.zh, self.en, *self.aliases)


@dataclass(frozen=True)
class MarketingDate:
    """One occurrence: a built-in date in a year, or a team's own date (`kind` `own`)."""

    day: date
    key: str
    zh: str
    en: str
    kind: Kind
    names: tuple[str, ...]

    def name(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en


# The 24 solar terms: chinese-calendar names them in Chinese; these are their English
# names (the ones the China Meteorological Administration uses) and keys.
SOLAR_TERMS: dict[str, tuple[str, str]] = {
    "小寒": ("minor-cold", "Minor Cold"),
    "大寒": ("major-cold", "Major Cold"),
    "立春": ("start-of-spring", "Start of Spring"),
    "雨水": ("rain-water", "Rain Water"),
    "惊蛰": ("awakening-of-insects", "Awakening of Insects"),
    "春分": ("spring-equinox", "Spring Equinox"),
    "清明": ("qingming", "Qingming (Tomb-sweeping Day)"),
    "谷雨": ("grain-rain", "Grain Rain"),
    "立夏": ("start-of-summer", "Start of Summer"),
    "小满": ("grain-buds", "Grain Buds"),
    "芒种": ("grain-in-ear", "Grain in Ear"),
    "夏至": ("summer-solstice", "Summer Solstice"),
    "小暑": ("minor-heat", "Minor Heat"),
    "大暑": ("major-heat", "Major Heat"),
    "立秋": ("start-of-autumn", "Start of Autumn"),
    "处暑": ("end-of-heat", "End of Heat"),
    "白露": ("white-dew", "White Dew"),
    "秋分": ("autumn-equinox", "Autumn Equinox"),
    "寒露": ("cold-dew", "Cold Dew"),
    "霜降": ("frosts-descent", "Frost's Descent"),
    "立冬": ("start-of-winter", "Start of Winter"),
    "小雪": ("minor-snow", "Minor Snow"),
    "大雪": ("major-snow", "Major Snow"),
    "冬至": ("winter-solstice", "Winter Solstice"),
}
SOLAR_TERM_ALIASES: dict[str, tuple[str, ...]] = {
    "清明": ("清明节", "Qingming", "Tomb-sweeping Day"),
    "冬至": ("solstice",),
}

RULES: tuple[DateRule, ...] = (
    # Public holidays and festivals (清明 is a solar term above).
    DateRule("new-year", "元旦", "New Year's Day", "holiday", month_day=(1, 1)),
    DateRule("new-years-eve", "除夕", "Chinese New Year's Eve", "holiday",
             ("大年三十",), before_lunar=(1, 1, 1)),
    DateRule("spring-festival", "春节", "Spring Festival", "holiday",
             ("Chinese New Year", "Lunar New Year", "过年"), lunar=(1, 1)),
    DateRule("lantern", "元宵节", "Lantern Festival", "festival", ("元宵",), lunar=(1, 15)),
    DateRule("labour-day", "劳动节", "Labour Day", "holiday", ("五一",), month_day=(5, 1)),
    DateRule("dragon-boat", "端午节", "Dragon Boat Festival", "holiday", ("端午",),
             lunar=(5, 5)),
    DateRule("mid-autumn", "中秋节", "Mid-Autumn Festival", "holiday", ("中秋",),
             lunar=(8, 15)),
    DateRule("national-day", "国庆节", "National Day", "holiday", ("国庆", "十一黄金周"),
             month_day=(10, 1)),
    DateRule("double-ninth", "重阳节", "Double Ninth Festival", "festival", ("重阳",),
             lunar=(9, 9)),
    DateRule("christmas", "圣诞节", "Christmas", "festival", ("圣诞",), month_day=(12, 25)),
    # Commercial dates (电商节点 and the days brands post about).
    DateRule("new-year-shopping", "年货节", "New Year Shopping Festival", "commercial",
             ("年货",), lunar=(12, 8)),  # the platforms' 年货节 opens around 腊八 (lunar 12/8)
    DateRule("valentines", "情人节", "Valentine's Day", "commercial", ("Valentine",),
             month_day=(2, 14)),
    DateRule("womens-day", "妇女节", "Women's Day", "commercial", ("女神节", "女王节", "三八节"),
             month_day=(3, 8)),
    DateRule("520", "520", "520 (Chinese Valentine's)", "commercial", ("5.20", "520告白日"),
             month_day=(5, 20)),
    DateRule("mothers-day", "母亲节", "Mother's Day", "commercial", nth_weekday=(5, 6, 2)),
    DateRule("childrens-day", "儿童节", "Children's Day", "commercial", ("六一",),
             month_day=(6, 1)),
    DateRule("618", "618", "618 Shopping Festival", "commercial", ("6.18", "618大促", "年中大促"),
             month_day=(6, 18)),
    DateRule("fathers-day", "父亲节", "Father's Day", "commercial", nth_weekday=(6, 6, 3)),
    DateRule("qixi", "七夕", "Qixi Festival", "commercial", ("七夕节", "Qixi"), lunar=(7, 7)),
    DateRule("back-to-school", "开学季", "Back to School", "commercial", ("开学",),
             month_day=(9, 1)),
    DateRule("teachers-day", "教师节", "Teachers' Day", "commercial", month_day=(9, 10)),
    DateRule("singles-day", "双十一", "Singles' Day (11.11)", "commercial",
             ("双11", "1111", "11.11", "Singles' Day"), month_day=(11, 11)),
    DateRule("thanksgiving", "感恩节", "Thanksgiving", "commercial", nth_weekday=(11, 3, 4)),
    DateRule("double-twelve", "双十二", "Double 12 (12.12)", "commercial",
             ("双12", "1212", "12.12"), month_day=(12, 12)),
)  # fmt: skip

KINDS: tuple[Kind, ...] = ("solar_term", "holiday", "festival", "commercial", "own")


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _lunar(year: int, month: int, day: int) -> date | None:
    """The solar date of a lunar month-day of lunar `year`, or None outside the table."""
    try:
        with warnings.catch_warnings():  # the camelCase spelling warns on newer releases
            warnings.simplefilter("ignore", DeprecationWarning)
            return LunarDate(year, month, day).toSolarDate()  # type: ignore[no-any-return]
    except ValueError:
        return None


def _days_in_year(rule: DateRule, year: int) -> list[date]:
    """The solar dates in `year` a rule gives (a lunar date may fall in the solar year
    before or after its lunar year: 腊八 of lunar 2026 is in January 2027)."""
    if rule.month_day is not None:
        return [date(year, *rule.month_day)]
    if rule.nth_weekday is not None:
        return [_nth_weekday(year, *rule.nth_weekday)]
    found = []
    for lunar_year in (year - 1, year, year + 1):
        if rule.lunar is not None:
            day = _lunar(lunar_year, *rule.lunar)
        else:
            assert rule.before_lunar is not None
            before, month, day_of_month = rule.before_lunar
            anchor = _lunar(lunar_year, month, day_of_month)
            day = None if anchor is None else anchor - timedelta(days=before)
        if day is not None and day.year == year:
            found.append(day)
    return found


def _solar_terms(start: date, end: date) -> Iterator[MarketingDate]:
    try:
        terms = chinese_calendar.get_solar_terms(start, end)
    except (NotImplementedError, ValueError, IndexError, KeyError):  # outside its table
        return
    for day, zh in terms:
        key, en = SOLAR_TERMS[zh]
        names = (zh, en, *SOLAR_TERM_ALIASES.get(zh, ()))
        yield MarketingDate(day, key, zh, en, "solar_term", names)


def builtin_dates(start: date, end: date) -> list[MarketingDate]:
    """Every built-in date in [start, end], in date order (a solar term first on a day
    it shares)."""
    return list(_builtin_dates(start, end))


@lru_cache(maxsize=256)
def _builtin_dates(start: date, end: date) -> tuple[MarketingDate, ...]:
    """Worked out once per range: every team's digest of a day asks the same one, and
    the lunar conversions are the cost."""
    found = list(_solar_terms(start, end))
    for year in range(start.year, end.year + 1):
        for rule in RULES:
            for day in _days_in_year(rule, year):
                if start <= day <= end:
                    found.append(MarketingDate(day, rule.key, rule.zh, rule.en, rule.kind,
                                               rule.names))  # fmt: skip
    order = {kind: index for index, kind in enumerate(KINDS)}
    return tuple(sorted(found, key=lambda found_date: (found_date.day, order[found_date.kind])))


def find_builtin(name: str) -> tuple[str, str, str] | None:
    """The built-in date a name means, in any case: its (key, zh, en), or None.

    A solar term, a festival or a commercial date, by any of its names."""
    folded = name.strip().casefold()
    for zh, (key, en) in SOLAR_TERMS.items():
        if folded in (
            spelling.casefold() for spelling in (zh, en, *SOLAR_TERM_ALIASES.get(zh, ()))
        ):
            return key, zh, en
    for rule in RULES:
        if folded in (spelling.casefold() for spelling in rule.names):
            return rule.key, rule.zh, rule.en
    return None


def names_in(text: str, names: tuple[str, ...]) -> bool:
    """Whether a title or a tag names the date (any of its names, in any case)."""
    folded = text.casefold()
    return any(name.casefold() in folded for name in names)
