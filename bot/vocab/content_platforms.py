"""The content platforms a team publishes on, their display names and aliases.

This is the one table that knows that `xhs` and 小红书 both mean Xiaohongshu; commands,
imports and reports all resolve platform names through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ContentPlatform:
    key: str
    english: str
    chinese: str
    aliases: tuple[str, ...] = ()

    def name(self, locale: str) -> str:
        return self.chinese if locale == "zh-CN" else self.english


BUILTIN_PLATFORMS: tuple[ContentPlatform, ...] = (
    ContentPlatform("wechat", "WeChat", "公众号", ("公众号", "微信公众号", "weixin", "mp")),
    ContentPlatform("xiaohongshu", "Xiaohongshu", "小红书", ("小红书", "xhs", "rednote")),
    ContentPlatform("douyin", "Douyin", "抖音", ("抖音",)),
    ContentPlatform("weibo", "Weibo", "微博", ("微博",)),
    ContentPlatform("zhihu", "Zhihu", "知乎", ("知乎",)),
    ContentPlatform("bilibili", "Bilibili", "B站", ("b站", "哔哩哔哩", "bili")),
    ContentPlatform("channels", "WeChat Channels", "视频号", ("视频号",)),
    ContentPlatform("miniprogram", "Mini Program", "小程序", ("小程序", "mini")),
    ContentPlatform("toutiao", "Toutiao", "头条", ("头条", "今日头条")),
)


class PlatformCatalogue:
    """Resolves what a user typed to a platform key; config may add platforms of its own."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        self._platforms: dict[str, ContentPlatform] = {}
        self._lookup: dict[str, str] = {}
        for platform in BUILTIN_PLATFORMS:
            self._add(platform)
        for name in extra_names:
            if self.resolve(name) is None:
                self._add(ContentPlatform(name.lower(), name, name))

    def _add(self, platform: ContentPlatform) -> None:
        self._platforms[platform.key] = platform
        for spelling in (platform.key, platform.english, platform.chinese, *platform.aliases):
            self._lookup.setdefault(spelling.casefold(), platform.key)

    def resolve(self, text: str) -> str | None:
        """The platform key for a name or alias, or None when it is not a known platform."""
        return self._lookup.get(text.strip().casefold())

    def name(self, key: str | None, locale: str) -> str:
        if key is None:
            return ""
        platform = self._platforms.get(key)
        return platform.name(locale) if platform else key

    @property
    def keys(self) -> list[str]:
        return list(self._platforms)
