"""`platforms.wecom` in the config: one of two modes.

`app` (the default): a self-built app's encrypted callbacks on `/wecom/callback`, app
messages and the group robot's webhook out — it needs the corp id, the app's agent id
and secret, and the callback's token and EncodingAESKey. `robot`: the smart robot's
long connection (智能机器人 · API 模式 · 长连接) — only the robot's id and secret; no
public URL, trusted IP or encryption. Only the keys of the chosen mode are required; a
missing one is reported under its own key, as pydantic reports a missing field.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.chat.base import ChatSettings

ROBOT_WS_URL = "wss://openws.work.weixin.qq.com"
NEEDED = {
    "app": ("corp_id", "agent_id", "secret", "token", "encoding_aes_key"),
    "robot": ("bot_id", "bot_secret"),
}


class WecomSettings(ChatSettings):
    mode: Literal["app", "robot"] = "app"
    # app mode ("" = not given: required in app mode only)
    corp_id: str = ""
    agent_id: str | int = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    robot_webhook_key: str | None = None
    base_url: str = "https://qyapi.weixin.qq.com"
    # robot mode
    bot_id: str = ""
    bot_secret: str = ""
    ws_url: str = ROBOT_WS_URL

    @model_validator(mode="after")
    def _mode_has_what_it_needs(self) -> Self:
        problems = [
            _problem(name, f"required in {self.mode} mode")
            for name in NEEDED[self.mode]
            if getattr(self, name) in ("", None)
        ]
        if self.mode == "robot" and not self.ws_url.startswith(("wss://", "ws://")):
            problems.append(_problem("ws_url", "must be a wss:// (or ws://) address"))
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def _problem(key: str, message: str) -> InitErrorDetails:
    """A problem reported under `key` (a model validator's own errors have no key)."""
    return InitErrorDetails(type=PydanticCustomError("wecom_mode", message), loc=(key,), input=None)
