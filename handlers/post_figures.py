"""What the posts' own figures say back: the best time to post, and each post's tier.

Both read the per-post figures (`post_metrics`: `/kpi post`, imports, the KPI sync) of
published posts, in the team's timezone.

**Best time.** A slot is a weekday and an hour (周三 20 点). A slot's figure is the
*median* of its posts' values — one viral post must not make an hour look good — and a
slot is ranked only with at least `MIN_PER_SLOT` posts (3: with two, the median is just
their mean, and one outlier still decides it). With fewer than `MIN_POSTS` posts with the
metric (10) on the platform over the `BEST_TIME_DAYS` looked at (180), the answer is
"too few to tell": three slots of three posts need nine at least, and a platform's first
few weeks say more about the topics than the hour.

**Tiers** (阅读量档位). A post's value is placed among the values of the platform's posts
published in the 90 days up to it (itself included): at or above the 80th percentile is
the top 20% (前 20%), below the 20th the bottom 20% (后 20%), the rest the middle. With
fewer than `MIN_FOR_TIERS` posts (5) in those 90 days there is no tier: a fifth of four
posts is not a tier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import median
from zoneinfo import ZoneInfo

from sqlmodel import Session

from storage import kpis as kpi_store
from storage import posts as post_store
from storage.posts import PostLine

BEST_TIME_DAYS = 180
MIN_POSTS = 10
MIN_PER_SLOT = 3
SLOTS_SHOWN = 3
TIER_DAYS = 90
MIN_FOR_TIERS = 5
TOP, BOTTOM = 0.8, 0.2


@dataclass(frozen=True)
class Slot:
    weekday: int  # Monday 0
    hour: int
    median: float
    posts: int


@dataclass(frozen=True)
class BestTime:
    platform: str
    metric: str
    posts: int  # with the metric, over the days looked at
    slots: list[Slot]  # every ranked slot, best first; empty when too few to tell

    @property
    def too_few(self) -> bool:
        return self.posts < MIN_POSTS or not self.slots

    @property
    def top(self) -> list[Slot]:
        return self.slots[:SLOTS_SHOWN]


class Tier(StrEnum):
    TOP = "top"
    MIDDLE = "middle"
    BOTTOM = "bottom"


def metric_value(metrics: dict[str, float], metric: str) -> float | None:
    """The post's value of `metric`; for reads, its readers where the platform counts
    only those (公众号's per-article totals)."""
    if metric in metrics:
        return metrics[metric]
    return metrics.get("users") if metric == "reads" else None


def published_with(
    session: Session, *, team_id: str, start: datetime, end: datetime
) -> list[tuple[PostLine, dict[str, float]]]:
    """The posts published in [start, end) that have figures, with them."""
    posts = post_store.posts_published_between(session, team_id=team_id, start=start, end=end)
    figures = kpi_store.post_metrics(session, post_ids=[post.id for post in posts if post.id])
    return [(post, figures[post.id]) for post in posts if post.id in figures]


def best_time(
    posts: list[tuple[PostLine, dict[str, float]]], *, platform: str, metric: str, zone: ZoneInfo
) -> BestTime:
    """The slots with the best median `metric` of the platform's posts (see the module)."""
    by_slot: dict[tuple[int, int], list[float]] = defaultdict(list)
    counted = 0
    for post, metrics in posts:
        value = metric_value(metrics, metric)
        if post.platform != platform or value is None or post.published_at is None:
            continue
        local = post.published_at.astimezone(zone)
        by_slot[(local.weekday(), local.hour)].append(value)
        counted += 1
    if counted < MIN_POSTS:
        return BestTime(platform, metric, counted, [])
    slots = [
        Slot(weekday, hour, median(values), len(values))
        for (weekday, hour), values in by_slot.items()
        if len(values) >= MIN_PER_SLOT
    ]
    slots.sort(key=lambda slot: (-slot.median, -slot.posts, slot.weekday, slot.hour))
    return BestTime(platform, metric, counted, slots)


def best_slot_on(best: BestTime, weekday: int) -> Slot | None:
    """The best ranked slot on one weekday (for a post planned on a day with no time)."""
    return next((slot for slot in best.slots if slot.weekday == weekday), None)


def tier(value: float, others: list[float]) -> Tier | None:
    """Where `value` stands among `others` (its platform's last 90 days, itself included)."""
    if len(others) < MIN_FOR_TIERS:
        return None
    below = sum(1 for other in others if other < value) / len(others)
    if below >= TOP:
        return Tier.TOP
    if below < BOTTOM:
        return Tier.BOTTOM
    return Tier.MIDDLE


def tiers(
    session: Session, *, team_id: str, posts: Sequence[PostLine], metric: str = "reads"
) -> dict[int, Tier]:
    """The tier of each of `posts` that has the metric, against its platform's posts of
    the 90 days up to its publishing (one joined read of those days' figures)."""
    dated = [post for post in posts if post.published_at is not None and post.id is not None]
    if not dated:
        return {}
    stamps = [post.published_at for post in dated if post.published_at is not None]
    wanted = (metric, "users") if metric == "reads" else (metric,)
    rows = kpi_store.published_figures(
        session, team_id=team_id, start=min(stamps) - timedelta(days=TIER_DAYS),
        end=max(stamps) + timedelta(seconds=1), metrics=wanted,
    )  # fmt: skip
    by_post: dict[int, tuple[str, datetime, dict[str, float]]] = {}
    for post_id, platform, published_at, name, number in rows:
        by_post.setdefault(post_id, (platform, published_at, {}))[2][name] = number
    history = [
        (platform, published_at, figure)
        for platform, published_at, figures in by_post.values()
        if (figure := metric_value(figures, metric)) is not None
    ]
    found: dict[int, Tier] = {}
    for post in dated:
        assert post.published_at is not None and post.id is not None
        own = by_post.get(post.id)
        value = metric_value(own[2], metric) if own is not None else None
        if value is None:
            continue
        window_start = post.published_at - timedelta(days=TIER_DAYS)
        values = [
            other for platform, published_at, other in history
            if platform == post.platform and window_start <= published_at <= post.published_at
        ]  # fmt: skip
        placed = tier(value, values)
        if placed is not None:
            found[post.id] = placed
    return found
