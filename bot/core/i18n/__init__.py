"""Reply texts in zh-CN and en.

Every text the bot says has a key in both catalogues (a test keeps them in step), and
handlers only ever use keys, so adding a language is adding one file.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.i18n import en, zh_cn

CATALOGUES: Mapping[str, Mapping[str, str]] = {"zh-CN": zh_cn.MESSAGES, "en": en.MESSAGES}


class Translator:
    """Looks up a key in one locale's catalogue and fills in its `{placeholders}`."""

    def __init__(self, locale: str) -> None:
        if locale not in CATALOGUES:
            raise ValueError(f"no catalogue for locale {locale!r}")
        self.locale = locale
        self._messages = CATALOGUES[locale]

    def __call__(self, key: str, **params: object) -> str:
        return self._messages[key].format(**params)

    def count(self, noun: str, number: int) -> str:
        """`1 vote`, `2 votes`, `2 票`: `count.<noun>.one` or `.other` with `{n}`."""
        form = "one" if number == 1 else "other"
        return self(f"count.{noun}.{form}", n=f"{number:,}")
