"""How figures are written in replies: thousands separators, percentages, changes, "–".

A figure that is not finite is written as missing, like one that cannot be computed: the
bot refuses values over a thousand trillion, but a database may hold larger ones stored
before that cap (or imported by hand), and two of those add up to infinity. A report
must still answer, so infinity and NaN never reach `int()` or a ratio.
"""

from __future__ import annotations

import math

MISSING = "–"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def format_number(value: float | None) -> str:
    """`38420.0` → `38,420`; `12.5` → `12.5`; None (or infinity) → `–`."""
    value = _finite(value)
    if value is None:
        return MISSING
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_signed(value: float | None) -> str:
    """A change in a count: `+1,130`, `-45`."""
    value = _finite(value)
    if value is None:
        return MISSING
    sign = "+" if value >= 0 else "-"
    return sign + format_number(abs(value))


def format_percent(ratio: float | None, *, digits: int = 1) -> str:
    """`0.0763` → `7.6%`."""
    ratio = _finite(ratio)
    if ratio is None:
        return MISSING
    return f"{ratio * 100:.{digits}f}%"


def format_change(ratio: float | None) -> str:
    """A week-over-week change: `↑18.2%`, `↓3.0%`, `→0.0%`, or `–` when it cannot be computed."""
    ratio = _finite(ratio)
    if ratio is None:
        return MISSING
    if abs(ratio) < 0.0005:
        return "→0.0%"
    return f"{'↑' if ratio > 0 else '↓'}{abs(ratio) * 100:.1f}%"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    numerator, denominator = _finite(numerator), _finite(denominator)
    if numerator is None or denominator is None or denominator == 0:
        return None
    return _finite(numerator / denominator)


def change(current: float | None, previous: float | None) -> float | None:
    """The relative change from previous to current; None when previous is missing or zero."""
    current, previous = _finite(current), _finite(previous)
    if current is None or previous is None or previous == 0:
        return None
    return _finite((current - previous) / abs(previous))
