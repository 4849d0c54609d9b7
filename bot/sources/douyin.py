"""抖音 (Douyin) account figures from the open platform's user data (数据开放服务 · 用户数据).

Settings: `access_token` (the user's OAuth token, scope `data.external.user`; it
expires, and a new one goes here), `open_id` (the user's id, from the same
authorization), optional `client_key` (the app's key: these calls do not use it; it
names the app for renewing the token), `api_url` (default https://open.douyin.com),
`name` (default `douyin`), `platform` (default `douyin`).

Every call is `GET /data/external/user/<what>/?open_id=…&date_type=7|15|30` with the
token in the `access-token` header; `date_type` is the last 7, 15 or 30 days up to
yesterday, one row per day in `data.result_list`, numbers sometimes written as strings:

- `fans`: `new_fans` → `new_followers`, `total_fans` → `followers`
- `item`: `new_play` → `plays`
- `like`: `new_like` → `likes`
- `comment`: `new_comment` → `comments`
- `share`: `new_share` → `shares`

Left out: `item`'s `new_issue` and `total_issue` (how many videos were published) and
the `profile` endpoint's `profile_uv` (主页访问人数: visitors of the profile page, which
none of our metrics is — so it is not called). The API reaches 30 days back
(`history_days = 30`); a range is fetched with the smallest `date_type` that covers it,
one call per endpoint. Per-video figures (`/data/external/item/*`) are not fetched.

Error codes (`data.error_code`): 2190002/2190008 and 28001003/28001008 the token is
invalid or expired, 28001014/28001016/28001018/28001019 the app lacks (or lost) the
capability, 28003017 the quota is spent, 28001005/28001006 internal or network errors
(retry), 28001007 a parameter is wrong.

Sources: developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/
data-open-service/user-data/get-user-like-number (and its siblings: fans, item, comment,
share, profile), …/capacity-detail/7180284622729658424 (用户互动数据),
volcengine.com/docs/7139/1222696 (the fields' meaning).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

import httpx

from bot.core.clock import Clock
from bot.core.kpi_sources import (
    DailyFigure,
    PostFigure,
    SourceError,
    clip_range,
    platform_yesterday,
)
from bot.sources.http import (
    BAD_REQUEST,
    BUSY,
    DAILY_QUOTA,
    NO_PERMISSION,
    TOKEN_EXPIRED,
    UNKNOWN_CODE,
    client,
    count,
    day,
    optional_setting,
    request_json,
    rows,
    setting,
)

KIND = "douyin"
PLATFORM = "douyin"
DEFAULT_API_URL = "https://open.douyin.com"

DATE_TYPES = (7, 15, 30)  # 近7/15/30天
ENDPOINTS: dict[str, dict[str, str]] = {
    "fans": {"new_fans": "new_followers", "total_fans": "followers"},
    "item": {"new_play": "plays"},
    "like": {"new_like": "likes"},
    "comment": {"new_comment": "comments"},
    "share": {"new_share": "shares"},
}

TOKEN_REFUSED = {2190002, 2190008, 28001003, 28001008}
NOT_ALLOWED = {28001014, 28001016, 28001018, 28001019}
QUOTA_SPENT = {28003017}
SYSTEM_BUSY = {28001005, 28001006}
BAD_PARAMETER = {28001007}


class DouyinSource:
    """A 抖音 account, read through the token its owner gave an open-platform app."""

    kind = KIND
    required_settings: ClassVar[tuple[str, ...]] = ("access_token", "open_id")
    max_days_per_request = DATE_TYPES[-1]
    history_days: int | None = DATE_TYPES[-1]
    post_days = 0

    def __init__(
        self, settings: Mapping[str, object], *, clock: Clock, http: httpx.Client | None = None
    ) -> None:
        self.name = optional_setting(settings, "name", KIND)
        self.platform = optional_setting(settings, "platform", PLATFORM)
        self._token = setting(settings, "access_token", source=self.name)
        self.open_id = setting(settings, "open_id", source=self.name)
        self.client_key = optional_setting(settings, "client_key", "")
        self.http = client(http, optional_setting(settings, "api_url", DEFAULT_API_URL))
        self._own_http = http is None
        self.clock = clock

    def fetch_daily(self, start: date, end: date) -> list[DailyFigure]:
        yesterday = platform_yesterday(self.clock)
        earliest = yesterday - timedelta(days=DATE_TYPES[-1] - 1)
        window = clip_range(start, end, earliest=earliest, latest=yesterday)
        if window is None:
            return []
        first, last = window
        reach = (yesterday - first).days + 1
        date_type = next(days for days in DATE_TYPES if days >= reach)
        figures: list[DailyFigure] = []
        try:
            for endpoint, metrics in ENDPOINTS.items():
                for row in self._result_list(endpoint, date_type):
                    when = day(row.get("date"), "date", source=self.name)
                    if not first <= when <= last:
                        continue
                    for field, metric in metrics.items():
                        if field in row:
                            value = count(row[field], field, source=self.name)
                            figures.append(DailyFigure(self.platform, when, metric, value))
        except SourceError as error:
            error.figures = figures
            raise
        return figures

    def fetch_posts(self, start: date, end: date) -> list[PostFigure]:
        return []

    def check(self) -> str:
        self._result_list("fans", DATE_TYPES[0])
        return f"open_id {self.open_id}"

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def _result_list(self, endpoint: str, date_type: int) -> list[dict[str, Any]]:
        answer = request_json(
            self.http, "GET", f"/data/external/user/{endpoint}/", source=self.name,
            params={"open_id": self.open_id, "date_type": date_type},
            headers={"access-token": self._token, "content-type": "application/json"},
        )  # fmt: skip
        data = _object(answer.get("data"))
        extra = _object(answer.get("extra"))
        code = _code(data.get("error_code", extra.get("error_code", 0)))
        if code != 0:
            message = str(data.get("description") or extra.get("description") or "")
            raise self._error(code, message)
        return rows(data.get("result_list"), "result_list", source=self.name)

    def _error(self, code: int, message: str) -> SourceError:
        detail = message[:120]
        if code in TOKEN_REFUSED:
            return SourceError(TOKEN_EXPIRED, retryable=False, code=code, source=self.name,
                               setting="access_token")  # fmt: skip
        if code in NOT_ALLOWED:
            return SourceError(NO_PERMISSION, retryable=False, code=code, source=self.name,
                               detail=detail)  # fmt: skip
        if code in QUOTA_SPENT:
            return SourceError(DAILY_QUOTA, retryable=True, retry_tomorrow=True, code=code,
                               source=self.name)  # fmt: skip
        if code in SYSTEM_BUSY:
            return SourceError(BUSY, retryable=True, code=code, source=self.name, detail=detail)
        if code in BAD_PARAMETER:
            return SourceError(BAD_REQUEST, retryable=False, code=code, source=self.name,
                               detail=detail)  # fmt: skip
        return SourceError(UNKNOWN_CODE, retryable=True, code=code, source=self.name, detail=detail)


def _code(value: object) -> int:
    """Douyin writes its error codes as numbers or as their digits."""
    try:
        return int(str(value).strip() or 0)
    except ValueError:
        return -1


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
