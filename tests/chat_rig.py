"""One set-up for every chat platform's end-to-end tests: the bot on a real SQLite file,
its configured plug-in connected as `opsbot run` connects it (with an inline executor, so
nothing a test checks happens on another thread), and the HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.chat.base import ChatConnection, Check, InlineExecutor
from bot.core.clock import FrozenClock
from bot.core.messages import Command, Reply
from bot.runtime.app import OpsBot
from bot.runtime.delivery import DeliveryReport
from bot.runtime.server import BackgroundServer, build_http_app
from bot.runtime.settings import configured_platforms
from bot.runtime.wiring import ChatPlatforms, connect_chat_platforms, deliver_outbox
from tests.conftest import make_settings, start_migrated

MONDAY_10 = datetime.fromisoformat("2026-11-23T10:00:00+08:00")


@dataclass
class ChatRig:
    bot: OpsBot
    clock: FrozenClock
    url: str
    platform: str
    platforms: ChatPlatforms
    fake: Any = None  # the fake platform API the plug-in talks to

    @classmethod
    def of(cls, rig: ChatRig, fake: Any) -> Any:
        """This rig, as a platform's own subclass with its helpers, on `fake`."""
        return cls(**{**vars(rig), "fake": fake})

    @property
    def connection(self) -> Any:
        connection: ChatConnection = self.platforms.connections[self.platform]
        return connection

    @property
    def settings(self) -> Any:
        (configured,) = configured_platforms(self.bot.settings)
        return configured.settings

    def check(self) -> Check:
        (configured,) = configured_platforms(self.bot.settings)
        return configured.platform.check(configured.settings, self.bot.t)

    def deliver(self) -> DeliveryReport:
        """Deliver the outbox through the plug-in's own sender, as `opsbot tick` does."""
        return deliver_outbox(self.bot, self.platforms)

    def say(self, text: str, speaker: str = "alice") -> Reply:
        """A console command to the same bot (to set things up or read them back)."""
        return self.bot.say(text, speaker=speaker)

    def topics(self) -> list[str]:
        reply = self.say("/topic list all")
        return [row[2] for section in reply.sections for row in section.rows]


@contextmanager
def chat_rig(
    url: str,
    platform: str,
    platform_settings: dict[str, Any],
    *,
    members: list[dict[str, Any]],
    channels: dict[str, str],
    now: datetime = MONDAY_10,
    serve: bool = True,
) -> Iterator[ChatRig]:
    settings = make_settings(
        url,
        platforms={platform: platform_settings},
        team={"members": members, "channels": channels},
    )
    clock = FrozenClock(now)
    start_migrated(url)
    bot = OpsBot.open(settings, clock)
    platforms = connect_chat_platforms(bot, executor=InlineExecutor())
    server = BackgroundServer(build_http_app(bot, platforms.routes())) if serve else None
    port = server.start() if server else 0
    try:
        yield ChatRig(bot, clock, f"http://127.0.0.1:{port}", platform, platforms)
    finally:
        if server:
            server.stop()
        platforms.stop()
        bot.engine.dispose()


__all__ = ["MONDAY_10", "ChatRig", "Command", "chat_rig"]
