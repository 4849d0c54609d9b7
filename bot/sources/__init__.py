"""The KPI source plug-ins: one module per platform's data API, listed once here.

Each module has a class that follows `bot.core.kpi_sources.KpiSource`, built from the
plain settings of one `kpi_sources` entry (secrets already resolved from `${ENV}`), the
clock, and optionally an `httpx.Client` (tests point it at a fake on 127.0.0.1; without
one the source makes its own for the entry's `api_url`). A fourth source is a module and
a line in `SOURCES`. Only the runtime imports this package; the KPI feature sees the
neutral interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from bot.core.clock import Clock
from bot.core.kpi_sources import KpiSource, SourceError
from bot.sources.bilibili import BilibiliSource
from bot.sources.douyin import DouyinSource
from bot.sources.http import UNKNOWN_KIND
from bot.sources.wechat_mp import WechatMpSource


class SourceFactory(Protocol):
    def __call__(
        self, settings: Mapping[str, object], *, clock: Clock, http: httpx.Client | None = None
    ) -> KpiSource: ...


@dataclass(frozen=True)
class SourceKind:
    """How to build a source, and the settings its config entry must have (for the
    config loader's check at start)."""

    build: SourceFactory
    required_settings: tuple[str, ...]


# kind (as the config names it) → how to build it.
SOURCES: dict[str, SourceKind] = {
    "wechat_mp": SourceKind(WechatMpSource, WechatMpSource.required_settings),
    "bilibili": SourceKind(BilibiliSource, BilibiliSource.required_settings),
    "douyin": SourceKind(DouyinSource, DouyinSource.required_settings),
}


def build_source(
    kind: str, settings: Mapping[str, object], *, clock: Clock, http: httpx.Client | None = None
) -> KpiSource:
    """The source for one `kpi_sources` entry; `SourceError` for an unknown kind or a
    missing setting (its key names which)."""
    found = SOURCES.get(kind)
    if found is None:
        raise SourceError(UNKNOWN_KIND, retryable=False, kind=kind, known=", ".join(SOURCES))
    return found.build(settings, clock=clock, http=http)
