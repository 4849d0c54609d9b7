"""`python -m bot` is the same as the `opsbot` command."""

from bot.runtime.cli import command_line

raise SystemExit(command_line())
