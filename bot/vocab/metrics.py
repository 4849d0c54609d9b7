"""The one table of KPI metrics: canonical names, Chinese names, aliases and the column
headers of the WeChat Official Account backend export.

Chat commands, CSV imports and the weekly summary all resolve metric names here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


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
    Metric("reads", "reads", "阅读", ("阅读量", "阅读数", "阅读次数", "read")),
    Metric("shares", "shares", "分享", ("转发", "分享次数", "转发次数", "分享数", "share")),
    Metric("conversions", "conversions", "转化", ("转化数", "conversion")),
    Metric(
        "new_followers", "new followers", "新增关注", ("新关注", "新关注人数", "新增粉丝", "涨粉")
    ),
    Metric("unfollows", "unfollows", "取关", ("取消关注", "取消关注人数", "掉粉", "unfollow")),
    Metric(
        "followers",
        "followers",
        "关注",
        ("粉丝", "粉丝数", "关注数", "累积关注人数", "累计关注人数"),
        cumulative=True,
    ),
    Metric("likes", "likes", "点赞", ("点赞数", "点赞次数", "赞", "like")),
    Metric("comments", "comments", "评论", ("评论数", "留言", "留言数", "comment")),
    Metric("favorites", "favorites", "收藏", ("收藏数", "收藏次数", "favorite", "saves")),
    Metric("views", "views", "浏览", ("浏览量", "曝光", "曝光量", "impressions")),
    Metric("plays", "plays", "播放", ("播放量", "播放次数", "play")),
    Metric("users", "users", "阅读人数", ("用户", "用户数", "reader")),
    Metric("purchases", "purchases", "购买", ("购买数", "订单", "订单数", "purchase")),
    Metric("revenue", "revenue", "收入", ("营收", "销售额", "gmv")),
)
METRIC_KEYS = tuple(metric.key for metric in METRICS)
BY_KEY = {metric.key: metric for metric in METRICS}

# Columns of the WeChat backend export that are derived from others and not stored.
DERIVED_HEADERS = frozenset({"净增关注人数", "净增关注", "净增粉丝"})
DATE_HEADERS = frozenset({"date", "day", "日期", "时间"})
PLATFORM_HEADERS = frozenset({"platform", "平台"})

_LOOKUP: dict[str, str] = {}
for _metric in METRICS:
    for _spelling in (_metric.key, _metric.english, _metric.chinese, *_metric.aliases):
        _LOOKUP.setdefault(_spelling.casefold().replace(" ", "_"), _metric.key)

_NUMBER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(万|w|k|千)?$", re.IGNORECASE)
_MULTIPLIERS = {"万": 10_000, "w": 10_000, "k": 1_000, "千": 1_000}


def resolve_metric(text: str) -> str | None:
    """The metric key for a name, alias or export header; None when unknown."""
    return _LOOKUP.get(text.strip().casefold().replace(" ", "_"))


def metric_name(key: str, locale: str) -> str:
    metric = BY_KEY.get(key)
    return metric.name(locale) if metric else key


def is_cumulative(key: str) -> bool:
    return BY_KEY[key].cumulative if key in BY_KEY else False


def parse_value(text: str) -> float | None:
    """A metric value as people write it: `12000`, `12,000`, `1.2万`, `3.5k`; None if not one."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    match = _NUMBER.match(cleaned)
    if not match:
        return None
    value = float(match.group(1)) * _MULTIPLIERS.get((match.group(2) or "").casefold(), 1)
    return value if math.isfinite(value) else None
