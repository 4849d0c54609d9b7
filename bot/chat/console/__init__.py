"""The console: a chat with the bot in a terminal, and where posts go with no chat platform."""

from __future__ import annotations

from typing import Any

from bot.chat.base import ChatServices, Check, HttpRoute
from bot.chat.console.adapter import PLATFORM as NAME
from bot.chat.console.adapter import ConsoleSender
from bot.core.config import TeamSettings
from bot.core.i18n import Translator
from bot.core.outbound import Sender


class ConsoleConnection:
    def __init__(self, services: ChatServices) -> None:
        self.team_names = {team.id: team.display_name for team in services.settings.teams}

    def routes(self) -> list[HttpRoute]:
        return []

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def sender(self) -> Sender:
        return ConsoleSender(team_names=self.team_names)


class ConsolePlatform:
    name = NAME
    settings_model = None

    def default_channel(self, team: TeamSettings) -> str | None:
        return team.id  # the terminal: every team's posts are printed there

    def connect(self, settings: Any, services: ChatServices) -> ConsoleConnection:
        return ConsoleConnection(services)

    def check(self, settings: Any, t: Translator) -> Check:
        return Check(True, t("doctor.console.ok"))


PLATFORM = ConsolePlatform()
