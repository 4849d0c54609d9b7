"""The B站 KPI source against a fake open platform on 127.0.0.1 that checks every signature."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from bot.core.clock import FrozenClock
from bot.core.i18n import Translator
from bot.core.kpi_sources import DailyFigure, PostFigure, SourceError
from bot.sources.bilibili import BilibiliSource
from tests.fake_kpi_sources import (
    BILIBILI_CLIENT_ID,
    BILIBILI_SECRET,
    BILIBILI_TOKEN,
    FakeBilibili,
    fake_bilibili,
)

CHINA = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=CHINA)
SUNDAY = date(2026, 11, 22)


def at(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=CHINA).timestamp())


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY)


@pytest.fixture
def bilibili(clock: FrozenClock) -> Iterator[FakeBilibili]:
    with fake_bilibili(clock) as fake:
        yield fake
        assert fake.violations == []


def source(fake: FakeBilibili, clock: FrozenClock, **settings: object) -> BilibiliSource:
    config: dict[str, object] = {"client_id": BILIBILI_CLIENT_ID, "client_secret": BILIBILI_SECRET,
                                 "access_token": BILIBILI_TOKEN, "api_url": fake.url, **settings}  # fmt: skip
    return BilibiliSource(config, clock=clock)


def test_yesterday_is_the_followers_and_the_increments_mapped_to_our_metrics(
    bilibili: FakeBilibili, clock: FrozenClock
) -> None:
    bilibili.follower = 5321
    bilibili.increments = {"inc_click": 1200, "inc_like": 85, "inc_fav": 23, "inc_coin": 9,
                           "inc_share": 14, "inc_reply": 31, "inc_dm": 40, "inc_elec": 0}  # fmt: skip

    figures = source(bilibili, clock).fetch_daily(date(2026, 11, 16), SUNDAY)

    assert sorted(figures, key=lambda figure: figure.metric) == [
        DailyFigure("bilibili", SUNDAY, "comments", 31),
        DailyFigure("bilibili", SUNDAY, "favorites", 23),
        DailyFigure("bilibili", SUNDAY, "followers", 5321),
        DailyFigure("bilibili", SUNDAY, "likes", 85),
        DailyFigure("bilibili", SUNDAY, "plays", 1200),
        DailyFigure("bilibili", SUNDAY, "shares", 14),
    ]  # coins, danmaku and charging are none of our metrics
    assert bilibili.paths() == ["/arcopen/fn/data/user/stat", "/arcopen/fn/data/arc/inc-stats"]


def test_days_the_api_no_longer_has_are_not_asked_for(
    bilibili: FakeBilibili, clock: FrozenClock
) -> None:
    reader = source(bilibili, clock)
    assert reader.history_days == 1

    assert reader.fetch_daily(date(2026, 11, 1), date(2026, 11, 21)) == []
    assert bilibili.calls == []


def test_posts_are_the_videos_published_in_the_range_with_their_totals(
    bilibili: FakeBilibili, clock: FrozenClock
) -> None:
    bilibili.videos = [
        {"resource_id": "BV1MW421X7gM", "title": "开箱", "ptime": at(date(2026, 11, 21), 20),
         "stat": {"view": 15000, "danmaku": 300, "reply": 120, "favorite": 800, "coin": 650,
                  "share": 95, "like": 2100}},
        {"resource_id": "BV1old", "title": "旧视频", "ptime": at(date(2026, 10, 1), 12),
         "stat": {"view": 1, "danmaku": 0, "reply": 0, "favorite": 0, "coin": 0, "share": 0,
                  "like": 0}},
        {"resource_id": "BV1late", "title": "周日深夜", "ptime": at(date(2026, 11, 22), 23),
         "stat": {"view": 400, "danmaku": 2, "reply": 7, "favorite": 11, "coin": 3,
                  "share": 4, "like": 60}},
    ]  # fmt: skip
    reader = source(bilibili, clock)
    reader.page_size = 2  # the three videos take two pages

    posts = reader.fetch_posts(date(2026, 11, 16), SUNDAY)

    first = partial(PostFigure, "bilibili", "BV1MW421X7gM", "开箱", date(2026, 11, 21))
    late = partial(PostFigure, "bilibili", "BV1late", "周日深夜", SUNDAY)
    assert posts == [
        first("plays", 15000), first("likes", 2100), first("favorites", 800),
        first("shares", 95), first("comments", 120),
        late("plays", 400), late("likes", 60), late("favorites", 11), late("shares", 4),
        late("comments", 7),
    ]  # fmt: skip
    pages = [params["pn"] for path, params, _ in bilibili.calls if path.endswith("viewlist")]
    assert pages == ["1", "2"]
    stats = [
        params["resource_id"] for path, params, _ in bilibili.calls if path.endswith("arc/stat")
    ]
    assert stats == ["BV1MW421X7gM", "BV1late"]  # not the old video


def test_an_expired_token_needs_a_new_authorization(
    bilibili: FakeBilibili, clock: FrozenClock
) -> None:
    bilibili.token_expired = True

    with pytest.raises(SourceError) as raised:
        source(bilibili, clock).fetch_daily(SUNDAY, SUNDAY)

    error = raised.value
    assert error.message_key == "kpi_source.error.token_expired"
    assert (error.code, error.params["setting"]) == (127001, "access_token")
    assert not error.retryable
    assert "access_token" in Translator("en")(error.message_key, **error.params)
    Translator("zh-CN")(error.message_key, **error.params)


def test_a_wrong_secret_is_a_refused_signature(bilibili: FakeBilibili, clock: FrozenClock) -> None:
    with pytest.raises(SourceError) as raised:
        source(bilibili, clock, client_secret="not-the-secret").fetch_daily(SUNDAY, SUNDAY)

    assert raised.value.message_key == "kpi_source.error.app_credentials"
    assert not raised.value.retryable
    assert bilibili.violations == ["the signature is not the secret's"]
    bilibili.violations.clear()


def test_a_spent_quota_waits_for_tomorrow(bilibili: FakeBilibili, clock: FrozenClock) -> None:
    bilibili.quota_spent = True

    with pytest.raises(SourceError) as raised:
        source(bilibili, clock).fetch_daily(SUNDAY, SUNDAY)

    assert raised.value.message_key == "kpi_source.error.daily_quota"
    assert raised.value.retry_tomorrow and raised.value.retryable


def test_an_outage_is_retried(bilibili: FakeBilibili, clock: FrozenClock) -> None:
    bilibili.outage = True

    with pytest.raises(SourceError) as raised:
        source(bilibili, clock).fetch_daily(SUNDAY, SUNDAY)

    assert raised.value.message_key == "kpi_source.error.server_error"
    assert raised.value.retryable


def test_every_request_is_signed_anew(bilibili: FakeBilibili, clock: FrozenClock) -> None:
    """The fake refuses a reused nonce or a stale timestamp: many calls in one second pass."""
    reader = source(bilibili, clock)
    for _ in range(3):
        reader.fetch_daily(SUNDAY, SUNDAY)
    assert len(bilibili.nonces) == 6
    assert reader.check() == f"client_id {BILIBILI_CLIENT_ID}"
