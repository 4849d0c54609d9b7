"""`platforms.wecom` in the config."""

from __future__ import annotations

from bot.chat.base import ChatSettings


class WecomSettings(ChatSettings):
    corp_id: str
    agent_id: str | int
    secret: str
    token: str
    encoding_aes_key: str
    robot_webhook_key: str | None = None
    base_url: str = "https://qyapi.weixin.qq.com"
