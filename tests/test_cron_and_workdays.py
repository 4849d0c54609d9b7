"""Crontab meaning, translated for APScheduler, and the team's workdays."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.config import ConfigError, TeamSettings, parse_settings
from bot.vocab.cron import CronError, fire_times, parse_cron, translate_day_of_week

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("0,6", "sun,sat"),
        ("5-7", "sun,fri,sat"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*", "*"),
    ],
)
def test_crontab_days_keep_their_standard_meaning(field: str, names: str) -> None:
    assert translate_day_of_week(field) == names


def test_one_to_five_fires_monday_to_friday() -> None:
    trigger = parse_cron("0 9 * * 1-5", SHANGHAI)
    fires = fire_times(
        trigger,
        datetime(2026, 11, 22, 0, 0, tzinfo=SHANGHAI),
        datetime(2026, 11, 29, 23, 0, tzinfo=SHANGHAI),
    )
    assert [fire.strftime("%a %d %H:%M") for fire in fires] == [
        "Mon 23 09:00", "Tue 24 09:00", "Wed 25 09:00", "Thu 26 09:00", "Fri 27 09:00",
    ]  # fmt: skip


@pytest.mark.parametrize("expression", ["0 9 * *", "0 25 * * *", "0 9 * * 8", "0 9 * * 5-1"])
def test_bad_expressions_are_refused(expression: str) -> None:
    with pytest.raises(CronError):
        parse_cron(expression, SHANGHAI)


def test_a_bad_schedule_in_the_config_names_its_key() -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings("teams: [{id: a, schedule: {digest: '0 9 * * 9'}}]", environ={})
    assert str(error.value).startswith("config.yaml: teams.0.schedule.digest: ")


def _team(**fields: object) -> TeamSettings:
    return TeamSettings.model_validate({"id": "t", **fields})


def test_chinese_calendar_holidays_and_make_up_workdays() -> None:
    cn = _team(calendar="CN")
    assert cn.is_workday(date(2026, 2, 14))  # Saturday, a make-up workday (调休)
    assert not cn.is_workday(date(2026, 2, 16))  # Monday, Spring Festival
    assert not cn.is_workday(date(2026, 10, 1))  # National Day
    assert cn.is_workday(date(2026, 11, 23))
    plain = _team(calendar="none")
    assert not plain.is_workday(date(2026, 2, 14))
    assert plain.is_workday(date(2026, 2, 16))


def test_configured_holidays_and_years_the_library_does_not_know() -> None:
    team = _team(calendar="CN", holidays=["2026-11-23"])
    assert not team.is_workday(date(2026, 11, 23))
    far = _team(calendar="CN")
    assert far.is_workday(date(2099, 1, 5))  # a Monday: weekdays are the fallback
    assert not far.is_workday(date(2099, 1, 4))
