"""The one parser for task estimates (`~30m`, `~2h`, `~1.5h`, `~1h30m`, `~2小时`, `~半小时`)."""

from __future__ import annotations

import re

from bot.vocab.errors import InputError

MAX_MINUTES = 16 * 60
_UNITS = {
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60, "小时": 60, "个小时": 60, "时": 60,
    "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "分钟": 1, "分": 1,
}  # fmt: skip
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+|个小时|小时|时|分钟|分)", re.IGNORECASE)


def is_estimate(word: str) -> bool:
    return word.startswith(("~", "～")) and len(word) > 1


def parse_estimate(word: str) -> int:
    """Minutes in an estimate word such as `~1h30m`; refuses zero, negative and over 16 h."""
    body = word[1:].strip().casefold()
    if body in ("半小时", "半个小时"):
        return 30
    minutes = 0.0
    position = 0
    for match in _PART.finditer(body):
        unit = _UNITS.get(match.group(2).casefold())
        if match.start() != position or unit is None:
            break
        minutes += float(match.group(1)) * unit
        position = match.end()
    else:
        if position == len(body) and 0 < minutes <= MAX_MINUTES and minutes == int(minutes):
            return int(minutes)
    raise InputError("errors.bad_estimate", value=word[:20], max_hours=MAX_MINUTES // 60)


def format_minutes(minutes: int, *, hours_word: str = "h", minutes_word: str = "m") -> str:
    """`90` → `1.5h`, `30` → `30m`, `150` → `2.5h`, `100` → `1h40m`."""
    if minutes < 60:
        return f"{minutes}{minutes_word}"
    if minutes % 30 == 0:
        return f"{minutes / 60:g}{hours_word}"
    return f"{minutes // 60}{hours_word}{minutes % 60}{minutes_word}"
