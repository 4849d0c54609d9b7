"""How handlers declare commands, and what they receive when one runs.

A handler module creates a `CommandFamily` and tags its functions with
`@family.subcommand("add", "新增")`; `handlers/registry.py` lists every family in one place.
Usage lines, help texts and examples live in the i18n catalogues under
`<family>.<subcommand>.usage|help|example`, so both languages stay complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.config import Settings, TeamSettings
from bot.core.i18n import Translator
from bot.core.kpi_sources import KpiSource
from bot.core.messages import Command, Reply
from bot.vocab.content_platforms import PlatformCatalogue


class Speaker(Protocol):
    """The member who speaks, as handlers see them (storage's `Member` is one).

    A protocol, so that the core never imports storage; handlers may change the fields.
    """

    team_id: str
    id: str
    name: str
    role: str
    away_from: date | None
    away_to: date | None


class CommandIndex(Protocol):
    """The registered families, for `/help` (the router is one)."""

    @property
    def families(self) -> Sequence[CommandFamily]: ...

    def family(self, word: str) -> CommandFamily | None: ...


@dataclass
class Context:
    """Everything a handler may use: the command, its speaker, storage, time and words."""

    command: Command
    session: Session
    settings: Settings
    team: TeamSettings
    clock: Clock
    member: Speaker
    t: Translator
    content_platforms: PlatformCatalogue
    router: CommandIndex
    # The team's KPI sources (`kpi_sources`), built by the runtime; a feature fetches
    # through this neutral interface and never learns which API answers.
    kpi_sources: Sequence[KpiSource] = ()

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

    def day_text(self, day: date) -> str:
        """A day as a reply to a write echoes it: with its weekday, and its year when that
        is not this year, so a misread (`2027` for `2026`, Thursday for Tuesday) shows."""
        key = "date.full" if day.year == self.today().year else "date.full_with_year"
        return self.t(
            key, year=day.year, day=day.day,
            month_name=self.t(f"month.{day.month}"), weekday=self.t(f"weekday.{day.weekday()}"),
        )  # fmt: skip

    def instant_text(self, instant: datetime) -> str:
        """An instant as `day_text` shows its day, with the time in the team's timezone."""
        local = self.local(instant)
        return self.t("date.at", day=self.day_text(local.date()), time=local.strftime("%H:%M"))


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
    # What plain text in a direct message means, if this family takes it (the stand-up).
    conversation: SubCommand | None = None

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

    def conversation_handler(self) -> Callable[[Handler], Handler]:
        """Plain text said to the bot in a direct message goes to this handler."""

        def register(handler: Handler) -> Handler:
            self.conversation = SubCommand(self.name, "", (), handler)
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
