"""`platforms.feishu` in the config."""

from __future__ import annotations

from typing import Literal

from bot.chat.base import ChatSettings


class FeishuSettings(ChatSettings):
    app_id: str
    app_secret: str
    verification_token: str | None = None
    encrypt_key: str | None = None
    mode: Literal["websocket", "http"] = "http"
    base_url: str = "https://open.feishu.cn"
