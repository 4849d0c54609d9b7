"""The 抖音 KPI source against a fake open platform on 127.0.0.1: date_type, mapping, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.core.clock import FrozenClock
from bot.core.i18n import Translator
from bot.core.kpi_sources import SourceError
from bot.sources.douyin import DouyinSource
from tests.fake_kpi_sources import DOUYIN_OPEN_ID, DOUYIN_TOKEN, FakeDouyin, fake_douyin

CHINA = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=CHINA)
SUNDAY = date(2026, 11, 22)
ENDPOINTS = ["fans", "item", "like", "comment", "share"]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY)


@pytest.fixture
def douyin(clock: FrozenClock) -> Iterator[FakeDouyin]:
    with fake_douyin(clock) as fake:
        yield fake


def source(fake: FakeDouyin, clock: FrozenClock, **settings: object) -> DouyinSource:
    config: dict[str, object] = {"access_token": DOUYIN_TOKEN, "open_id": DOUYIN_OPEN_ID,
                                 "client_key": "awtest", "api_url": fake.url, **settings}  # fmt: skip
    return DouyinSource(config, clock=clock)


def test_a_week_is_one_call_per_endpoint_mapped_to_our_metrics(
    douyin: FakeDouyin, clock: FrozenClock
) -> None:
    douyin.days = {
        SUNDAY: {"new_fans": 120, "total_fans": 48210, "new_play": 35000, "new_issue": 2,
                 "total_issue": 310, "new_like": 2100, "new_comment": 180, "new_share": 95,
                 "profile_uv": 880},
        SUNDAY - timedelta(days=1): {"new_fans": 80, "total_fans": 48090, "new_play": 21000,
                                     "new_like": 1300, "new_comment": 70, "new_share": 40},
    }  # fmt: skip

    figures = source(douyin, clock).fetch_daily(SUNDAY - timedelta(days=6), SUNDAY)

    found = {(figure.day, figure.metric): figure.value for figure in figures}
    saturday = SUNDAY - timedelta(days=1)
    assert {key: value for key, value in found.items() if key[0] >= saturday} == {
        (SUNDAY, "new_followers"): 120,
        (SUNDAY, "followers"): 48210,
        (SUNDAY, "plays"): 35000,
        (SUNDAY, "likes"): 2100,
        (SUNDAY, "comments"): 180,
        (SUNDAY, "shares"): 95,
        (saturday, "new_followers"): 80,
        (saturday, "followers"): 48090,
        (saturday, "plays"): 21000,
        (saturday, "likes"): 1300,
        (saturday, "comments"): 70,
        (saturday, "shares"): 40,
    }  # fmt: skip  (profile visitors and published counts are none of our metrics)
    assert len(found) == 7 * 6  # every day of the week, six metrics each
    assert [path for path, _, _ in douyin.calls] == [f"/data/external/user/{e}/" for e in ENDPOINTS]
    assert douyin.date_types() == ["7"] * 5


@pytest.mark.parametrize(("days", "date_type"), [(1, "7"), (7, "7"), (8, "15"), (15, "15"),
                                                 (16, "30"), (30, "30")])  # fmt: skip
def test_the_smallest_date_type_that_covers_the_range(
    douyin: FakeDouyin, clock: FrozenClock, days: int, date_type: str
) -> None:
    figures = source(douyin, clock).fetch_daily(SUNDAY - timedelta(days=days - 1), SUNDAY)

    assert set(douyin.date_types()) == {date_type}
    assert len({figure.day for figure in figures}) == days


def test_a_backfill_of_40_days_gets_the_30_the_api_has(
    douyin: FakeDouyin, clock: FrozenClock
) -> None:
    reader = source(douyin, clock)

    figures = reader.fetch_daily(SUNDAY - timedelta(days=39), SUNDAY)

    assert reader.history_days == 30
    assert douyin.date_types() == ["30"] * 5  # one call per endpoint
    assert {figure.day for figure in figures} == {SUNDAY - timedelta(days=n) for n in range(30)}


def test_the_fake_refuses_other_date_types(douyin: FakeDouyin) -> None:
    answer = httpx.get(
        f"{douyin.url}/data/external/user/fans/",
        params={"open_id": DOUYIN_OPEN_ID, "date_type": 10},
        headers={"access-token": DOUYIN_TOKEN},
    ).json()
    assert answer["data"]["error_code"] == 28001007


@pytest.mark.parametrize(
    ("switch", "key", "retryable", "tomorrow"),
    [
        ("token_expired", "kpi_source.error.token_expired", False, False),
        ("quota_spent", "kpi_source.error.daily_quota", True, True),
        ("outage", "kpi_source.error.server_error", True, False),
    ],
)
def test_failures_say_what_to_do(
    douyin: FakeDouyin, clock: FrozenClock, switch: str, key: str, retryable: bool, tomorrow: bool
) -> None:
    setattr(douyin, switch, True)

    with pytest.raises(SourceError) as raised:
        source(douyin, clock).fetch_daily(SUNDAY, SUNDAY)

    error = raised.value
    assert (error.message_key, error.retryable, error.retry_tomorrow) == (key, retryable, tomorrow)
    for locale in ("zh-CN", "en"):
        Translator(locale)(error.message_key, **error.params)


def test_a_wrong_token_is_refused(douyin: FakeDouyin, clock: FrozenClock) -> None:
    with pytest.raises(SourceError) as raised:
        source(douyin, clock, access_token="act.other").fetch_daily(SUNDAY, SUNDAY)

    assert raised.value.code == 2190002
    assert raised.value.message_key == "kpi_source.error.token_expired"


def test_douyin_has_no_posts_and_check_reads_one_endpoint(
    douyin: FakeDouyin, clock: FrozenClock
) -> None:
    reader = source(douyin, clock)
    assert reader.fetch_posts(SUNDAY, SUNDAY) == []
    assert reader.check() == f"open_id {DOUYIN_OPEN_ID}"
    assert douyin.date_types() == ["7"]
