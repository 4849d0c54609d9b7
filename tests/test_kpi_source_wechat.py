"""The 公众号 KPI source against a fake datacube on 127.0.0.1: figures, ranges, tokens, errors.

It is Monday 2026-11-23, 09:00 in China: the platform has figures up to Sunday.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.core.clock import FrozenClock
from bot.core.i18n import Translator
from bot.core.kpi_sources import DailyFigure, PostFigure, SourceError
from bot.sources.wechat_mp import WechatMpSource
from tests.fake_kpi_sources import WECHAT_APP_ID, WECHAT_SECRET, FakeWechat, fake_wechat

CHINA = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=CHINA)
WEEK = [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]  # Mon 16 … Sun 22


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY)


@pytest.fixture
def wechat(clock: FrozenClock) -> Iterator[FakeWechat]:
    with fake_wechat(clock) as fake:
        yield fake


def source(fake: FakeWechat, clock: FrozenClock, **settings: object) -> WechatMpSource:
    config: dict[str, object] = {"app_id": WECHAT_APP_ID, "app_secret": WECHAT_SECRET,
                                 "api_url": fake.url, **settings}  # fmt: skip
    return WechatMpSource(config, clock=clock)


def values(figures: list[DailyFigure]) -> dict[tuple[date, str], float]:
    found = {(figure.day, figure.metric): figure.value for figure in figures}
    assert len(found) == len(figures), "a day's metric came twice"
    assert {figure.platform for figure in figures} <= {"wechat"}
    return found


def say(error: SourceError) -> tuple[str, str]:
    """The error in both languages: its parameters fill the texts."""
    return (
        Translator("zh-CN")(error.message_key, **error.params),
        Translator("en")(error.message_key, **error.params),
    )


def a_week_of_figures(fake: FakeWechat) -> None:
    """Several user_source rows a day (none at all on Thursday), as WeChat answers."""
    d = WEEK
    fake.user_summary = {
        d[0]: [(0, 3, 1), (1, 10, 2), (30, 20, 0)],
        d[1]: [(1, 8, 1), (30, 12, 4)],
        d[2]: [(0, 1, 0), (1, 5, 0), (17, 2, 1), (30, 9, 2)],
        d[4]: [(30, 40, 6)],
        d[5]: [(1, 7, 3), (30, 11, 1), (161, 4, 0)],
        d[6]: [(0, 2, 2), (30, 15, 1)],
    }
    fake.user_cumulate = dict(
        zip(d, [10030, 10045, 10059, 10059, 10093, 10111, 10125], strict=True)
    )
    content = [(1200, 80, 30, 5, 12), (900, 60, 20, 3, 9), (2100, 150, 55, 11, 30),
               (700, 40, 10, 1, 4), (1500, 95, 42, 7, 18), (400, 20, 6, 0, 2),
               (300, 15, 4, 2, 1)]  # fmt: skip
    fake.biz_summary = {
        day: {"read_user": read, "share_user": share, "like_user": like, "comment_count": comment,
              "collection_user": saved, "zaikan_user": 3, "redirect_ori_page_user": 7,
              "send_page_count": 1,
              "read_user_source": [{"user_count": read, "scene_desc": "全部"}]}
        for day, (read, share, like, comment, saved) in zip(d, content, strict=True)
    }  # fmt: skip


def test_a_week_gives_the_figures_worked_out_by_hand(
    wechat: FakeWechat, clock: FrozenClock
) -> None:
    a_week_of_figures(wechat)

    figures = values(source(wechat, clock).fetch_daily(WEEK[0], WEEK[-1]))

    d = WEEK
    assert figures == {
        # new_followers: the day's user_source rows added up; unfollows likewise
        (d[0], "new_followers"): 33, (d[0], "unfollows"): 3, (d[0], "followers"): 10030,
        (d[1], "new_followers"): 20, (d[1], "unfollows"): 5, (d[1], "followers"): 10045,
        (d[2], "new_followers"): 17, (d[2], "unfollows"): 3, (d[2], "followers"): 10059,
        (d[3], "new_followers"): 0, (d[3], "unfollows"): 0, (d[3], "followers"): 10059,
        (d[4], "new_followers"): 40, (d[4], "unfollows"): 6, (d[4], "followers"): 10093,
        (d[5], "new_followers"): 22, (d[5], "unfollows"): 4, (d[5], "followers"): 10111,
        (d[6], "new_followers"): 17, (d[6], "unfollows"): 3, (d[6], "followers"): 10125,
        (d[0], "users"): 1200, (d[0], "shares"): 80, (d[0], "likes"): 30, (d[0], "comments"): 5, (d[0], "favorites"): 12,
        (d[1], "users"): 900, (d[1], "shares"): 60, (d[1], "likes"): 20, (d[1], "comments"): 3, (d[1], "favorites"): 9,
        (d[2], "users"): 2100, (d[2], "shares"): 150, (d[2], "likes"): 55, (d[2], "comments"): 11, (d[2], "favorites"): 30,
        (d[3], "users"): 700, (d[3], "shares"): 40, (d[3], "likes"): 10, (d[3], "comments"): 1, (d[3], "favorites"): 4,
        (d[4], "users"): 1500, (d[4], "shares"): 95, (d[4], "likes"): 42, (d[4], "comments"): 7, (d[4], "favorites"): 18,
        (d[5], "users"): 400, (d[5], "shares"): 20, (d[5], "likes"): 6, (d[5], "comments"): 0, (d[5], "favorites"): 2,
        (d[6], "users"): 300, (d[6], "shares"): 15, (d[6], "likes"): 4, (d[6], "comments"): 2, (d[6], "favorites"): 1,
    }  # fmt: skip
    week = {metric: sum(v for (_, m), v in figures.items() if m == metric)
            for metric in ("new_followers", "unfollows", "users", "shares")}  # fmt: skip
    assert week == {"new_followers": 149, "unfollows": 24, "users": 7100, "shares": 460}
    # One token, and one call per endpoint: a week fits every span.
    assert len(wechat.token_requests()) == 1
    for endpoint in ("getusersummary", "getusercumulate", "getbizsummary"):
        assert wechat.ranges(endpoint) == [(WEEK[0], WEEK[-1])]
        assert wechat.answered(endpoint) == [0]


def test_a_backfill_of_40_days_splits_each_endpoint_by_its_span(
    wechat: FakeWechat, clock: FrozenClock
) -> None:
    start, end = date(2026, 10, 14), date(2026, 11, 22)
    assert (end - start).days + 1 == 40

    source(wechat, clock).fetch_daily(start, end)

    weeks = [(date(2026, 10, 14), date(2026, 10, 20)), (date(2026, 10, 21), date(2026, 10, 27)),
             (date(2026, 10, 28), date(2026, 11, 3)), (date(2026, 11, 4), date(2026, 11, 10)),
             (date(2026, 11, 11), date(2026, 11, 17)), (date(2026, 11, 18), date(2026, 11, 22))]  # fmt: skip
    assert wechat.ranges("getusersummary") == weeks  # 7 days a call: 6 calls
    assert wechat.ranges("getusercumulate") == weeks
    assert wechat.ranges("getbizsummary") == [  # 30 days a call: 2 calls
        (date(2026, 10, 14), date(2026, 11, 12)),
        (date(2026, 11, 13), date(2026, 11, 22)),
    ]
    assert wechat.ranges("getuserread") == []  # nothing before 2025-11-01
    assert {code for path, _, _, code in wechat.calls} == {0}  # the fake refused nothing
    assert len(wechat.token_requests()) == 1


def test_the_fake_refuses_a_range_longer_than_the_span(wechat: FakeWechat) -> None:
    """A guard for the guard: an 8-day getusersummary is an error, as on WeChat."""
    token = httpx.post(f"{wechat.url}/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": WECHAT_APP_ID, "secret": WECHAT_SECRET,
    }).json()["access_token"]  # fmt: skip
    answer = httpx.post(
        f"{wechat.url}/datacube/getusersummary", params={"access_token": token},
        json={"begin_date": "2026-11-15", "end_date": "2026-11-22"},
    ).json()  # fmt: skip
    assert answer["errcode"] == 61501
    today = httpx.post(
        f"{wechat.url}/datacube/getusercumulate", params={"access_token": token},
        json={"begin_date": "2026-11-23", "end_date": "2026-11-23"},
    ).json()  # fmt: skip
    assert today["errcode"] == 61501  # end_date 最大值为昨日


def test_days_after_yesterday_are_not_asked_for(wechat: FakeWechat, clock: FrozenClock) -> None:
    reader = source(wechat, clock)
    reader.fetch_daily(date(2026, 11, 20), date(2026, 11, 30))
    assert wechat.ranges("getusersummary") == [(date(2026, 11, 20), date(2026, 11, 22))]

    wechat.calls.clear()
    assert reader.fetch_daily(date(2026, 11, 23), date(2026, 11, 30)) == []
    assert wechat.calls == []  # not even a token


def test_days_before_the_new_content_api_come_from_the_old_one(wechat: FakeWechat) -> None:
    clock = FrozenClock(datetime(2025, 11, 6, 9, 0, tzinfo=CHINA))
    wechat.clock = clock
    day = date(2025, 10, 30)
    wechat.user_read = {day: [
        {"user_source": 99999999, "int_page_read_user": 500, "int_page_read_count": 800,
         "ori_page_read_user": 3, "ori_page_read_count": 4, "share_user": 30,
         "share_count": 45, "add_to_fav_user": 9, "add_to_fav_count": 10},
        {"user_source": 0, "int_page_read_user": 300, "int_page_read_count": 450,
         "share_user": 20, "share_count": 25},
        {"user_source": 2, "int_page_read_user": 200, "int_page_read_count": 350,
         "share_user": 10, "share_count": 20},
    ]}  # fmt: skip
    wechat.biz_summary = {date(2025, 11, 3): {"read_user": 640, "share_user": 33}}

    figures = values(source(wechat, clock).fetch_daily(date(2025, 10, 27), date(2025, 11, 5)))

    # the row for all channels (99999999), not the channels added to it
    assert {metric: figures[(day, metric)] for metric in ("reads", "users", "shares", "favorites")} == {
        "reads": 800, "users": 500, "shares": 45, "favorites": 10,
    }  # fmt: skip
    assert figures[(date(2025, 11, 3), "users")] == 640
    assert wechat.ranges("getuserread") == [
        (date(2025, 10, 27), date(2025, 10, 29)),  # 3 days a call
        (date(2025, 10, 30), date(2025, 10, 31)),
    ]
    assert wechat.ranges("getbizsummary") == [(date(2025, 11, 1), date(2025, 11, 5))]


def test_the_old_api_offline_leaves_reads_out_and_is_asked_once(wechat: FakeWechat) -> None:
    clock = FrozenClock(datetime(2025, 11, 6, 9, 0, tzinfo=CHINA))
    wechat.clock = clock
    wechat.old_api_offline = True
    wechat.user_cumulate = {date(2025, 10, 20): 900}

    figures = values(source(wechat, clock).fetch_daily(date(2025, 10, 1), date(2025, 11, 5)))

    assert wechat.answered("getuserread") == [47009]
    assert not [key for key in figures if key[1] == "reads"]
    assert figures[(date(2025, 10, 20), "followers")] == 900


def test_posts_get_their_latest_totals(wechat: FakeWechat, clock: FrozenClock) -> None:
    wechat.articles = {date(2026, 11, 20): [
        {"msgid": "2247490098_1", "title": "双十一复盘", "publish_type": 0,
         "content_url": "https://mp.weixin.qq.com/s?__biz=B&mid=2247490098&idx=1",
         "detail_list": [
             {"stat_date": "2026-11-20", "read_user": 3000, "share_user": 100, "like_user": 40,
              "comment_count": 9, "collection_user": 20, "zaikan_user": 5},
             {"stat_date": "2026-11-22", "read_user": 4123, "share_user": 366, "like_user": 386,
              "comment_count": 33, "collection_user": 233, "zaikan_user": 191,
              "read_subscribe_user": 327, "praise_money": 361},
             {"stat_date": "2026-11-21", "read_user": 3900, "share_user": 300, "like_user": 300,
              "comment_count": 30, "collection_user": 200},
         ]},
        {"msgid": "2247490098_2", "title": "次条", "publish_type": 0, "detail_list": []},
    ]}  # fmt: skip

    posts = source(wechat, clock).fetch_posts(date(2026, 11, 20), date(2026, 11, 21))

    post = partial(PostFigure, "wechat", "2247490098_1", "双十一复盘", date(2026, 11, 20))
    assert posts == [
        post("users", 4123),
        post("shares", 366),
        post("likes", 386),
        post("comments", 33),
        post("favorites", 233),
    ]
    assert wechat.ranges("getarticletotaldetail") == [
        (date(2026, 11, 20), date(2026, 11, 20)),  # one publish day a call
        (date(2026, 11, 21), date(2026, 11, 21)),
    ]


def test_a_token_near_its_end_is_renewed_before_it_is_refused(
    wechat: FakeWechat, clock: FrozenClock
) -> None:
    reader = source(wechat, clock)
    reader.fetch_daily(WEEK[6], WEEK[6])
    clock.advance(timedelta(seconds=7200 - 100))  # the token has 100 s left

    reader.fetch_daily(WEEK[6], WEEK[6])

    assert len(wechat.token_requests()) == 2
    assert set(wechat.answered("getusersummary")) == {0}
    clock.advance(timedelta(hours=1))
    reader.fetch_daily(WEEK[6], WEEK[6])
    assert len(wechat.token_requests()) == 2  # the cached one still serves


def test_an_expired_token_is_fetched_again_once(wechat: FakeWechat, clock: FrozenClock) -> None:
    a_week_of_figures(wechat)
    reader = source(wechat, clock)
    reader.fetch_daily(WEEK[0], WEEK[0])
    wechat.expire_tokens()  # WeChat ends it early

    figures = values(reader.fetch_daily(WEEK[1], WEEK[1]))

    assert figures[(WEEK[1], "followers")] == 10045
    assert wechat.answered("getusersummary") == [0, 42001, 0]
    assert [body["force_refresh"] for body in wechat.token_requests()] == [False, False]


def test_a_refused_token_that_comes_back_the_same_is_replaced_by_force(
    wechat: FakeWechat, clock: FrozenClock
) -> None:
    reader = source(wechat, clock)
    reader.fetch_daily(WEEK[0], WEEK[0])
    wechat.refused = {"wx-token-1"}  # WeChat says invalid, yet normal mode hands it back

    reader.fetch_daily(WEEK[1], WEEK[1])

    assert [body["force_refresh"] for body in wechat.token_requests()] == [False, False, True]
    assert wechat.answered("getusersummary") == [0, 40001, 0]


def test_a_token_refused_again_after_the_refresh_is_an_error(
    wechat: FakeWechat, clock: FrozenClock
) -> None:
    wechat.refuse_every_token = True

    with pytest.raises(SourceError) as raised:
        source(wechat, clock).fetch_daily(WEEK[0], WEEK[0])

    assert raised.value.message_key == "kpi_source.error.wechat_token_refused"
    assert raised.value.retryable and not raised.value.retry_tomorrow
    assert wechat.answered("getusersummary") == [40001, 40001]  # one refresh, one retry
    say(raised.value)


def test_a_server_off_the_whitelist_is_told_where_to_add_its_ip(
    wechat: FakeWechat, clock: FrozenClock
) -> None:
    wechat.ip_whitelisted = False

    with pytest.raises(SourceError) as raised:
        source(wechat, clock).fetch_daily(WEEK[0], WEEK[-1])

    error = raised.value
    assert error.message_key == "kpi_source.error.wechat_ip_whitelist"
    assert error.params["ip"] == "127.0.0.1"
    assert error.code == 40164
    assert not error.retryable and not error.retry_tomorrow
    chinese, english = say(error)
    assert "公众号后台 → 设置与开发 → 基本配置 → IP白名单" in chinese
    assert "127.0.0.1" in chinese and "127.0.0.1" in english
    assert "IP whitelist" in english


def test_a_spent_daily_quota_waits_for_tomorrow(wechat: FakeWechat, clock: FrozenClock) -> None:
    wechat.quota_left = 0

    with pytest.raises(SourceError) as raised:
        source(wechat, clock).fetch_daily(WEEK[0], WEEK[-1])

    error = raised.value
    assert error.message_key == "kpi_source.error.daily_quota"
    assert error.code == 45009
    assert error.retryable and error.retry_tomorrow
    say(error)


def test_what_came_before_the_quota_ran_out_is_kept(wechat: FakeWechat, clock: FrozenClock) -> None:
    before = [day - timedelta(days=7) for day in WEEK]
    wechat.user_summary = {day: [(30, 2, 1)] for day in before}
    wechat.user_cumulate = {day: 9993 + n for n, day in enumerate(before, start=1)}
    wechat.quota_left = 3  # the token, then the first week's getusersummary and getusercumulate

    with pytest.raises(SourceError) as raised:
        source(wechat, clock).fetch_daily(before[0], WEEK[-1])

    error = raised.value
    assert error.retry_tomorrow
    assert wechat.answered("getusersummary") == [0, 45009]
    assert values(error.figures) == {
        **{(day, "new_followers"): 2 for day in before},
        **{(day, "unfollows"): 1 for day in before},
        **{(day, "followers"): 9993 + n for n, day in enumerate(before, start=1)},
    }


def test_figures_of_the_followers_survive_a_failure_of_the_content(
    wechat: FakeWechat, clock: FrozenClock
) -> None:
    a_week_of_figures(wechat)
    wechat.delayed = {WEEK[6]}  # getbizsummary: is_delay, the figures are not final yet

    with pytest.raises(SourceError) as raised:
        source(wechat, clock).fetch_daily(WEEK[0], WEEK[-1])

    error = raised.value
    assert error.message_key == "kpi_source.error.not_ready"
    assert error.retryable and not error.retry_tomorrow
    assert values(error.figures)[(WEEK[6], "followers")] == 10125
    assert len(error.figures) == 21  # 7 days × new_followers, unfollows, followers
    say(error)


def test_calls_too_fast_are_tried_again_soon(wechat: FakeWechat, clock: FrozenClock) -> None:
    wechat.minute_quota_spent = True

    with pytest.raises(SourceError) as raised:
        source(wechat, clock).fetch_daily(WEEK[0], WEEK[-1])

    assert raised.value.message_key == "kpi_source.error.minute_quota"
    assert raised.value.retryable and not raised.value.retry_tomorrow
    say(raised.value)


def test_an_outage_is_retried(wechat: FakeWechat, clock: FrozenClock) -> None:
    wechat.outage = True

    with pytest.raises(SourceError) as raised:
        source(wechat, clock).fetch_daily(WEEK[0], WEEK[-1])

    assert raised.value.message_key == "kpi_source.error.server_error"
    assert raised.value.params["status"] == 502
    assert raised.value.retryable
    say(raised.value)


def test_an_unreachable_platform_is_retried(clock: FrozenClock) -> None:
    with fake_wechat(clock) as gone:
        url = gone.url  # a port on 127.0.0.1 that nobody listens on any more
    reader = WechatMpSource(
        {"app_id": WECHAT_APP_ID, "app_secret": WECHAT_SECRET, "api_url": url}, clock=clock
    )

    with pytest.raises(SourceError) as raised:
        reader.fetch_daily(WEEK[0], WEEK[-1])

    assert raised.value.message_key == "kpi_source.error.unreachable"
    assert raised.value.retryable
    assert WECHAT_SECRET not in str(raised.value.params)
    say(raised.value)


def test_a_wrong_secret_needs_a_person(wechat: FakeWechat, clock: FrozenClock) -> None:
    with pytest.raises(SourceError) as raised:
        source(wechat, clock, app_secret="not-the-secret").fetch_daily(WEEK[0], WEEK[-1])

    assert raised.value.message_key == "kpi_source.error.wechat_credentials"
    assert not raised.value.retryable
    chinese, _ = say(raised.value)
    assert "设置与开发 → 基本配置" in chinese


def test_a_missing_setting_is_named(clock: FrozenClock) -> None:
    with pytest.raises(SourceError) as raised:
        WechatMpSource({"app_id": WECHAT_APP_ID, "app_secret": " "}, clock=clock)

    assert raised.value.message_key == "kpi_source.error.missing_setting"
    assert raised.value.params == {"source": "wechat_mp", "setting": "app_secret"}
    say(raised.value)


def test_check_makes_one_cheap_call(wechat: FakeWechat, clock: FrozenClock) -> None:
    assert source(wechat, clock, name="main_account").check() == f"AppID {WECHAT_APP_ID}"
    assert wechat.ranges("getusercumulate") == [(WEEK[6], WEEK[6])]
