"""Connecting the chat plug-ins the config turns on to the bot: the one place that does.

The console is always connected: it is where posts go when no chat platform is
configured, and it takes no settings.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from bot.chat import BY_NAME, CONSOLE
from bot.chat.base import ChatConnection, ChatServices, HttpRoute
from bot.core.outbound import Sender
from bot.runtime.app import OpsBot
from bot.runtime.delivery import DeliveryReport, TeamAddresses, deliver_due
from bot.runtime.settings import configured_platforms

EVENT_THREADS = 8  # callbacks answered at once and handled after (Feishu, WeCom)


def chat_services(bot: OpsBot, executor: Executor | None = None) -> ChatServices:
    """What every plug-in gets: the dispatcher, words, time, and where to work after."""
    return ChatServices(
        dispatcher=bot,
        settings=bot.settings,
        clock=bot.clock,
        t=bot.t,
        executor=executor or ThreadPoolExecutor(EVENT_THREADS, thread_name_prefix="chat-event"),
        answers_at_once=bot.answers_at_once,
        command_threads=bot.command_threads,
    )


@dataclass
class ChatPlatforms:
    """The connected plug-ins, by name."""

    connections: dict[str, ChatConnection]

    def routes(self) -> list[HttpRoute]:
        return [route for connection in self.connections.values() for route in connection.routes()]

    def senders(self) -> dict[str, Sender]:
        return {name: connection.sender() for name, connection in self.connections.items()}

    def start(self) -> None:
        for connection in self.connections.values():
            connection.start()

    def stop(self) -> None:
        for connection in self.connections.values():
            connection.stop()


def connect_chat_platforms(bot: OpsBot, executor: Executor | None = None) -> ChatPlatforms:
    services = chat_services(bot, executor)
    connections = {CONSOLE: BY_NAME[CONSOLE].connect(None, services)}
    for configured in configured_platforms(bot.settings):
        connections[configured.name] = configured.platform.connect(configured.settings, services)
    return ChatPlatforms(connections)


def deliver_outbox(bot: OpsBot, platforms: ChatPlatforms | None = None) -> DeliveryReport:
    """Send what is due in the outbox through the connected plug-ins' senders."""
    platforms = platforms or connect_chat_platforms(bot)
    return deliver_due(bot.engine, platforms.senders(), bot.clock, TeamAddresses(bot.settings))
