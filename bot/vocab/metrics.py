"""The one table of KPI metrics: canonical names, Chinese names, aliases and the column
headers of the WeChat Official Account backend export.

Chat commands, CSV imports and the weekly summary all resolve metric names here.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

from bot.vocab.errors import InputError
from bot.vocab.numbers import format_number

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    key: str
    english: str
    chinese: str
    aliases: tuple[str, ...] = ()
    cumulative: bool = False  # a level read at a point in time (followers), not a daily flow

    def name(self, locale: str) -> str:
        return self.chinese if locale == "zh-CN" else self.english


METRICS: tuple[Metric, ...] = (
    # 观看 is what Xiaohongshu calls a note being opened: the figure WeChat calls 阅读.
    Metric(
        "reads",
        "reads",
        "阅读",
        (
            "阅读量",
            "阅读数",
            "阅读次数",
            "read",
            "观看",
            "观看量",
            "观看数",
            "观看次数",
            "笔记阅读",
        ),
    ),
    Metric(
        "shares",
        "shares",
        "分享",
        ("转发", "分享次数", "转发次数", "分享数", "share", "分享量", "作品分享", "作品分享数"),
    ),
    Metric("conversions", "conversions", "转化", ("转化数", "conversion")),
    Metric(
        "new_followers",
        "new followers",
        "新增关注",
        ("新关注", "新关注人数", "新增粉丝", "涨粉", "涨粉数", "新增粉丝数"),
    ),
    Metric(
        "unfollows",
        "unfollows",
        "取关",
        ("取消关注", "取消关注人数", "掉粉", "unfollow", "取关粉丝", "取关粉丝量"),
    ),
    Metric(
        "followers",
        "followers",
        "关注",
        ("粉丝", "粉丝数", "关注数", "累积关注人数", "累计关注人数", "总粉丝量", "粉丝总量"),
        cumulative=True,
    ),
    Metric(
        "likes",
        "likes",
        "点赞",
        ("点赞数", "点赞次数", "赞", "like", "点赞量", "作品点赞", "作品点赞数"),
    ),
    Metric(
        "comments",
        "comments",
        "评论",
        ("评论数", "留言", "留言数", "comment", "评论量", "作品评论", "作品评论数"),
    ),
    Metric("favorites", "favorites", "收藏", ("收藏数", "收藏次数", "favorite", "saves", "收藏量")),
    Metric("views", "views", "浏览", ("浏览量", "曝光", "曝光量", "曝光数", "impressions")),
    Metric("plays", "plays", "播放", ("播放量", "播放次数", "play")),
    Metric("users", "users", "阅读人数", ("用户", "用户数", "reader")),
    Metric("purchases", "purchases", "购买", ("购买数", "订单", "订单数", "purchase")),
    Metric("revenue", "revenue", "收入", ("营收", "销售额", "gmv")),
)
METRIC_KEYS = tuple(metric.key for metric in METRICS)
BY_KEY = {metric.key: metric for metric in METRICS}

# Columns of the exports that are derived from others (new minus lost followers) and not
# stored; Douyin's exports call it 净增粉丝, 粉丝净增 or 粉丝增量.
DERIVED_HEADERS = frozenset({"净增关注人数", "净增关注", "净增粉丝", "粉丝净增", "粉丝增量"})
DATE_HEADERS = frozenset({"date", "day", "日期", "时间"})
PLATFORM_HEADERS = frozenset({"platform", "平台"})

_LOOKUP: dict[str, str] = {}
for _metric in METRICS:
    for _spelling in (_metric.key, _metric.english, _metric.chinese, *_metric.aliases):
        _LOOKUP.setdefault(_spelling.casefold().replace(" ", "_"), _metric.key)


def resolve_metric(text: str) -> str | None:
    """The metric key for a name, alias or export header; None when unknown."""
    return _LOOKUP.get(text.strip().casefold().replace(" ", "_"))


def metric_name(key: str, locale: str) -> str:
    metric = BY_KEY.get(key)
    return metric.name(locale) if metric else key


def is_cumulative(key: str) -> bool:
    return BY_KEY[key].cumulative if key in BY_KEY else False


# How people write a metric value: digits, optionally in comma groups of three, an optional
# decimal part, an optional unit. `_half_width` has already turned full-width digits, `，`,
# `．` and `－` into their ASCII forms.
_NUMBER = re.compile(
    r"(?P<digits>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<fraction>[0-9]+))?"
    r"\s*(?P<unit>万|w|k|千|亿)?",
    re.IGNORECASE,
)
# Digits, commas and points that fail `_NUMBER` only for where the commas are: `1,2`, `12,00`.
_MISGROUPED = re.compile(r"[0-9.,]*[0-9][0-9.,]*\s*(?:万|w|k|千|亿)?", re.IGNORECASE)
_MULTIPLIERS = {"万": 10_000, "w": 10_000, "k": 1_000, "千": 1_000, "亿": 100_000_000}
_MINUS_SIGNS = ("-", "\u2212")  # the hyphen-minus and the minus sign; `－` is made `-` first
# Full-width ASCII (U+FF01–FF5E: `１２`, `，`, `－`, `Ｋ`) as a Chinese keyboard types it, and
# the ideographic space. Not NFKC: that would also read `1²` as `12`, a guess.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Why a value was refused: catalogue keys with `value` (the text as written) as parameter,
# and `max` (written as replies write figures) for TOO_LARGE.
NOT_A_NUMBER = "value.error.not_a_number"
NOT_A_GROUP = "value.error.not_a_group"
NEGATIVE = "value.error.negative"
TOO_LARGE = "value.error.too_large"
VALUE_PROBLEMS = (NOT_A_NUMBER, NOT_A_GROUP, NEGATIVE, TOO_LARGE)
# The largest value kept: a thousand trillion (1000万亿) is beyond any count or amount a
# team has, and still exact as a float, so the sums, ratios and rounding of the reports
# stay finite (`9` typed 308 times is a float, and two of them add up to infinity).
MAX_VALUE = 10**15


_PLAIN = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,16})?")


def read_value(text: str) -> float:
    """A metric value as people write it, or `InputError` saying why it is not one.

    Read: `12000`, `12,000`, `12，000`, `1,234,567`, `12000.5`, `1.2万`, `1.2w`, `3.5k`,
    `3.5千`, `1.5亿`. Refused, each for its own reason (`NOT_A_NUMBER`, `NOT_A_GROUP`,
    `NEGATIVE`, `TOO_LARGE`), because storing a guess is worse than asking: a comma that is
    not a thousands group (`1,2` could be 1.2 or 12, so it is neither), a negative value
    (no count or amount we keep goes below zero), and one over `MAX_VALUE` (a slip of the
    keyboard, which would also break the reports' arithmetic). The arithmetic is decimal,
    so `1.2万` is exactly 12000 and not 12000.000000000002.
    """
    if _PLAIN.fullmatch(text):  # most values of a file: read as Decimal would, faster
        plain = float(text)
        if plain <= MAX_VALUE:
            return plain
    shown = text.strip()[:30]
    cleaned = text.translate(_HALF_WIDTH).strip()
    negative = cleaned.startswith(_MINUS_SIGNS)
    body = cleaned[1:].lstrip() if negative else cleaned
    match = _NUMBER.fullmatch(body)
    if match is None:
        problem = NOT_A_GROUP if "," in body and _MISGROUPED.fullmatch(body) else NOT_A_NUMBER
        raise InputError(problem, value=shown)
    digits = match.group("digits").replace(",", "")
    number = Decimal(f"{digits}.{match.group('fraction') or '0'}")
    unit = (match.group("unit") or "").casefold()
    value = float(number * _MULTIPLIERS.get(unit, 1))
    if not math.isfinite(value):
        raise InputError(NOT_A_NUMBER, value=shown)
    if negative and value != 0:
        raise InputError(NEGATIVE, value=shown)
    if value > MAX_VALUE:
        raise InputError(TOO_LARGE, value=shown, max=format_number(MAX_VALUE))
    return value


class _Valued(Protocol):
    value: float


Valued = TypeVar("Valued", bound=_Valued)


def reportable(rows: list[Valued]) -> list[Valued]:
    """The rows a report can add up: those within `MAX_VALUE`.

    A larger value (stored before the bot refused them, or written into the database by
    hand) would turn a sum into infinity, so reports leave it out and the log says how
    many; the rows stay in the database and in the export.
    """
    kept = [row for row in rows if row.value <= MAX_VALUE]
    if len(kept) < len(rows):
        log.warning("%d values over %s left out of a report", len(rows) - len(kept), MAX_VALUE)
    return kept


def parse_value(text: str) -> float | None:
    """`read_value`, for callers that only need to know whether it is a value: None if not."""
    try:
        return read_value(text)
    except InputError:
        return None
