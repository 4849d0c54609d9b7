"""Refusals a handler raises: the reply says why, and the command's transaction rolls back."""

from __future__ import annotations

from bot.vocab.errors import InputError


class CommandError(InputError):
    """A command that cannot be carried out (a rule, a permission, a missing record).

    It is an `InputError` so that the dispatcher treats both alike: one reply naming the
    reason, the usage line where it helps, and nothing stored.
    """
