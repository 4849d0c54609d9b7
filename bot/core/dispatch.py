"""The one entry point of every chat platform: `dispatch(command, delivery)`.

A plug-in turns what the platform sent into a neutral `Command`, says how it came in a
`Delivery`, and gets a `Reply` back (None when the platform's retry of something
already handled needs no answer). The implementation lives in the runtime, which wires
storage; the core only names the contract, so that plug-ins know nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.messages import Command, Reply


class WouldWait(Exception):
    """The command cannot be answered without waiting (for the database's write lock,
    or to register a newcomer), and the caller said it may not wait. Nothing changed."""


@dataclass(frozen=True)
class Delivery:
    """How a command reached the bot.

    `platform` is the chat platform's name (`console`, `slack` …). `event_id` is the
    platform's own id of the delivery, when it may deliver it again (a retry): the
    command then runs once, recorded in its own transaction, so a failed command is not
    marked handled. `may_wait` is False where waiting is not allowed (an event loop):
    the dispatcher raises `WouldWait` instead, having changed nothing.
    """

    platform: str
    event_id: str | None = None
    may_wait: bool = True


class Dispatcher(Protocol):
    def dispatch(self, command: Command, delivery: Delivery) -> Reply | None:
        """Run one command; the reply, or None for a delivery already handled.

        Never raises, except `WouldWait` when `delivery.may_wait` is False.
        """
        ...
