"""Feishu (Lark): encrypted event callbacks or the long connection in, cards out."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import Any

from bot.chat.base import ChatServices, Check, HttpRoute
from bot.chat.feishu.adapter import PLATFORM as NAME
from bot.chat.feishu.adapter import FeishuAdapter
from bot.chat.feishu.client import FeishuClient
from bot.chat.feishu.doctor import check_feishu
from bot.chat.feishu.http import feishu_route
from bot.chat.feishu.sender import FeishuSender
from bot.chat.feishu.settings import FeishuSettings
from bot.core.config import TeamSettings
from bot.core.i18n import Translator
from bot.core.outbound import Sender

log = logging.getLogger(__name__)


class FeishuConnection:
    def __init__(self, settings: FeishuSettings, services: ChatServices) -> None:
        self.settings = settings
        self.client = FeishuClient(settings, services.clock)
        self.adapter = FeishuAdapter(services, settings, self.client)

    def routes(self) -> list[HttpRoute]:
        return [feishu_route(self.adapter)] if self.settings.mode == "http" else []

    def start(self) -> None:
        if self.settings.mode == "websocket":
            threading.Thread(
                target=self.adapter.start_websocket, name="feishu-ws", daemon=True
            ).start()
            log.info("feishu: long connection started")

    def stop(self) -> None:
        pass  # the SDK's long connection lives in a daemon thread

    def sender(self) -> Sender:
        return self._sender

    @cached_property
    def _sender(self) -> FeishuSender:
        """One sender for the connection's life: it keeps the per-channel pacing."""
        return FeishuSender(self.client)


class FeishuPlatform:
    name = NAME
    settings_model = FeishuSettings

    def default_channel(self, team: TeamSettings) -> str | None:
        return None

    def connect(self, settings: Any, services: ChatServices) -> FeishuConnection:
        return FeishuConnection(settings, services)

    def check(self, settings: Any, t: Translator) -> Check:
        return check_feishu(settings, t)


PLATFORM = FeishuPlatform()
