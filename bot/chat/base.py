"""What a chat platform plug-in is, and what the runtime gives it.

A plug-in is one folder under `bot/chat/` with a module-level `PLATFORM` that follows
`ChatPlatform`, listed once in `bot/chat/__init__.py` by name (`PlugIn`), and imported
when first used. It knows its platform (SDK,
signatures, rendering, rate limits) and the core (commands, replies, the dispatcher);
it never touches storage or a feature: what it needs of them comes through
`ChatServices` (to run a command) or is resolved before it is called (the address of
an outgoing message).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings, TeamSettings
from bot.core.dispatch import Dispatcher
from bot.core.i18n import Translator
from bot.core.outbound import Sender

if TYPE_CHECKING:  # the routes' types only: starlette is imported by the plug-ins that serve
    from starlette.requests import Request
    from starlette.responses import Response


class ChatSettings(BaseModel):
    """The base of a plug-in's settings model: unknown keys are refused, so a typo in
    `platforms.<name>` is reported at start instead of ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Check:
    """One line of `opsbot doctor`: whether something works, in plain words."""

    ok: bool
    text: str


@dataclass(frozen=True)
class HttpRoute:
    """A route the plug-in serves on `opsbot run`'s HTTP server (its callbacks)."""

    path: str
    endpoint: Callable[[Request], Awaitable[Response]]
    methods: tuple[str, ...] = ("POST",)


class InlineExecutor(Executor):
    """Runs what is submitted at once, in the caller's thread: how tests drive a plug-in
    that answers first and works after, without waiting for another thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        from concurrent.futures import Future

        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # the future carries it, as a thread pool's would
            future.set_exception(error)
        return future


SIGNED_REQUEST_WINDOW_SECONDS = 5 * 60


@dataclass
class ChatServices:
    """All a plug-in may use of the bot.

    `executor` runs work after the platform has been answered (Feishu and WeCom want an
    answer within seconds); `answers_at_once` says whether a command dispatched with
    `may_wait=False` can succeed at all (a SQLite file); `command_threads` how many
    commands may usefully run at the same time.
    """

    dispatcher: Dispatcher
    settings: Settings
    clock: Clock
    t: Translator
    executor: Executor = field(default_factory=InlineExecutor)
    answers_at_once: bool = False
    command_threads: int = 1
    # Signature windows are about the real world (a replay), so they use the real clock
    # even when the bot's own clock is frozen for a preview.
    wall_clock: Clock = field(default_factory=SystemClock)

    def signed_recently(self, timestamp: str) -> bool:
        """Whether a signed request's timestamp (Unix seconds) is within five minutes of
        the real clock, either way — as Slack checks its own: a captured request
        replayed later, or stamped in the future, is refused even though it verifies."""
        try:
            sent = float(timestamp)
        except ValueError:
            return False
        return abs(self.wall_clock.now().timestamp() - sent) <= SIGNED_REQUEST_WINDOW_SECONDS


class ChatConnection(Protocol):
    """A configured plug-in at work: its routes, its long connection, its sender."""

    def routes(self) -> list[HttpRoute]:
        """HTTP callbacks to serve (none for a long connection)."""
        ...

    def start(self) -> None:
        """Open a long connection, if the platform is reached that way (returns at once)."""
        ...

    def stop(self) -> None: ...

    def sender(self) -> Sender:
        """What delivers the outbox's items to this platform."""
        ...


class ChatPlatform(Protocol):
    """A chat platform plug-in (`bot/chat/<name>/__init__.py` has one as `PLATFORM`)."""

    @property
    def name(self) -> str:
        """Its key in the config (`platforms.<name>`, `channels.<name>`, member ids)."""
        ...

    @property
    def settings_model(self) -> type[BaseModel] | None:
        """The model of its `platforms.<name>` section (None: it takes no settings)."""
        ...

    def default_channel(self, team: TeamSettings) -> str | None:
        """Where a team's posts go when `channels.<name>` is not set (None: nowhere)."""
        ...

    def connect(self, settings: Any, services: ChatServices) -> ChatConnection:
        """Build the connection from its validated settings."""
        ...

    def check(self, settings: Any, t: Translator) -> Check:
        """For `opsbot doctor`: do the credentials work? (May call the platform.) Worded
        by `t`, in the config's language, like the rest of the report."""
        ...


class PlugIn:
    """A plug-in of the list in `bot/chat/__init__.py`, known by its name and imported
    (`bot.chat.<name>`) the first time more than its name is asked for.

    Its SDK comes with it (Bolt alone is a hundred modules), so a command that only reads
    the config, or a config that turns on one platform, never pays for the others; the
    names are what the config is checked against.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._loaded: ChatPlatform | None = None

    def __repr__(self) -> str:
        return f"PlugIn({self._name!r})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> ChatPlatform:
        """The plug-in's `PLATFORM`, imported now if it was not yet."""
        if self._loaded is None:
            platform: ChatPlatform = importlib.import_module(f"bot.chat.{self._name}").PLATFORM
            if platform.name != self._name:
                raise ImportError(
                    f"bot.chat.{self._name}.PLATFORM is named {platform.name!r}, "
                    f"not {self._name!r} as bot/chat/__init__.py lists it"
                )
            self._loaded = platform
        return self._loaded

    @property
    def settings_model(self) -> type[BaseModel] | None:
        return self.loaded.settings_model

    def default_channel(self, team: TeamSettings) -> str | None:
        return self.loaded.default_channel(team)

    def connect(self, settings: Any, services: ChatServices) -> ChatConnection:
        return self.loaded.connect(settings, services)

    def check(self, settings: Any, t: Translator) -> Check:
        return self.loaded.check(settings, t)
