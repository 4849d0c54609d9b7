"""Fake 公众号 datacube, B站 and 抖音 data APIs on 127.0.0.1 (port 0), for the KPI sources.

Each refuses what its platform refuses, so a request the real API would refuse fails
the test:

- WeChat: `cgi-bin/stable_token` (POST JSON, `grant_type=client_credential`, the app's
  AppID and secret; normal mode gives the valid token back, `force_refresh` replaces it),
  tokens that expire on the fake's clock (42001) or are unknown (40001), a missing token
  (41001); datacube ranges longer than the endpoint's span, ending today or later, or
  not `YYYY-MM-DD` (61501/61500); several `user_source` rows per day. Switches: the IP
  whitelist (40164, the errmsg naming the IP as WeChat does), the daily quota (45009,
  or after `quota_left` calls), the minute quota (45011), an outage (HTML 502), the old
  endpoints offline (47009), figures not final yet (`is_delay`).
- B站: the 2.0 signature (recomputed here from the headers and the secret, the
  timestamp within 600 s of the fake's clock, a nonce used once), the creator's token
  (127001 when wrong or expired), `viewlist`'s page size (at most 50). Switches: quota
  (127009), outage.
- 抖音: the `access-token` header (28001008 when expired, 2190002 when wrong), `open_id`,
  `date_type` 7/15/30 only (28001007), the last `date_type` days up to yesterday, numbers
  as strings as the docs show them. Switches: quota (28003017), outage.

The 61501 for an over-long range is WeChat's "date range error" code as the global code
table names it; that the datacube answers exactly that code for a span too long is
assumed, not documented.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from bot.core.clock import Clock
from tests.fakes import JsonHandler, serve

CHINA = ZoneInfo("Asia/Shanghai")
OUTAGE_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _today(clock: Clock) -> date:
    return clock.now().astimezone(CHINA).date()


def _query(path: str) -> tuple[str, dict[str, str]]:
    url = urlparse(path)
    return url.path, {key: values[0] for key, values in parse_qs(url.query).items()}


# -- WeChat ---------------------------------------------------------------------------

WECHAT_APP_ID = "wx0123456789abcdef"
WECHAT_SECRET = "test-app-secret"
SPANS = {"getusersummary": 7, "getusercumulate": 7, "getbizsummary": 30,
         "getarticletotaldetail": 1, "getarticleread": 1, "getarticleshare": 1,
         "getuserread": 3}  # fmt: skip
NEW_ENDPOINTS = {"getbizsummary", "getarticletotaldetail", "getarticleread", "getarticleshare"}
OLD_ENDPOINTS = {"getuserread"}
NEW_DATA_SINCE = date(2025, 11, 1)
RENEW = timedelta(minutes=5)


@dataclass
class FakeWechat:
    clock: Clock
    url: str = ""
    calls: list[tuple[str, dict[str, str], dict[str, Any], int]] = field(default_factory=list)
    # figures: day → rows (user_source, new_user, cancel_user), followers, content, posts
    user_summary: dict[date, list[tuple[int, int, int]]] = field(default_factory=dict)
    user_cumulate: dict[date, int] = field(default_factory=dict)
    biz_summary: dict[date, dict[str, Any]] = field(default_factory=dict)
    articles: dict[date, list[dict[str, Any]]] = field(default_factory=dict)  # by publish day
    user_read: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    # switches
    ip_whitelisted: bool = True
    client_ip: str = "127.0.0.1"
    quota_left: int | None = None  # calls left today (None: no limit); then 45009
    minute_quota_spent: bool = False
    outage: bool = False
    old_api_offline: bool = False
    delayed: set[date] = field(default_factory=set)  # getbizsummary says is_delay for these
    refused: set[str] = field(default_factory=set)  # datacube says 40001 for these tokens
    refuse_every_token: bool = False
    token_lifetime: int = 7200
    # called with each request's path before it is answered (to look at the bot meanwhile)
    on_request: Callable[[str], None] | None = None
    # tokens: token → when it expires
    tokens: dict[str, datetime] = field(default_factory=dict)
    current: str | None = None
    issued: int = 0

    def token_requests(self) -> list[dict[str, Any]]:
        return [body for path, _, body, _ in self.calls if path == "/cgi-bin/stable_token"]

    def ranges(self, endpoint: str) -> list[tuple[date, date]]:
        """The ranges a datacube endpoint was asked for, in order."""
        return [
            (date.fromisoformat(body["begin_date"]), date.fromisoformat(body["end_date"]))
            for path, _, body, _ in self.calls
            if path == f"/datacube/{endpoint}"
        ]

    def answered(self, endpoint: str) -> list[int]:
        """The errcodes the endpoint answered, in order."""
        return [code for path, _, _, code in self.calls if path == f"/datacube/{endpoint}"]

    def expire_tokens(self) -> None:
        """Every token expires now (WeChat answers 42001), as after a restart of theirs."""
        now = self.clock.now()
        self.tokens = {token: now for token in self.tokens}

    def handle(self, path: str, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if self.quota_left is not None:
            if self.quota_left <= 0:
                return _wx(45009, "reach max api daily quota limit rid: 6350ba59-531186f6")
            self.quota_left -= 1
        if self.minute_quota_spent:
            return _wx(45011, "api minute-quota reach limit, must slower, retry next minute")
        if not self.ip_whitelisted:
            ip = self.client_ip
            return _wx(40164, f"invalid ip {ip} ipv6 ::ffff:{ip}, not in whitelist rid: 6125a48e")
        if path == "/cgi-bin/stable_token":
            return self._stable_token(body)
        if path.startswith("/datacube/"):
            return self._datacube(path.removeprefix("/datacube/"), params, body)
        return _wx(-1, f"no such api {path}")

    def _stable_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credential":
            return _wx(40002, "invalid grant_type")
        if body.get("appid") != WECHAT_APP_ID:
            return _wx(40013, "invalid appid")
        if body.get("secret") != WECHAT_SECRET:
            return _wx(40125, "invalid appsecret")
        now = self.clock.now()
        # Normal mode gives the valid token back, and a new one in its last five minutes
        # (普通模式下平台会提前5分钟更新access_token); the old one lasts until it expires.
        fresh = self.current is not None and self.tokens.get(self.current, now) > now + RENEW
        if body.get("force_refresh") is True or not fresh:
            if body.get("force_refresh") is True and self.current is not None:
                self.tokens.pop(self.current, None)  # force mode ends the previous token
            self.issued += 1
            self.current = f"wx-token-{self.issued}"
            self.tokens[self.current] = now + timedelta(seconds=self.token_lifetime)
        assert self.current is not None
        left = int((self.tokens[self.current] - now).total_seconds())
        return {"access_token": self.current, "expires_in": left}

    def _datacube(
        self, endpoint: str, params: dict[str, str], body: dict[str, Any]
    ) -> dict[str, Any]:
        token = params.get("access_token")
        if not token:
            return _wx(41001, "access_token missing")
        if token not in self.tokens or token in self.refused or self.refuse_every_token:
            return _wx(40001, "invalid credential, access_token is invalid or not latest")
        if self.tokens[token] <= self.clock.now():
            return _wx(42001, "access_token expired")
        if endpoint not in SPANS:
            return _wx(48001, "api unauthorized")
        try:
            begin = date.fromisoformat(str(body.get("begin_date")))
            end = date.fromisoformat(str(body.get("end_date")))
        except ValueError:
            return _wx(61500, "date format error")
        if end < begin or end >= _today(self.clock):
            return _wx(61501, "date range error")
        if (end - begin).days + 1 > SPANS[endpoint]:
            return _wx(61501, "date range error")
        if endpoint in OLD_ENDPOINTS and self.old_api_offline:
            return _wx(47009, "this api is offline, please use the new api")
        days = [begin + timedelta(days=n) for n in range((end - begin).days + 1)]
        if endpoint in NEW_ENDPOINTS:
            days = [day for day in days if day >= NEW_DATA_SINCE]  # 之前日期数据无效
        return self._figures(endpoint, days)

    def _figures(self, endpoint: str, days: list[date]) -> dict[str, Any]:
        listed: list[dict[str, Any]] = []
        for day in days:
            when = day.isoformat()
            if endpoint == "getusersummary":
                listed += [
                    {"ref_date": when, "user_source": source, "new_user": new, "cancel_user": lost}
                    for source, new, lost in self.user_summary.get(day, [])
                ]
            elif endpoint == "getusercumulate" and day in self.user_cumulate:
                # Real answers carry a `user_source` of 0 here too: the account's total.
                listed.append({"ref_date": when, "user_source": 0,
                               "cumulate_user": self.user_cumulate[day]})  # fmt: skip
            elif endpoint == "getbizsummary" and day in self.biz_summary:
                listed.append({"ref_date": when, "detail": self.biz_summary[day]})
            elif endpoint == "getarticletotaldetail":
                listed += [{"ref_date": when, **post} for post in self.articles.get(day, [])]
            elif endpoint == "getuserread":
                listed += [{"ref_date": when, **row} for row in self.user_read.get(day, [])]
        answer: dict[str, Any] = {"list": listed}
        if endpoint in NEW_ENDPOINTS:
            answer["is_delay"] = any(day in self.delayed for day in days)
        return answer


def _wx(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": message}


@contextmanager
def fake_wechat(clock: Clock) -> Iterator[FakeWechat]:
    fake = FakeWechat(clock=clock)
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            self.answer(_wx(43002, "require POST method"))

        def do_POST(self) -> None:
            path, params = _query(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if fake.on_request is not None:
                fake.on_request(path)
            if fake.outage:
                self.answer_raw(502, "text/html", OUTAGE_PAGE)
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            with lock:
                if not isinstance(body, dict):
                    answer = _wx(47001, "data format error")
                else:
                    answer = fake.handle(path, params, body)
                fake.calls.append((path, params, body or {}, int(answer.get("errcode", 0))))
            self.answer(answer)

    with serve(Handler) as base:
        fake.url = base
        yield fake


# -- Bilibili -------------------------------------------------------------------------

BILIBILI_CLIENT_ID = "34c0f583f0414123"
BILIBILI_SECRET = "test-client-secret"
BILIBILI_TOKEN = "test-creator-token"
SIGNED_HEADERS = ("x-bili-accesskeyid", "x-bili-content-md5", "x-bili-signature-method",
                  "x-bili-signature-nonce", "x-bili-signature-version", "x-bili-timestamp")  # fmt: skip
MAX_CLOCK_SKEW_SECONDS = 600
MAX_PAGE_SIZE = 50


@dataclass
class FakeBilibili:
    clock: Clock
    url: str = ""
    calls: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    follower: int = 0
    increments: dict[str, int] = field(default_factory=dict)
    videos: list[dict[str, Any]] = field(default_factory=list)  # resource_id, title, ptime, stat
    token_expired: bool = False
    quota_spent: bool = False
    outage: bool = False
    nonces: set[str] = field(default_factory=set)

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.calls]

    def handle(self, path: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        problem = self._signature_problem(headers)
        if problem is not None:
            self.violations.append(problem)
            return _bili(127012, "鉴权错误")
        if headers.get("access-token") != BILIBILI_TOKEN or self.token_expired:
            return _bili(127001, "access_token验证错误")
        if self.quota_spent:
            return _bili(127009, "api请求次数达到上限")
        if path == "/arcopen/fn/data/user/stat":
            return _bili(0, "0", {"following": 12, "follower": self.follower,
                                  "arc_passed_total": len(self.videos)})  # fmt: skip
        if path == "/arcopen/fn/data/arc/inc-stats":
            return _bili(0, "0", dict(self.increments))
        if path == "/arcopen/fn/archive/viewlist":
            return self._viewlist(params)
        if path == "/arcopen/fn/data/arc/stat":
            for video in self.videos:
                if video["resource_id"] == params.get("resource_id"):
                    return _bili(0, "0", {"title": video["title"], "ptime": video["ptime"],
                                          **video["stat"]})  # fmt: skip
            return _bili(127124, "不存在该稿件")
        return _bili(127100, "请求参数错误")

    def _viewlist(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            page, size = int(params["pn"]), int(params["ps"])
        except (KeyError, ValueError):
            return _bili(127100, "请求参数错误")
        if not 1 <= size <= MAX_PAGE_SIZE or page < 1:
            self.violations.append(f"viewlist: pn={page} ps={size}")
            return _bili(127100, "请求参数错误")
        listed = [{key: value for key, value in video.items() if key != "stat"}
                  for video in self.videos]  # fmt: skip
        chunk = listed[(page - 1) * size : page * size]
        return _bili(0, "0", {"list": chunk, "page": {"pn": page, "ps": size,
                                                      "total": len(listed)}})  # fmt: skip

    def _signature_problem(self, headers: dict[str, str]) -> str | None:
        """Why B站 would refuse the request's signature (接口签名 2.0), or None."""
        missing = [name for name in (*SIGNED_HEADERS, "authorization") if not headers.get(name)]
        if missing:
            return f"missing headers {missing}"
        if headers["x-bili-accesskeyid"] != BILIBILI_CLIENT_ID:
            return "another client_id"
        if headers["x-bili-signature-version"] != "2.0":
            return "signature version is not 2.0"
        if headers["x-bili-signature-method"] != "HMAC-SHA256":
            return "signature method is not HMAC-SHA256"
        if headers["x-bili-content-md5"] != hashlib.md5(b"").hexdigest():
            return "content md5 is not that of an empty body"
        stamp = headers["x-bili-timestamp"]
        if (
            not stamp.isdigit()
            or abs(int(stamp) - self.clock.now().timestamp()) > MAX_CLOCK_SKEW_SECONDS
        ):
            return f"timestamp {stamp} is not now"
        nonce = headers["x-bili-signature-nonce"]
        if nonce in self.nonces:
            return f"nonce {nonce} used twice"
        self.nonces.add(nonce)
        text = "\n".join(f"{name}:{headers[name]}" for name in sorted(SIGNED_HEADERS))
        expected = hmac.new(BILIBILI_SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers["authorization"]):
            return "the signature is not the secret's"
        return None


def _bili(code: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"code": code, "message": message, "ttl": 1,
                              "request_id": "35f4a1e0d3765a92"}  # fmt: skip
    if data is not None:
        answer["data"] = data
    return answer


@contextmanager
def fake_bilibili(clock: Clock) -> Iterator[FakeBilibili]:
    fake = FakeBilibili(clock=clock)
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            path, params = _query(self.path)
            if fake.outage:
                self.answer_raw(502, "text/html", OUTAGE_PAGE)
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            with lock:
                answer = fake.handle(path, params, headers)
                fake.calls.append((path, params, int(answer["code"])))
            self.answer(answer)

    with serve(Handler) as base:
        fake.url = base
        yield fake


# -- Douyin ---------------------------------------------------------------------------

DOUYIN_TOKEN = "act.test-douyin-token"
DOUYIN_OPEN_ID = "ba253642-0590-40bc-9bdf-9a1334b94059"
DOUYIN_FIELDS = {"fans": ("new_fans", "total_fans"), "item": ("new_issue", "new_play", "total_issue"),
                 "like": ("new_like",), "comment": ("new_comment",), "share": ("new_share",),
                 "profile": ("profile_uv",)}  # fmt: skip


@dataclass
class FakeDouyin:
    clock: Clock
    url: str = ""
    calls: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    days: dict[date, dict[str, int]] = field(default_factory=dict)  # day → field → value
    token_expired: bool = False
    quota_spent: bool = False
    outage: bool = False

    def date_types(self) -> list[str]:
        return [params.get("date_type", "") for _, params, _ in self.calls]

    def handle(self, path: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        token = headers.get("access-token")
        if token != DOUYIN_TOKEN:
            return _douyin_error(2190002, "access_token无效")
        if self.token_expired:
            return _douyin_error(28001008, "access_token过期,请刷新或重新授权")
        if self.quota_spent:
            return _douyin_error(28003017, "quota已用完")
        endpoint = path.removeprefix("/data/external/user/").strip("/")
        if endpoint not in DOUYIN_FIELDS or not path.endswith("/"):
            return _douyin_error(28001007, "参数不合法")
        if params.get("open_id") != DOUYIN_OPEN_ID or params.get("date_type") not in (
            "7",
            "15",
            "30",
        ):
            return _douyin_error(28001007, "参数不合法")
        yesterday = _today(self.clock) - timedelta(days=1)
        span = int(params["date_type"])
        result = []
        for back in range(span - 1, -1, -1):
            day = yesterday - timedelta(days=back)
            figures = self.days.get(day, {})
            # The docs write the numbers as strings ("new_like": "200"): so does the fake.
            row: dict[str, Any] = {"date": day.isoformat()}
            row.update({name: str(figures.get(name, 0)) for name in DOUYIN_FIELDS[endpoint]})
            result.append(row)
        return {"data": {"error_code": 0, "description": "", "result_list": result},
                "extra": {"error_code": 0, "description": "", "sub_error_code": 0,
                          "sub_description": "", "logid": "2020081214193601019808"}}  # fmt: skip


def _douyin_error(code: int, message: str) -> dict[str, Any]:
    return {"data": {"error_code": code, "description": message},
            "extra": {"error_code": code, "description": message, "sub_error_code": 0,
                      "logid": "2020081214193601019808"}}  # fmt: skip


@contextmanager
def fake_douyin(clock: Clock) -> Iterator[FakeDouyin]:
    fake = FakeDouyin(clock=clock)
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            path, params = _query(self.path)
            if fake.outage:
                self.answer_raw(502, "text/html", OUTAGE_PAGE)
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            with lock:
                answer = fake.handle(path, params, headers)
                fake.calls.append((path, params, int(answer["data"]["error_code"])))
            self.answer(answer)

    with serve(Handler) as base:
        fake.url = base
        yield fake
