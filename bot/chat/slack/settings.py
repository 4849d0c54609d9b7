"""`platforms.slack` in the config."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from bot.chat.base import ChatSettings
from bot.chat.slack.names import DEFAULT_UMBRELLA, check_umbrella


class SlackSettings(ChatSettings):
    bot_token: str
    signing_secret: str
    app_token: str | None = None
    mode: Literal["socket", "http"] = "socket"
    api_url: str = "https://slack.com/api/"
    # The umbrella slash command (slack/manifest.yaml must register the same name).
    command: str = DEFAULT_UMBRELLA

    @field_validator("command")
    @classmethod
    def _slack_accepts_it(cls, value: str) -> str:
        return check_umbrella(value)
