"""The config is read with libyaml when PyYAML has it: the same settings, and a mistake
worded as the pure-Python loader words it."""

from __future__ import annotations

import pytest
import yaml

from bot.core import config
from bot.core.config import ConfigError, parse_settings


def test_libyaml_reads_the_config_when_pyyaml_was_built_with_it() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML has no libyaml")
    assert config._FAST_LOADER is yaml.CSafeLoader


def test_yaml_one_one_values_read_as_before() -> None:
    text = (
        "locale: en\n"
        "teams:\n"
        "  - id: a\n"
        "    holidays: [2026-12-24]\n"
        "    open_registration: no\n"
        "    workday: {lunch_start: 12:00}\n"  # YAML 1.1: 720, read back as 12:00
    )
    team = parse_settings(text, environ={}).team("a")
    assert [day.isoformat() for day in team.holidays] == ["2026-12-24"]
    assert team.open_registration is False
    assert team.workday.lunch_start.isoformat() == "12:00:00"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("\tlocale: en\n", "found character '\\t' that cannot start any token"),
        ("locale: *nowhere\n", "found undefined alias 'nowhere'"),
        ("teams: [{id: a}\n", "expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_a_yaml_mistake_says_what_was_found(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(text, environ={})
    assert str(error.value).endswith(f"not valid YAML ({words})")
