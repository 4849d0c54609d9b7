"""Slack, on Bolt: slash commands and buttons in, Block Kit out (Socket Mode or HTTP)."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.chat.base import ChatServices, Check, HttpRoute
from bot.chat.slack.adapter import PLATFORM as NAME
from bot.chat.slack.adapter import SlackAdapter
from bot.chat.slack.client import web_client
from bot.chat.slack.doctor import check_slack
from bot.chat.slack.http import slack_route
from bot.chat.slack.sender import SlackSender
from bot.chat.slack.settings import SlackSettings
from bot.core.config import ConfigError, TeamSettings
from bot.core.i18n import Translator
from bot.core.outbound import Sender

log = logging.getLogger(__name__)


class SlackConnection:
    """Slack at work: the HTTP route, or the Socket Mode connection, and the sender."""

    def __init__(self, settings: SlackSettings, services: ChatServices) -> None:
        if settings.mode == "socket" and not settings.app_token:
            raise ConfigError("platforms.slack.app_token: Socket Mode needs an app-level token")
        self.settings = settings
        self.services = services
        self._socket_mode: SocketModeHandler | None = None

    @cached_property
    def adapter(self) -> SlackAdapter:
        """Built when first needed: a `tick` that only sends never builds the Bolt app."""
        return SlackAdapter(self.services, self.settings)

    def routes(self) -> list[HttpRoute]:
        return [slack_route(self.adapter)] if self.settings.mode == "http" else []

    def start(self) -> None:
        if self.settings.mode == "socket":
            assert self.settings.app_token is not None
            self._socket_mode = self.adapter.socket_mode_handler(self.settings.app_token)
            self._socket_mode.connect()
            log.info("slack: connected in Socket Mode")

    def stop(self) -> None:
        if self._socket_mode is not None:
            self._socket_mode.close()

    def sender(self) -> Sender:
        return self._sender

    @cached_property
    def _sender(self) -> SlackSender:
        """One sender for the connection's life: it keeps the per-channel pacing."""
        return SlackSender(web_client(self.settings))


class SlackPlatform:
    name = NAME
    settings_model = SlackSettings

    def default_channel(self, team: TeamSettings) -> str | None:
        return None

    def connect(self, settings: Any, services: ChatServices) -> SlackConnection:
        return SlackConnection(settings, services)

    def check(self, settings: Any, t: Translator) -> Check:
        return check_slack(settings, t)


PLATFORM = SlackPlatform()
