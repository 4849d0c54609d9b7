"""`platforms.slack` in the config."""

from __future__ import annotations

from typing import Literal

from bot.chat.base import ChatSettings


class SlackSettings(ChatSettings):
    bot_token: str
    signing_secret: str
    app_token: str | None = None
    mode: Literal["socket", "http"] = "socket"
    api_url: str = "https://slack.com/api/"
