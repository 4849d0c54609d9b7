"""The neutral KPI source interface: ranges, the platforms' day, the registry, the keys."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.core.clock import FrozenClock
from bot.core.i18n import CATALOGUES
from bot.core.kpi_sources import SourceError, clip_range, platform_yesterday, split_range
from bot.sources import SOURCES, build_source
from bot.vocab.errors import InputError
from bot.vocab.metrics import METRIC_KEYS

ROOT = Path(__file__).resolve().parents[1]


def test_a_range_is_cut_into_pieces_of_the_span() -> None:
    assert split_range(date(2026, 11, 1), date(2026, 11, 16), 7) == [
        (date(2026, 11, 1), date(2026, 11, 7)),
        (date(2026, 11, 8), date(2026, 11, 14)),
        (date(2026, 11, 15), date(2026, 11, 16)),
    ]
    assert split_range(date(2026, 11, 2), date(2026, 11, 1), 7) == []
    assert len(split_range(date(2026, 10, 14), date(2026, 11, 22), 7)) == 6


def test_a_range_is_clipped_to_what_the_platform_has() -> None:
    day = date(2026, 11, 22)
    assert clip_range(date(2026, 11, 20), date(2026, 11, 30), earliest=None, latest=day) == (
        date(2026, 11, 20),
        day,
    )
    assert clip_range(date(2026, 11, 23), date(2026, 11, 30), earliest=None, latest=day) is None


def test_yesterday_is_yesterday_in_china() -> None:
    # 00:30 on the 23rd in China is still the 22nd in UTC
    clock = FrozenClock(datetime(2026, 11, 22, 16, 30, tzinfo=UTC))
    assert platform_yesterday(clock) == date(2026, 11, 22)


def test_a_source_error_is_a_refusal_without_a_usage_line() -> None:
    error = SourceError("kpi_source.error.daily_quota", retryable=False, retry_tomorrow=True,
                        code=45009, source="wechat_mp")  # fmt: skip
    assert isinstance(error, InputError)
    assert not error.show_usage
    assert error.retryable  # a wait for tomorrow is a retry
    assert error.params == {"source": "wechat_mp", "code": 45009}


def test_the_registry_builds_each_kind_and_refuses_others() -> None:
    assert set(SOURCES) == {"wechat_mp", "bilibili", "douyin"}
    clock = FrozenClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    wechat = build_source("wechat_mp", {"app_id": "wx1", "app_secret": "s", "name": "main",
                                        "api_url": "http://127.0.0.1:9"}, clock=clock)  # fmt: skip
    assert (wechat.name, wechat.platform, wechat.max_days_per_request) == ("main", "wechat", 7)
    assert SOURCES["douyin"].required_settings == ("access_token", "open_id")

    with pytest.raises(SourceError) as raised:
        build_source("xiaohongshu", {}, clock=clock)
    assert raised.value.message_key == "kpi_source.error.unknown_kind"
    assert raised.value.params["known"] == "wechat_mp, bilibili, douyin"


def test_every_key_a_source_raises_is_in_both_catalogues() -> None:
    text = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "bot/sources").glob("*.py"))
    keys = set(re.findall(r'"(kpi_source\.error\.[a-z_]+)"', text))
    assert len(keys) >= 15
    for locale, catalogue in CATALOGUES.items():
        assert keys - set(catalogue) == set(), locale


def test_every_metric_a_source_names_is_ours() -> None:
    from bot.sources import bilibili, douyin, wechat_mp

    named = {*wechat_mp.CONTENT_METRICS.values(), *wechat_mp.USER_READ_METRICS.values(),
             *bilibili.INCREMENT_METRICS.values(), *bilibili.VIDEO_METRICS.values(),
             *(metric for fields in douyin.ENDPOINTS.values() for metric in fields.values()),
             "new_followers", "unfollows", "followers"}  # fmt: skip
    assert named <= set(METRIC_KEYS)
