"""The neutral face of the KPI source plug-ins (`bot/sources/`): what the KPI feature sees.

A source fetches a content platform's own figures (公众号's datacube, B站's and 抖音's open
platforms) and hands them over as `DailyFigure`s (an account's metric for a day) and
`PostFigure`s (one post's totals), keyed by our metric table (`bot/vocab/metrics.py`).
The feature stores them and never asks which platform it is talking to; a failure is a
`SourceError` whose catalogue key says, in the team's language, what to do about it.

Days are the platforms' days: all three count them in China time (`PLATFORM_ZONE`), and
none has figures for today, so a source answers for yesterday at the latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.clock import Clock
from bot.vocab.errors import InputError

PLATFORM_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class DailyFigure:
    """An account's figure for a day: `platform` is a content-platform key (`wechat`),
    `metric` one of `bot.vocab.metrics.METRIC_KEYS`."""

    platform: str
    day: date
    metric: str
    value: float


@dataclass(frozen=True)
class PostFigure:
    """One post's total for a metric, as the platform counted it when asked.

    `message_id` is the platform's id of the post (公众号: `msgid` as datacube writes it,
    `<msg_data_id>_<index>`; B站: the BV id); `day` the day it was published. Either may
    be None when the platform does not say, so a post is matched by id, or by title + day.
    """

    platform: str
    message_id: str | None
    title: str | None
    day: date | None
    metric: str
    value: float


class SourceError(InputError):
    """A fetch that failed, said in plain words (`message_key` with `params`).

    `retryable`: trying again later may succeed on its own (an outage, a busy platform,
    a spent quota); when False a person must change something first (a whitelist, a
    credential, a permission), and the key says what. `retry_tomorrow`: the platform's
    daily quota is spent, so calling again today only fails again. `figures` holds what
    was fetched before the failure (its days may be incomplete); `code` the platform's
    own error code (also a parameter of the message), for the log.
    """

    def __init__(
        self,
        message_key: str,
        *,
        retryable: bool,
        retry_tomorrow: bool = False,
        code: int | None = None,
        **params: object,
    ) -> None:
        if code is not None:
            params.setdefault("code", code)
        super().__init__(message_key, show_usage=False, **params)
        self.retryable = retryable or retry_tomorrow
        self.retry_tomorrow = retry_tomorrow
        self.code = code
        self.figures: list[DailyFigure] = []


class KpiSource(Protocol):
    """One configured source: a platform account the bot may read figures of.

    `name` is the source's name in the config (the key of the ledger's (team, source,
    day)); `platform` the content platform its figures belong to. `max_days_per_request`
    is the longest range one request of the API covers: `fetch_daily` splits a longer
    range itself, and a caller that shows progress can call it chunk by chunk
    (`split_range`). `history_days` is how far back the API reaches (days before
    yesterday are left out of the answer); None when it reaches back as far as anybody
    asks. `post_days` is how long after publishing a post's totals keep changing, so how
    many publish days a daily run should fetch posts for (0: the source has no posts).
    """

    name: str
    platform: str
    max_days_per_request: int
    history_days: int | None
    post_days: int

    def fetch_daily(self, start: date, end: date) -> list[DailyFigure]:
        """The account's figures for the days `start`…`end` (both included) that the
        platform has: none after yesterday, none before `history_days`."""
        ...

    def fetch_posts(self, start: date, end: date) -> list[PostFigure]:
        """Totals of the posts published `start`…`end`, as the platform counts them now."""
        ...

    def check(self) -> str:
        """One cheap authenticated call, for `opsbot doctor`: the account's id on success
        (`AppID wx…`, `client_id …`, `open_id …`); raises `SourceError` otherwise."""
        ...

    def close(self) -> None:
        """Let go of the HTTP connections (of a client the source made itself)."""
        ...


def platform_yesterday(clock: Clock) -> date:
    """The last day the platforms have figures for: yesterday in China."""
    return clock.now().astimezone(PLATFORM_ZONE).date() - timedelta(days=1)


def split_range(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """`start`…`end` cut into consecutive pieces of at most `max_days` days, oldest first."""
    if max_days < 1:
        raise ValueError("a piece has at least one day")
    pieces: list[tuple[date, date]] = []
    first = start
    while first <= end:
        last = min(first + timedelta(days=max_days - 1), end)
        pieces.append((first, last))
        first = last + timedelta(days=1)
    return pieces


def clip_range(
    start: date, end: date, *, earliest: date | None, latest: date
) -> tuple[date, date] | None:
    """The part of `start`…`end` within `earliest`…`latest`, or None when nothing is."""
    first = max(start, earliest) if earliest is not None else start
    last = min(end, latest)
    return (first, last) if first <= last else None
