"""公众号 (WeChat Official Account) figures from the official data API (数据统计, `datacube`).

Settings: `app_id`, `app_secret` (公众号后台 → 设置与开发 → 基本配置), optional `api_url`
(default https://api.weixin.qq.com), `name` (default `wechat_mp`), `platform` (default
`wechat`). Every call is a POST with `?access_token=` and a JSON body
`{"begin_date": "YYYY-MM-DD", "end_date": "YYYY-MM-DD"}`; `end_date` is yesterday at the
latest, and the range may not be longer than the endpoint's maximum span (in days):

- `getusercumulate` (span 7): `cumulate_user` per day → `followers` (a level).
- `getusersummary` (span 7): one row per day and `user_source` (search, QR code, ads …);
  the day's SUM of `new_user` → `new_followers`, of `cancel_user` → `unfollows`.
- `getbizsummary` (span 30, data since 2025-11-01): the account's content per day, in
  `detail`: `read_user` → `users`, `share_user` → `shares`, `like_user` → `likes`,
  `comment_count` → `comments`, `collection_user` → `favorites`.
- `getarticletotaldetail` (span 1, since 2025-11-01): the posts published that day, with
  totals per `stat_date` for up to 30 days; the latest `stat_date`'s same five fields
  become `PostFigure`s (`msgid`, `title`, `ref_date` = the day published).
- `getuserread` (span 3; 停止维护, asked only for days before 2025-11-01): a row per day
  and `user_source`, 99999999 = all channels: `int_page_read_count` → `reads`,
  `int_page_read_user` → `users`, `share_count` → `shares`, `add_to_fav_count` →
  `favorites`.

A day that `getusercumulate` has but `getusersummary` has no row for had no follows and
no unfollows: it gets 0 for both. Left out: `user_source` (the channel split),
`zaikan_user` (爱心/在看, not a like), `redirect_ori_page_user`, `send_page_count`,
`read_user_source`; per post also `read_subscribe_user` (阅读后关注: a team's
`conversions` are its own definition), `praise_money` (赞赏, in fen), the read rates and
times; from `getuserread` `ori_page_*` and `share_user`/`add_to_fav_user`. The new
endpoints count people (阅读人数, 分享人数), not reads: since 2025-11-01 `reads` comes only
from people's input, and `shares` counts sharers. `getarticleread`/`getarticleshare`
(per post and day, one day per call) add nothing the summary has not: they are not
called. Posts published before 2025-11-01 have no totals (the old `getarticletotal` is
停止维护 too), and the old endpoints are given up for the rest of a fetch as soon as one
answers 47009 (offline).

The token comes from `cgi-bin/stable_token` (`grant_type=client_credential`), kept until
five minutes before `expires_in` (the platform renews it that early itself). When a call
says the token is expired or invalid (40001, 40014, 42001) it is fetched once more — by
force only if WeChat gives back the very token it refused — and the call repeated once.

Sources: developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken,
…/doc/service/api/wedata/user/api_getusercumulate (and User_Analysis_Data_Interface:
spans), …/doc/subscription/api/wedata/news/api_getbizsummary, api_getarticletotaldetail,
api_getarticleshare (2025-11-01, one day), …/doc/service/api/wedata/news/api_getuserread.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import httpx

from bot.core.clock import Clock
from bot.core.kpi_sources import (
    DailyFigure,
    PostFigure,
    SourceError,
    clip_range,
    platform_yesterday,
    split_range,
)
from bot.sources.http import (
    BAD_ANSWER,
    BAD_DATES,
    BUSY,
    DAILY_QUOTA,
    MINUTE_QUOTA,
    NO_PERMISSION,
    NOT_READY,
    UNKNOWN_CODE,
    client,
    count,
    day,
    optional_setting,
    request_json,
    rows,
    setting,
)

log = logging.getLogger(__name__)

KIND = "wechat_mp"
PLATFORM = "wechat"
DEFAULT_API_URL = "https://api.weixin.qq.com"

IP_NOT_WHITELISTED = "kpi_source.error.wechat_ip_whitelist"
IP_NOT_WHITELISTED_NO_IP = "kpi_source.error.wechat_ip_whitelist_no_ip"
CREDENTIALS = "kpi_source.error.wechat_credentials"
TOKEN_REFUSED = "kpi_source.error.wechat_token_refused"

DATACUBE_SINCE = date(2014, 12, 1)  # 接口侧数据存储始于2014-12-01
NEW_CONTENT_API_SINCE = date(2025, 11, 1)  # 数据存储起始时间为2025-11-01
TOKEN_MARGIN = timedelta(minutes=5)
ALL_CHANNELS = 99999999  # getuserread's user_source for 全部


@dataclass(frozen=True)
class Endpoint:
    name: str
    max_days: int


USER_SUMMARY = Endpoint("getusersummary", 7)
USER_CUMULATE = Endpoint("getusercumulate", 7)
BIZ_SUMMARY = Endpoint("getbizsummary", 30)
ARTICLE_TOTAL_DETAIL = Endpoint("getarticletotaldetail", 1)
USER_READ = Endpoint("getuserread", 3)

CONTENT_METRICS = {"read_user": "users", "share_user": "shares", "like_user": "likes",
                   "comment_count": "comments", "collection_user": "favorites"}  # fmt: skip
USER_READ_METRICS = {"int_page_read_count": "reads", "int_page_read_user": "users",
                     "share_count": "shares", "add_to_fav_count": "favorites"}  # fmt: skip

# WeChat's global return codes (全局返回码) this source tells apart.
SYSTEM_BUSY = -1
TOKEN_REJECTED = {40001, 40014, 42001}  # invalid credential / invalid token / token expired
BAD_APP = {40013, 40125, 40243}  # invalid appid / invalid appsecret / AppSecret frozen
IP_REFUSED = 40164
DAILY_QUOTA_SPENT = 45009  # reach max api daily quota limit
MINUTE_QUOTA_SPENT = 45011  # api minute-quota reach limit, retry next minute
NOT_ALLOWED = {48001, 50001}  # api unauthorized / the account has not granted the api
API_OFFLINE = 47009  # "this api is offline, please use the new api" (the old endpoints)
DATE_ERRORS = range(61500, 61600)  # 61500 日期格式错误, 61501 日期范围错误

_IP_IN_MESSAGE = re.compile(r"invalid ip ([0-9A-Fa-f.:]+)")


class WechatMpSource:
    """A 公众号 read through its AppID and AppSecret."""

    kind = KIND
    required_settings: ClassVar[tuple[str, ...]] = ("app_id", "app_secret")
    max_days_per_request = USER_SUMMARY.max_days
    history_days: int | None = None
    post_days = 30  # getarticletotaldetail counts a post's first 30 days

    def __init__(
        self, settings: Mapping[str, object], *, clock: Clock, http: httpx.Client | None = None
    ) -> None:
        self.name = optional_setting(settings, "name", KIND)
        self.platform = optional_setting(settings, "platform", PLATFORM)
        self.app_id = setting(settings, "app_id", source=self.name)
        self._secret = setting(settings, "app_secret", source=self.name)
        self.http = client(http, optional_setting(settings, "api_url", DEFAULT_API_URL))
        self._own_http = http is None
        self.clock = clock
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    # -- the KpiSource interface ----------------------------------------------------

    def fetch_daily(self, start: date, end: date) -> list[DailyFigure]:
        window = clip_range(start, end, earliest=DATACUBE_SINCE, latest=self._yesterday())
        if window is None:
            return []
        first, last = window
        parts: list[Iterator[DailyFigure]] = [self._followers(first, last)]
        new = clip_range(first, last, earliest=NEW_CONTENT_API_SINCE, latest=last)
        if new is not None:
            parts.append(self._content(*new))
        old = clip_range(first, last, earliest=None, latest=NEW_CONTENT_API_SINCE - _DAY)
        if old is not None:
            parts.append(self._old_content(*old))
        figures: list[DailyFigure] = []
        try:
            for part in parts:
                figures.extend(part)
        except SourceError as error:
            error.figures = figures
            raise
        return figures

    def fetch_posts(self, start: date, end: date) -> list[PostFigure]:
        window = clip_range(start, end, earliest=NEW_CONTENT_API_SINCE, latest=self._yesterday())
        if window is None:
            return []
        figures: list[PostFigure] = []
        for published, _ in split_range(*window, ARTICLE_TOTAL_DETAIL.max_days):
            data = self._datacube(ARTICLE_TOTAL_DETAIL, published, published)
            for post in rows(data.get("list"), "list", source=self.name):
                figures.extend(self._post_totals(post))
        return figures

    def check(self) -> str:
        yesterday = self._yesterday()
        self._datacube(USER_CUMULATE, yesterday, yesterday)
        return f"AppID {self.app_id}"

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    # -- the figures ----------------------------------------------------------------

    def _followers(self, first: date, last: date) -> Iterator[DailyFigure]:
        for begin, end in split_range(first, last, USER_SUMMARY.max_days):
            summary = self._rows(USER_SUMMARY, begin, end)
            cumulate = self._rows(USER_CUMULATE, begin, end)
            follows: dict[date, float] = defaultdict(float)
            unfollows: dict[date, float] = defaultdict(float)
            for row in summary:  # one row per user_source: the day's figure is their sum
                when = self._day(row, begin, end)
                if when is not None:
                    follows[when] += count(row.get("new_user", 0), "new_user", source=self.name)
                    unfollows[when] += count(
                        row.get("cancel_user", 0), "cancel_user", source=self.name
                    )
            followers: dict[date, float] = {}
            for row in cumulate:
                when = self._day(row, begin, end)
                if when is not None:
                    followers[when] = count(
                        row.get("cumulate_user"), "cumulate_user", source=self.name
                    )
            for when in sorted(set(follows) | set(followers)):
                yield self._figure(when, "new_followers", follows.get(when, 0.0))
                yield self._figure(when, "unfollows", unfollows.get(when, 0.0))
                if when in followers:
                    yield self._figure(when, "followers", followers[when])

    def _content(self, first: date, last: date) -> Iterator[DailyFigure]:
        for begin, end in split_range(first, last, BIZ_SUMMARY.max_days):
            for row in self._rows(BIZ_SUMMARY, begin, end, fresh=True):
                when = self._day(row, begin, end)
                detail = row.get("detail")
                if when is None or not isinstance(detail, dict):
                    continue
                for field, metric in CONTENT_METRICS.items():
                    if field in detail:
                        yield self._figure(
                            when, metric, count(detail[field], field, source=self.name)
                        )

    def _old_content(self, first: date, last: date) -> Iterator[DailyFigure]:
        """Reads before 2025-11-01 from the old getuserread, while it still answers."""
        for begin, end in split_range(first, last, USER_READ.max_days):
            try:
                answer = self._rows(USER_READ, begin, end)
            except SourceError as error:
                if error.code != API_OFFLINE:
                    raise
                log.warning("%s: getuserread is offline (47009); no reads before %s",
                            self.name, NEW_CONTENT_API_SINCE)  # fmt: skip
                return
            by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
            for row in answer:
                when = self._day(row, begin, end)
                if when is not None:
                    by_day[when].append(row)
            for when, found in sorted(by_day.items()):
                # Since 2020-02-28 the day has a row per channel and one for them all
                # (99999999); summing them would count every read twice.
                total = [row for row in found if row.get("user_source") == ALL_CHANNELS]
                for field, metric in USER_READ_METRICS.items():
                    values = [row[field] for row in total or found if field in row]
                    if values:
                        value = sum(count(v, field, source=self.name) for v in values)
                        yield self._figure(when, metric, value)

    def _post_totals(self, post: dict[str, Any]) -> Iterator[PostFigure]:
        stats = rows(post.get("detail_list"), "detail_list", source=self.name)
        dated = [stat for stat in stats if stat.get("stat_date")]
        if not dated:
            return
        latest = max(dated, key=lambda stat: str(stat["stat_date"]))
        msgid = post.get("msgid")
        title = post.get("title")
        published = post.get("ref_date")
        for field, metric in CONTENT_METRICS.items():
            if field in latest:
                yield PostFigure(
                    platform=self.platform,
                    message_id=str(msgid) if msgid else None,
                    title=str(title) if title else None,
                    day=day(published, "ref_date", source=self.name) if published else None,
                    metric=metric,
                    value=count(latest[field], field, source=self.name),
                )

    def _figure(self, when: date, metric: str, value: float) -> DailyFigure:
        return DailyFigure(platform=self.platform, day=when, metric=metric, value=value)

    def _day(self, row: dict[str, Any], begin: date, end: date) -> date | None:
        """A row's `ref_date`, or None for a row outside the range asked for."""
        when = day(row.get("ref_date"), "ref_date", source=self.name)
        return when if begin <= when <= end else None

    def _yesterday(self) -> date:
        return platform_yesterday(self.clock)

    # -- the API --------------------------------------------------------------------

    def _rows(
        self, endpoint: Endpoint, begin: date, end: date, *, fresh: bool = False
    ) -> list[dict[str, Any]]:
        data = self._datacube(endpoint, begin, end)
        if fresh and data.get("is_delay") is True:
            raise SourceError(
                NOT_READY, retryable=True, source=self.name, start=begin.isoformat(),
                end=end.isoformat(),
            )  # fmt: skip
        return rows(data.get("list"), "list", source=self.name)

    def _datacube(self, endpoint: Endpoint, begin: date, end: date) -> dict[str, Any]:
        if (end - begin).days + 1 > endpoint.max_days:
            raise ValueError(f"{endpoint.name} spans at most {endpoint.max_days} days")
        body = {"begin_date": begin.isoformat(), "end_date": end.isoformat()}
        token = self._access_token()
        for attempt in (1, 2):
            data = request_json(
                self.http, "POST", f"/datacube/{endpoint.name}", source=self.name,
                params={"access_token": token}, json=body,
            )  # fmt: skip
            code = _errcode(data)
            if code == 0:
                return data
            if code in TOKEN_REJECTED:
                if attempt == 1:
                    token = self._access_token(rejected=token)
                    continue
                raise SourceError(TOKEN_REFUSED, retryable=True, code=code, source=self.name)
            raise self._error(code, str(data.get("errmsg", "")), begin, end)
        raise AssertionError("unreachable")

    def _access_token(self, *, rejected: str | None = None) -> str:
        """The cached token; a new one when it is due, or when `rejected` was refused."""
        with self._lock:
            now = self.clock.now()
            if self._token is not None:
                token, until = self._token
                if rejected is None and now < until:
                    return token
                if rejected is not None and token != rejected:
                    return token  # another call has fetched a new one meanwhile
            token, lifetime = self._stable_token(force=False)
            if rejected is not None and token == rejected:
                token, lifetime = self._stable_token(force=True)
            # Kept until five minutes before it ends (half its life, if it is that short).
            self._token = (token, now + max(lifetime - TOKEN_MARGIN, lifetime / 2))
            return token

    def _stable_token(self, *, force: bool) -> tuple[str, timedelta]:
        data = request_json(
            self.http, "POST", "/cgi-bin/stable_token", source=self.name,
            json={"grant_type": "client_credential", "appid": self.app_id,
                  "secret": self._secret, "force_refresh": force},
        )  # fmt: skip
        code = _errcode(data)
        if code == 40001 or code in BAD_APP:  # here 40001 means: the AppSecret is wrong
            raise SourceError(CREDENTIALS, retryable=False, code=code, source=self.name)
        if code != 0:
            raise self._error(code, str(data.get("errmsg", "")), None, None)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise SourceError(
                BAD_ANSWER, retryable=True, source=self.name,
                detail="access_token missing",
            )  # fmt: skip
        seconds = count(data.get("expires_in", 7200), "expires_in", source=self.name)
        return token, timedelta(seconds=seconds)

    def _error(self, code: int, message: str, begin: date | None, end: date | None) -> SourceError:
        """What a WeChat error code means for the team, as a `SourceError`."""
        detail = message[:120]
        if code == IP_REFUSED:
            found = _IP_IN_MESSAGE.search(message)
            if found:
                return SourceError(
                    IP_NOT_WHITELISTED, retryable=False, code=code, source=self.name,
                    ip=found.group(1),
                )  # fmt: skip
            return SourceError(
                IP_NOT_WHITELISTED_NO_IP, retryable=False, code=code, source=self.name
            )
        if code == DAILY_QUOTA_SPENT:
            return SourceError(DAILY_QUOTA, retryable=True, retry_tomorrow=True, code=code,
                               source=self.name)  # fmt: skip
        if code == MINUTE_QUOTA_SPENT:
            return SourceError(MINUTE_QUOTA, retryable=True, code=code, source=self.name)
        if code == SYSTEM_BUSY:
            return SourceError(BUSY, retryable=True, code=code, source=self.name, detail=detail)
        if code in BAD_APP:
            return SourceError(CREDENTIALS, retryable=False, code=code, source=self.name)
        if code in NOT_ALLOWED:
            return SourceError(NO_PERMISSION, retryable=False, code=code, source=self.name,
                               detail=detail)  # fmt: skip
        if code in DATE_ERRORS:
            return SourceError(
                BAD_DATES, retryable=False, code=code, source=self.name, detail=detail,
                start=begin.isoformat() if begin else "", end=end.isoformat() if end else "",
            )  # fmt: skip
        return SourceError(UNKNOWN_CODE, retryable=True, code=code, source=self.name, detail=detail)


_DAY = timedelta(days=1)


def _errcode(data: dict[str, Any]) -> int:
    """WeChat's `errcode` (absent on success)."""
    try:
        return int(data.get("errcode", 0))
    except (TypeError, ValueError):
        return SYSTEM_BUSY
