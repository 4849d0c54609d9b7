"""How handlers declare commands, and what they receive when one runs.

A handler module creates a `CommandFamily` and tags its functions with
`@family.subcommand("add", "新增")`; `bot.app` registers every family in one place.
Usage lines, help texts and examples live in the i18n catalogues under
`<family>.<subcommand>.usage|help|example`, so both languages stay complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.config import Settings, TeamSettings
from bot.core.i18n import Translator
from bot.core.messages import Command, Reply
from bot.vocab.content_platforms import PlatformCatalogue

if TYPE_CHECKING:
    from bot.core.router import Router
    from storage.models import Member


class CommandError(Exception):
    """A command that cannot be carried out; the reply says why and nothing is stored.

    `message_key` names a catalogue entry; `show_usage` adds the sub-command's usage line,
    which helps with malformed input but is noise for a refusal such as "no permission".
    """

    def __init__(self, message_key: str, *, show_usage: bool = True, **params: object) -> None:
        super().__init__(message_key)
        self.message_key = message_key
        self.params = params
        self.show_usage = show_usage


@dataclass
class Context:
    """Everything a handler may use: the command, its speaker, storage, time and words."""

    command: Command
    session: Session
    settings: Settings
    team: TeamSettings
    clock: Clock
    member: Member
    t: Translator
    platforms: PlatformCatalogue
    router: Router

    @property
    def locale(self) -> str:
        return self.t.locale

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """Today in the team's timezone."""
        return self.local(self.now()).date()

    def day_label(self, day: date) -> dict[str, str]:
        """The `date` and `weekday` placeholders every day heading uses."""
        return {"date": day.strftime("%m-%d"), "weekday": self.t(f"weekday.{day.weekday()}")}

    def local(self, instant: datetime) -> datetime:
        """An instant in the team's timezone, for display and day boundaries."""
        return instant.astimezone(self.team.zone)


Handler = Callable[[Context, list[str]], Reply]


@dataclass(frozen=True)
class SubCommand:
    family: str
    name: str
    aliases: tuple[str, ...]
    handler: Handler
    # Only reads: a platform's retried delivery is simply answered again (it changes
    # nothing), so it is not recorded as handled — one write less on the busiest path.
    reads_only: bool = False

    @property
    def catalogue_key(self) -> str:
        return f"{self.family}.{self.name}" if self.name else self.family

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases) if self.name else ()


@dataclass
class CommandFamily:
    """A command like `/topic`, its aliases and its sub-commands.

    A family may have a default handler that gets the arguments when no sub-command is
    named (`/help topic`), instead of the family's help.
    """

    name: str
    aliases: tuple[str, ...] = ()
    subcommands: list[SubCommand] = field(default_factory=list)
    default: SubCommand | None = None

    def subcommand(
        self, name: str, *aliases: str, reads_only: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.subcommands.append(SubCommand(self.name, name, aliases, handler, reads_only))
            return handler

        return register

    def default_handler(self, *, reads_only: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.default = SubCommand(self.name, "", (), handler, reads_only)
            return handler

        return register

    def find(self, word: str) -> SubCommand | None:
        folded = word.casefold()
        for subcommand in self.subcommands:
            if folded in (spelling.casefold() for spelling in subcommand.spellings):
                return subcommand
        return None

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)
