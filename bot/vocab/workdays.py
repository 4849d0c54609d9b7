"""Which days a team works: weekdays, or with `calendar: CN` the official Chinese calendar
(public holidays off, weekend make-up workdays — 调休 — on), minus configured holidays.

The Chinese calendar comes from the maintained `chinese-calendar` package, which knows the
State Council's schedule a year ahead; for a year it does not know yet, weekdays are used
and a warning is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date

import chinese_calendar

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


def is_workday(day: date, *, calendar: str | None, holidays: Collection[date] = ()) -> bool:
    """Whether `day` is worked under `calendar` (`CN` or `none`), minus `holidays`."""
    if day in holidays:
        return False
    if calendar == "CN":
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in _warned_years:
                _warned_years.add(day.year)
                log.warning("no Chinese holiday data for %s yet; using weekdays", day.year)
    return day.weekday() < 5
