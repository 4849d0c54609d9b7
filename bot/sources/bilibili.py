"""B站 (Bilibili) creator figures from the open platform's data service (数据开放服务).

Settings: `client_id`, `client_secret` (the app's keys, 开放平台 → 应用管理),
`access_token` (the creator's OAuth2 token; it expires, and a new one goes here),
optional `api_url` (default https://member.bilibili.com), `name` (default `bilibili`),
`platform` (default `bilibili`).

Every call is signed (接口签名 2.0): the headers `x-bili-accesskeyid` (client_id),
`x-bili-content-md5` (md5 of the body, of "" for a GET), `x-bili-signature-method`
(HMAC-SHA256), `x-bili-signature-nonce`, `x-bili-signature-version` (2.0) and
`x-bili-timestamp` (seconds), sorted and joined as `key:value` lines, HMAC-SHA256'd with
the client_secret into `Authorization`; the creator's token goes in `Access-Token`.

- `GET /arcopen/fn/data/user/stat`: `follower`, `following`, `arc_passed_total`, as of
  now; `follower` → `followers`, for yesterday (it is read in the morning).
- `GET /arcopen/fn/data/arc/inc-stats`: yesterday's increments over all videos:
  `inc_click` → `plays`, `inc_like` → `likes`, `inc_fav` → `favorites`, `inc_share` →
  `shares`, `inc_reply` → `comments`.
- `GET /arcopen/fn/archive/viewlist?pn=&ps=&status=pubed` (`ps` at most 50): the
  creator's videos, with `resource_id` (the BV id), `title`, `ptime` (published, Unix s).
- `GET /arcopen/fn/data/arc/stat?resource_id=`: one video's totals as `PostFigure`s:
  `view` → `plays`, `like` → `likes`, `favorite` → `favorites`, `share` → `shares`,
  `reply` → `comments`.

Left out: `following`, `arc_passed_total`, coins (`inc_coin`, `coin`), danmaku
(`inc_dm`, `danmaku`), charging (`inc_elec`), and the 专栏 (article) data service
(`data/art/*`). The API keeps no history: the account's figures exist for yesterday only
(`history_days = 1`), so a day missed is not fetched later. A post's totals are what
they are now, whatever day it was published on.

Error codes (状态码): 127000/127001 the token is missing or refused, 127004/127012
client_id or signature wrong, 127007/127011 the app or the creator has not granted the
scope (USER_DATA, ARC_DATA), 127009 the request quota is spent, 127201 busy.

Sources: open.bilibili.com/doc/4/3f46ac2e-1318-3aa0-5548-0d9fd624d520 (稿件数据),
…/708a4ce5-5a6e-d8ce-b2e8-ff8a26a83b05 (整体稿件增量数据), …/a24030b7-6b8f-b36c-32d8-a4aae67fcc35
(稿件列表), github.com/bilibili-openplatform/SignatureAlgorithm_DotnetDemo (the
signature), apifox.com/apidoc/docs-site/1106400 (用户数据, 状态码).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar

import httpx

from bot.core.clock import Clock
from bot.core.kpi_sources import (
    PLATFORM_ZONE,
    DailyFigure,
    PostFigure,
    SourceError,
    clip_range,
    platform_yesterday,
)
from bot.sources.http import (
    APP_CREDENTIALS,
    BAD_ANSWER,
    BUSY,
    DAILY_QUOTA,
    NO_PERMISSION,
    TOKEN_EXPIRED,
    UNKNOWN_CODE,
    client,
    count,
    optional_setting,
    request_json,
    rows,
    setting,
)

KIND = "bilibili"
PLATFORM = "bilibili"
DEFAULT_API_URL = "https://member.bilibili.com"

USER_STAT = "/arcopen/fn/data/user/stat"
ARC_INC_STATS = "/arcopen/fn/data/arc/inc-stats"
ARCHIVE_LIST = "/arcopen/fn/archive/viewlist"
ARC_STAT = "/arcopen/fn/data/arc/stat"

SIGNATURE_VERSION = "2.0"
SIGNATURE_METHOD = "HMAC-SHA256"
PAGE_SIZE = 50  # viewlist's largest page

INCREMENT_METRICS = {"inc_click": "plays", "inc_like": "likes", "inc_fav": "favorites",
                     "inc_share": "shares", "inc_reply": "comments"}  # fmt: skip
VIDEO_METRICS = {"view": "plays", "like": "likes", "favorite": "favorites", "share": "shares",
                 "reply": "comments"}  # fmt: skip

TOKEN_REFUSED = {127000, 127001}
APP_REFUSED = {127004, 127012, 122000, 122001}
SCOPE_MISSING = {127007, 127011}
QUOTA_SPENT = {127009}
SYSTEM_BUSY = {127201}


def signed_headers(
    *, client_id: str, client_secret: str, access_token: str, body: bytes, timestamp: int,
    nonce: str,
) -> dict[str, str]:  # fmt: skip
    """The headers of a signed open-platform request (接口签名 2.0)."""
    signed = {
        "x-bili-accesskeyid": client_id,
        "x-bili-content-md5": hashlib.md5(body, usedforsecurity=False).hexdigest(),
        "x-bili-signature-method": SIGNATURE_METHOD,
        "x-bili-signature-nonce": nonce,
        "x-bili-signature-version": SIGNATURE_VERSION,
        "x-bili-timestamp": str(timestamp),
    }
    text = "\n".join(f"{key}:{signed[key]}" for key in sorted(signed))
    signature = hmac.new(client_secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return {**signed, "Authorization": signature, "Access-Token": access_token,
            "Accept": "application/json", "Content-Type": "application/json"}  # fmt: skip


class BilibiliSource:
    """A B站 creator account, read through an open-platform app the creator authorized."""

    kind = KIND
    required_settings: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "access_token")
    max_days_per_request = 1
    history_days: int | None = 1
    post_days = 7  # a video's totals are live; the first week is when they move
    page_size = PAGE_SIZE

    def __init__(
        self, settings: Mapping[str, object], *, clock: Clock, http: httpx.Client | None = None
    ) -> None:
        self.name = optional_setting(settings, "name", KIND)
        self.platform = optional_setting(settings, "platform", PLATFORM)
        self.client_id = setting(settings, "client_id", source=self.name)
        self._secret = setting(settings, "client_secret", source=self.name)
        self._token = setting(settings, "access_token", source=self.name)
        self.http = client(http, optional_setting(settings, "api_url", DEFAULT_API_URL))
        self._own_http = http is None
        self.clock = clock

    def fetch_daily(self, start: date, end: date) -> list[DailyFigure]:
        yesterday = platform_yesterday(self.clock)
        if clip_range(start, end, earliest=yesterday, latest=yesterday) is None:
            return []
        figures: list[DailyFigure] = []
        try:
            stat = self._get(USER_STAT)
            figures.append(self._figure(yesterday, "followers", stat, "follower"))
            increments = self._get(ARC_INC_STATS)
            for field, metric in INCREMENT_METRICS.items():
                if field in increments:
                    figures.append(self._figure(yesterday, metric, increments, field))
        except SourceError as error:
            error.figures = figures
            raise
        return figures

    def fetch_posts(self, start: date, end: date) -> list[PostFigure]:
        window = clip_range(start, end, earliest=None, latest=platform_yesterday(self.clock))
        if window is None:
            return []
        figures: list[PostFigure] = []
        for video in self._videos():
            published = _published(video.get("ptime"))
            if published is None or not window[0] <= published <= window[1]:
                continue
            resource_id = str(video.get("resource_id") or "")
            if not resource_id:
                continue
            stat = self._get(ARC_STAT, params={"resource_id": resource_id})
            title = video.get("title") or stat.get("title")
            for field, metric in VIDEO_METRICS.items():
                if field in stat:
                    figures.append(
                        PostFigure(
                            platform=self.platform, message_id=resource_id,
                            title=str(title) if title else None, day=published, metric=metric,
                            value=count(stat[field], field, source=self.name),
                        )
                    )  # fmt: skip
        return figures

    def check(self) -> str:
        self._get(USER_STAT)
        return f"client_id {self.client_id}"

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def _videos(self) -> list[dict[str, Any]]:
        """Every published video, page by page."""
        videos: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self._get(
                ARCHIVE_LIST, params={"pn": page, "ps": self.page_size, "status": "pubed"}
            )
            found = rows(data.get("list"), "list", source=self.name)
            videos.extend(found)
            paging = data.get("page")
            total = paging.get("total", 0) if isinstance(paging, dict) else 0
            total = count(total, "page.total", source=self.name)
            if not found or page * self.page_size >= total:
                return videos
            page += 1

    def _figure(self, when: date, metric: str, data: dict[str, Any], field: str) -> DailyFigure:
        if field not in data:
            raise SourceError(
                BAD_ANSWER, retryable=True, source=self.name, detail=f"{field} missing"
            )
        return DailyFigure(
            platform=self.platform, day=when, metric=metric,
            value=count(data[field], field, source=self.name),
        )  # fmt: skip

    def _get(self, path: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = signed_headers(
            client_id=self.client_id, client_secret=self._secret, access_token=self._token,
            body=b"", timestamp=int(self.clock.now().timestamp()), nonce=uuid.uuid4().hex,
        )  # fmt: skip
        answer = request_json(
            self.http, "GET", path, source=self.name, params=params or {}, headers=headers
        )
        code = _code(answer)
        if code != 0:
            raise self._error(code, str(answer.get("message", "")))
        data = answer.get("data")
        if not isinstance(data, dict):
            raise SourceError(BAD_ANSWER, retryable=True, source=self.name, detail="data missing")
        return data

    def _error(self, code: int, message: str) -> SourceError:
        detail = message[:120]
        if code in TOKEN_REFUSED:
            return SourceError(TOKEN_EXPIRED, retryable=False, code=code, source=self.name,
                               setting="access_token")  # fmt: skip
        if code in APP_REFUSED:
            return SourceError(APP_CREDENTIALS, retryable=False, code=code, source=self.name,
                               settings="client_id, client_secret")  # fmt: skip
        if code in SCOPE_MISSING:
            return SourceError(NO_PERMISSION, retryable=False, code=code, source=self.name,
                               detail=detail)  # fmt: skip
        if code in QUOTA_SPENT:
            return SourceError(DAILY_QUOTA, retryable=True, retry_tomorrow=True, code=code,
                               source=self.name)  # fmt: skip
        if code in SYSTEM_BUSY:
            return SourceError(BUSY, retryable=True, code=code, source=self.name, detail=detail)
        return SourceError(UNKNOWN_CODE, retryable=True, code=code, source=self.name, detail=detail)


def _code(answer: dict[str, Any]) -> int:
    try:
        return int(answer.get("code", -1))
    except (TypeError, ValueError):
        return -1


def _published(ptime: object) -> date | None:
    """A video's `ptime` (Unix seconds) as its day in China."""
    if isinstance(ptime, bool) or not isinstance(ptime, int | float) or ptime <= 0:
        return None
    return datetime.fromtimestamp(ptime, PLATFORM_ZONE).date()
