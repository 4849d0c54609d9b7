"""The one source of "now".

Nothing in opsbot calls `datetime.now()` directly: every part gets a clock, so tests,
previews and scripted checks can freeze or move time (`OPSBOT_NOW`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until a test (or a preview) moves it."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a frozen clock needs an instant with a UTC offset")
        self._instant = instant.astimezone(UTC)

    def now(self) -> datetime:
        return self._instant

    def set(self, instant: datetime) -> None:
        self._instant = FrozenClock(instant).now()

    def advance(self, delta: timedelta) -> None:
        self._instant += delta


class MissingOffset(ValueError):
    """An instant written without its UTC offset: which moment it is depends on a zone."""


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant that must carry its UTC offset (`2026-11-23T09:00+08:00`)."""
    instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise MissingOffset(f"{text!r} has no UTC offset; write it like 2026-11-23T09:00+08:00")
    return instant


def clock_from_environment(value: str | None) -> Clock:
    """The clock for the CLI: frozen at `OPSBOT_NOW` when it is set, else the system clock."""
    if not value:
        return SystemClock()
    return FrozenClock(parse_instant(value))
