"""What the KPI sources share: one HTTP call whose failures are `SourceError`s, the keys
of the failures every platform has, and reading the numbers and days of an answer.

An outage is said the same way for every platform (unreachable, or an answer that is not
JSON, or HTTP 5xx) and is always worth another try; what a platform's own error codes
mean is each source's table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx

from bot.core.kpi_sources import SourceError

TIMEOUT_SECONDS = 20.0

UNKNOWN_KIND = "kpi_source.error.unknown_kind"
MISSING_SETTING = "kpi_source.error.missing_setting"
UNREACHABLE = "kpi_source.error.unreachable"
SERVER_ERROR = "kpi_source.error.server_error"
BAD_ANSWER = "kpi_source.error.bad_answer"
NOT_READY = "kpi_source.error.not_ready"
BUSY = "kpi_source.error.busy"
UNKNOWN_CODE = "kpi_source.error.unknown_code"
DAILY_QUOTA = "kpi_source.error.daily_quota"
MINUTE_QUOTA = "kpi_source.error.minute_quota"
BAD_DATES = "kpi_source.error.bad_dates"
BAD_REQUEST = "kpi_source.error.bad_request"
NO_PERMISSION = "kpi_source.error.no_permission"
TOKEN_EXPIRED = "kpi_source.error.token_expired"
APP_CREDENTIALS = "kpi_source.error.app_credentials"

# A credential in a URL must not reach a message or the log.
_SECRET_IN_URL = re.compile(r"(access_token|secret)=[^&\s]+")


def setting(settings: Mapping[str, object], key: str, *, source: str) -> str:
    """A required setting as text; a missing or empty one is said, naming the setting."""
    value = settings.get(key)
    if value is None or not str(value).strip():
        raise SourceError(MISSING_SETTING, retryable=False, source=source, setting=key)
    return str(value).strip()


def optional_setting(settings: Mapping[str, object], key: str, default: str) -> str:
    value = settings.get(key)
    return str(value).strip() if value is not None and str(value).strip() else default


def client(http: httpx.Client | None, api_url: str) -> httpx.Client:
    """The given client, or one for `api_url` (tests pass a fake's 127.0.0.1 address)."""
    if http is not None:
        return http
    return httpx.Client(base_url=api_url.rstrip("/"), timeout=TIMEOUT_SECONDS)


def request_json(
    http: httpx.Client, method: str, path: str, *, source: str, **options: Any
) -> dict[str, Any]:
    """The platform's JSON object for one request. Unreachable, HTTP 5xx and an answer that
    is not a JSON object (a proxy's HTML page) are outages: `SourceError`, retryable.
    A 4xx with a JSON body is returned: the platform's error code in it says more."""
    url = str(http.base_url).rstrip("/")
    try:
        response = http.request(method, path, **options)
    except httpx.HTTPError as error:
        reason = _SECRET_IN_URL.sub(r"\1=***", str(error)) or type(error).__name__
        raise SourceError(
            UNREACHABLE, retryable=True, source=source, url=url, reason=reason
        ) from None
    if response.status_code >= 500:
        raise SourceError(
            SERVER_ERROR, retryable=True, source=source, url=url, status=response.status_code
        )
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SourceError(
            SERVER_ERROR, retryable=True, source=source, url=url, status=response.status_code
        )
    return data


def count(value: object, field: str, *, source: str) -> float:
    """A count as the platforms write it: a number, or its digits in a string (抖音)."""
    if isinstance(value, bool):
        raise _bad_answer(field, value, source)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _bad_answer(field, value, source)


def day(value: object, field: str, *, source: str) -> date:
    """A day as the platforms write it, `YYYY-MM-DD`."""
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise _bad_answer(field, value, source) from None


def rows(value: object, field: str, *, source: str) -> list[dict[str, Any]]:
    """A list of JSON objects (an absent or null list is empty: a day without figures)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise _bad_answer(field, value, source)
    return value


def _bad_answer(field: str, value: object, source: str) -> SourceError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return SourceError(BAD_ANSWER, retryable=True, source=source, detail=f"{field}={shown}")
