"""Finds the family and sub-command a line of text asks for.

The router only reads words: `/选题 新增 …` and `/topic add …` resolve to the same
sub-command. Running it, and turning failures into replies, is the dispatcher's job
(`bot.runtime.app.OpsBot.dispatch`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.commands import CommandFamily, SubCommand

COMMAND_PREFIXES = ("/", "／")  # a Chinese input method often types the full-width slash
FAMILY_HELP_WORDS = ("help", "帮助", "?", "？")


class NotACommand(Exception):
    """The text does not start with a slash."""


class UnknownCommand(Exception):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


class UnknownSubcommand(Exception):
    def __init__(self, family: CommandFamily, word: str) -> None:
        super().__init__(word)
        self.family = family
        self.word = word


@dataclass(frozen=True)
class Route:
    """What to run: a sub-command with its argument words, or (None) the family's help."""

    family: CommandFamily
    subcommand: SubCommand | None
    args: list[str]


class Router:
    def __init__(self, families: Iterable[CommandFamily]) -> None:
        self.families: list[CommandFamily] = list(families)
        self._by_spelling: dict[str, CommandFamily] = {}
        for family in self.families:
            for spelling in family.spellings:
                if spelling.casefold() in self._by_spelling:
                    raise ValueError(f"command name {spelling!r} is registered twice")
                self._by_spelling[spelling.casefold()] = family

    def family(self, word: str) -> CommandFamily | None:
        """A family by name or alias, with or without its slash."""
        return self._by_spelling.get(word.lstrip("".join(COMMAND_PREFIXES)).casefold())

    def conversation(self, text: str) -> Route | None:
        """Where plain text in a direct message goes: the family that takes it, if any."""
        for family in self.families:
            if family.conversation is not None:
                return Route(family, family.conversation, text.split())
        return None

    def route(self, text: str) -> Route:
        words = text.split()
        if not words or not words[0].startswith(COMMAND_PREFIXES):
            raise NotACommand(text)
        family = self.family(words[0])
        if family is None or not words[0].lstrip("".join(COMMAND_PREFIXES)):
            raise UnknownCommand(words[0])
        if len(words) == 1:
            return Route(family, family.default, [])
        subcommand = family.find(words[1])
        if subcommand is not None:
            return Route(family, subcommand, words[2:])
        if family.default is not None:
            return Route(family, family.default, words[1:])
        if words[1].casefold() in FAMILY_HELP_WORDS:
            return Route(family, None, [])
        raise UnknownSubcommand(family, words[1])
