"""WeCom (企业微信), in one of two modes (`platforms.wecom.mode`).

`app`: encrypted app callbacks in, app messages and the group robot out. `robot`: the
smart robot's long connection (`robot.py`): no public URL, trusted IP or encryption.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from bot.chat.base import ChatConnection, ChatServices, Check, HttpRoute
from bot.chat.wecom.adapter import PLATFORM as NAME
from bot.chat.wecom.adapter import WecomAdapter
from bot.chat.wecom.client import WecomClient
from bot.chat.wecom.doctor import check_wecom
from bot.chat.wecom.http import wecom_route
from bot.chat.wecom.sender import ROBOT, WecomSender
from bot.chat.wecom.settings import WecomSettings
from bot.core.config import TeamSettings
from bot.core.i18n import Translator
from bot.core.outbound import Sender


class WecomConnection:
    def __init__(self, settings: WecomSettings, services: ChatServices) -> None:
        self.client = WecomClient(settings, services.clock)
        self.adapter = WecomAdapter(services, settings, self.client)

    def routes(self) -> list[HttpRoute]:
        return [wecom_route(self.adapter)]

    def start(self) -> None:
        pass  # WeCom calls back; there is no connection to open

    def stop(self) -> None:
        pass

    def sender(self) -> Sender:
        return self._sender

    @cached_property
    def _sender(self) -> WecomSender:
        """One sender for the connection's life: it keeps the per-channel pacing."""
        return WecomSender(self.client)


class WecomPlatform:
    name = NAME
    settings_model = WecomSettings

    def default_channel(self, team: TeamSettings) -> str | None:
        return ROBOT  # the group robot, when no users are named in `channels.wecom`

    def connect(self, settings: Any, services: ChatServices) -> ChatConnection:
        if settings.mode == "robot":
            from bot.chat.wecom.robot import WecomRobotConnection  # imports websockets

            return WecomRobotConnection(settings, services)
        return WecomConnection(settings, services)

    def check(self, settings: Any, t: Translator) -> Check:
        return check_wecom(settings, t)


PLATFORM = WecomPlatform()
