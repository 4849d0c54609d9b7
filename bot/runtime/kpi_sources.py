"""The team's KPI sources as the config names them, built into `bot/sources` plug-ins.

Apart from the bot so that `opsbot doctor` can check a source without opening the bot.
"""

from __future__ import annotations

from bot.core.clock import Clock
from bot.core.config import KpiSourceSettings
from bot.core.kpi_sources import KpiSource

# `kpi_sources[].source` as SPEC names them → the source plug-in (`bot/sources`).
SOURCE_KINDS = {"wechat": "wechat_mp", "weixin": "wechat_mp", "公众号": "wechat_mp"}


def _source_options(options: dict[str, object]) -> dict[str, object]:
    """SPEC's `base_url` is the plug-ins' `api_url`."""
    if "base_url" in options:
        options = {**options, "api_url": options["base_url"]}
        del options["base_url"]
    return options


def build_kpi_source(entry: KpiSourceSettings, clock: Clock) -> KpiSource:
    """The source of one `kpi_sources` entry (SPEC's names: `wechat`, `base_url`)."""
    from bot.sources import build_source  # httpx and the sources: only when used

    kind = SOURCE_KINDS.get(entry.source, entry.source)
    return build_source(kind, _source_options(entry.options()), clock=clock)
